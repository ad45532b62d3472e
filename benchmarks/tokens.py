"""What platform-token and platform-oidc cost: requests, command runs, token refreshes, time.

Run from the repository root::

    .venv/bin/python benchmarks/tokens.py [--repeats 5] [--quick]

Everything goes through the real kfp SDK (``get_client(...).list_experiments()``)
over HTTP to an emulated Kubeflow (1.11 by default: oauth2-proxy and Dex), on
loopback, with 20 ms slept before each gateway response. The emulator counts
the requests; the token command (the stand-in ``kubectl create token`` of the
tests, asking the emulated cluster's API for a signed ServiceAccount token)
counts its own runs in a file. No keyring is used: tokens and sign-ins are
cached in 0600 files of a temporary folder, as on a machine with no keyring.

- platform-token, ``token_command`` = ``kubectl -n NS create token default-editor``:
  the first call in a process with nothing cached (get_client + the call), the
  next call in the same process, a new process within the token's life (the
  child's own clock: get_client + the first call, ``import kfp`` excluded),
  the next call once the token is past its ``exp``, and 8 threads on two
  clients of the profile calling at once on an expired token.
- platform-oidc, device flow, a scripted person approving the code at once
  (Dex asks for no poll interval here): the sign-in and first call, the next
  call, a new process with the stored sign-in, the next call once the ID token
  is past its ``exp`` (one refresh), and 8 threads on two clients calling at
  once on an expired ID token.

Expired tokens are real: the cluster (or Dex) gives them a 2 s life, the
profiles set ``refresh_margin = 0``, and the benchmark sleeps past ``exp``
before the measured call. Counts are what a user can rely on; times are the
median of the repeats on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from kfp_profiles.testing import Emulator

REPO = Path(__file__).resolve().parents[1]
#: The stand-in kubectl: there is no Kubernetes cluster here, the emulator's API answers.
FAKE_KUBECTL = REPO / "tests" / "fakes" / "kubectl"
NAMESPACE = "kubeflow-user-example-com"
TOKEN, OIDC = "sa", "sso"
RELEASE = "1.11"
LATENCY = 0.02
REPEATS = 5
THREADS = 8
#: Seconds a token lives in the expiry cases; the benchmark sleeps past it.
SHORT_LIFE = 2.0
TIMEOUT = 10.0
LIST = "GET /pipeline/apis/v2beta1/experiments"

#: Run in a new process; prints the seconds of get_client + the first call.
CHILD = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.simplefilter("ignore", FutureWarning)
    import kfp
    started = time.perf_counter()
    from kfp_profiles import get_client
    found = get_client(sys.argv[1]).list_experiments().experiments
    seconds = time.perf_counter() - started
    if not found:
        raise SystemExit("list_experiments() came back empty")
    print(json.dumps({"seconds": seconds}))
    """
)

Counts = Callable[[], Mapping[str, int]]


@dataclass
class Row:
    """One case: the counts of each repeat (by column) and its times."""

    label: str
    counts: dict[str, list[int]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    failure: str | None = None

    def cells(self, columns: list[str]) -> list[str]:
        shown = []
        for column in columns:
            values = self.counts.get(column, [])
            low, high = (min(values), max(values)) if values else (0, 0)
            shown.append("-" if not values else str(low) if low == high else f"{low}-{high}")
        if self.failure is not None:
            return [self.label, *shown, f"fails: {self.failure}"]
        ms = statistics.median(self.seconds) * 1000 if self.seconds else 0.0
        return [self.label, *shown, f"{ms:.1f}"]


class Bench:
    """One emulator, one profiles file and one counter file, and the cases measured on them."""

    def __init__(self, emu: Emulator, folder: Path, repeats: int) -> None:
        self.emu = emu
        self.repeats = repeats
        self.runs_log = folder / "token-runs.jsonl"
        self.env = environment(emu, folder, self.runs_log)

    def command_runs(self) -> int:
        if not self.runs_log.exists():
            return 0
        return len(self.runs_log.read_text(encoding="utf-8").splitlines())

    def measure(
        self,
        label: str,
        counts: Counts,
        action: Callable[[], float | None],
        setup: Callable[[], object] | None = None,
    ) -> Row:
        """Run ``action`` ``repeats`` times (``setup`` first, not counted); a failure stops it.

        ``action`` may return its own time (a child process's clock) in seconds.
        """
        row = Row(label)
        for _ in range(self.repeats):
            try:
                if setup is not None:
                    setup()
                self.emu.reset_counts()
                before = counts()
                started = time.perf_counter()
                own = action()
                elapsed = time.perf_counter() - started if own is None else own
                after = counts()
            except Exception as exc:
                row.failure = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:80]
                return row
            row.seconds.append(elapsed)
            for name, value in after.items():
                row.counts.setdefault(name, []).append(value - before.get(name, 0))
        return row

    def new_process(self, profile: str) -> float:
        """A child process's get_client + first call; its seconds."""
        argv = [sys.executable, "-c", CHILD, profile]
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=120)
        said = (done.stderr if done.returncode else done.stdout).strip().splitlines()
        if done.returncode or not said:
            raise RuntimeError(said[-1] if said else f"exit status {done.returncode}")
        return float(json.loads(said[-1])["seconds"])

    def cases(
        self,
        counts: Counts,
        profile: str,
        held: list[Any],
        cold: tuple[str, Callable[[], None], Callable[[], object]],
        expired: Callable[[int], None],
        *,
        kept: str,
        token: str,
    ) -> list[Row]:
        """A kind's five cases: cold, warm, a new process, an expired token, 8 threads on one.

        ``cold`` is the first case's label, action and setup; ``expired(n)`` leaves
        ``n`` clients in ``held`` whose token is past its ``exp``.
        """
        return [
            self.measure(cold[0], counts, cold[1], cold[2]),
            self.measure("warm: next call, same process", counts, lambda: listed(held[0])),
            self.measure(
                f"new process, {kept}: get_client + first call",
                counts,
                lambda: self.new_process(profile),
            ),
            self.measure(
                f"{token} expired: next call", counts, lambda: listed(held[0]), lambda: expired(1)
            ),
            self.measure(
                f"{THREADS} threads, 2 clients, {token} expired",
                counts,
                lambda: at_once(held),
                lambda: expired(2),
            ),
        ]


def environment(emu: Emulator, folder: Path, runs_log: Path) -> dict[str, str]:
    """The profiles file, the cache folder, no keyring, the stand-in kubectl's cluster."""
    profiles = folder / "profiles.toml"
    command = [str(FAKE_KUBECTL), "-n", NAMESPACE, "create", "token", "default-editor"]
    profiles.write_text(
        f"""
[profiles.{TOKEN}]
kind = "platform-token"
host = "{emu.url}"
namespace = "{NAMESPACE}"
token_command = {json.dumps(command)}
refresh_margin = 0
timeout = {TIMEOUT:g}

[profiles.{OIDC}]
kind = "platform-oidc"
host = "{emu.api_url}"
namespace = "{NAMESPACE}"
client_id = "kfp-profiles"
flow = "device"
refresh_margin = 0
timeout = {TIMEOUT:g}
""",
        encoding="utf-8",
    )
    profiles.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KFP_", "KF_PIPELINES_"))}
    env.update(
        KFP_PROFILES_FILE=str(profiles),
        XDG_CACHE_HOME=str(folder / "cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        FAKE_KUBECTL_API=emu.kube_url,
        FAKE_KUBECTL_TOKEN_LOG=str(runs_log),
    )
    return env


def listed(client: Any) -> None:
    if not client.list_experiments().experiments:
        raise RuntimeError("list_experiments() came back empty")


def at_once(clients: list[Any], threads: int = THREADS) -> None:
    """``threads`` threads, released together, each listing through one of ``clients``."""
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def call(index: int) -> None:
        barrier.wait()
        try:
            listed(clients[index % len(clients)])
        except Exception as exc:
            failures.append(exc)

    workers = [threading.Thread(target=call, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    if failures:
        raise failures[0]


def past_expiry() -> None:
    time.sleep(SHORT_LIFE + 0.05)


# --- platform-token -------------------------------------------------------------------------

TOKEN_COLUMNS = ["command runs", "cluster API", "gateway requests"]


def token_rows(bench: Bench) -> list[Row]:
    from kfp_profiles import get_client
    from kfp_profiles.auth.bearer import forget_cached_token

    emu = bench.emu

    def counts() -> dict[str, int]:
        return {
            "command runs": bench.command_runs(),
            "cluster API": sum(emu.kube_counts.values()),
            "gateway requests": emu.total_requests,
        }

    held: list[Any] = []

    def nothing_cached(life: float | None = None) -> None:
        emu.service_account_token_lifetime = life
        forget_cached_token(TOKEN)  # in this process and in the cache

    def cold() -> None:
        held[:] = [get_client(TOKEN)]
        listed(held[0])

    def expired(clients: int) -> None:
        nothing_cached(SHORT_LIFE)
        held[:] = [get_client(TOKEN) for _ in range(clients)]
        listed(held[0])  # the command's first token: it lives 2 s
        past_expiry()

    cold_case = ("cold: get_client + first call", cold, nothing_cached)
    rows = bench.cases(counts, TOKEN, held, cold_case, expired, kept="token cached", token="token")
    emu.service_account_token_lifetime = None
    return rows


# --- platform-oidc --------------------------------------------------------------------------

OIDC_COLUMNS = ["token endpoint", "discovery + keys", "gateway requests"]


def oidc_rows(bench: Bench) -> list[Row]:
    from kfp_profiles import get_client
    from kfp_profiles.auth.oidc import forget_sign_in

    emu = bench.emu
    emu.auto_approve_devices()  # the person approves each code as soon as it is polled

    def counts() -> dict[str, int]:
        seen = emu.counts
        return {
            "token endpoint": seen["POST /dex/token"],
            "discovery + keys": sum(
                n for path, n in seen.items() if path.endswith(("openid-configuration", "/keys"))
            ),
            "gateway requests": emu.total_requests,
        }

    held: list[Any] = []

    def signed_in() -> None:
        with contextlib.redirect_stderr(io.StringIO()):  # "open URL and enter the code ..."
            held[:] = [get_client(OIDC, prompt=True)]
            listed(held[0])

    def nothing_stored(life: float | None = None) -> None:
        emu.oidc.id_token_lifetime = life
        forget_sign_in(OIDC)

    def expired(clients: int) -> None:
        nothing_stored(SHORT_LIFE)
        signed_in()  # an ID token that lives 2 s
        # More clients of the profile: they read the stored sign-in.
        held.extend(get_client(OIDC) for _ in range(clients - 1))
        past_expiry()

    cold_case = ("cold: device sign-in + first call", signed_in, nothing_stored)
    rows = bench.cases(
        counts, OIDC, held, cold_case, expired, kept="sign-in stored", token="ID token"
    )
    emu.oidc.id_token_lifetime = None
    return rows


# --- the report -----------------------------------------------------------------------------


def render(title: str, columns: list[str], rows: list[Row], repeats: int) -> str:
    """A Markdown table, padded for a terminal."""
    lines = [[title, *columns, f"ms (median of {repeats})"]]
    lines += [row.cells(columns) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]

    def padded(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([padded(lines[0]), rule, *map(padded, lines[1:])])


@contextlib.contextmanager
def running(release: str) -> Iterator[Emulator]:
    with Emulator.for_release(release, latency=LATENCY, device_interval=0) as emu:
        emu.add_experiment("bench", namespace=NAMESPACE)
        yield emu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--quick", action="store_true", help="one repeat of each case")
    parser.add_argument("--release", default=RELEASE, choices=Emulator.RELEASES[-3:])
    options = parser.parse_args()
    repeats = 1 if options.quick else max(1, options.repeats)
    warnings.simplefilter("ignore", FutureWarning)
    with (
        tempfile.TemporaryDirectory(prefix="kfp-bench-tokens-") as tmp,
        running(options.release) as emu,
    ):
        bench = Bench(emu, Path(tmp), repeats)
        with mock.patch.dict(os.environ, bench.env, clear=True):
            tokens = token_rows(bench)
            oidc = oidc_rows(bench)
    print(
        f"Machine: Python {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} cores; Kubeflow {options.release} emulated "
        f"on 127.0.0.1 with {LATENCY * 1000:.0f} ms per gateway response; no keyring "
        "(caches in 0600 files)."
    )
    print()
    print(render("platform-token, token_command", TOKEN_COLUMNS, tokens, repeats))
    print()
    print(render("platform-oidc, device flow", OIDC_COLUMNS, oidc, repeats))
    print()
    print(
        "command runs: `kubectl create token` runs (each one TokenRequest to the cluster API); "
        "gateway requests: all the gateway saw (API, Dex). A new process's time is its own: "
        "get_client + the first call, without Python's start-up or `import kfp`."
    )
    failed = [row.label for row in tokens + oidc if row.failure is not None]
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
