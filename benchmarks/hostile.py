"""What a hostile server costs a client: time to the typed error, and memory, per case.

Run from the repository root::

    .venv/bin/python benchmarks/hostile.py

Each case starts one ``kfp_profiles.testing.Hostile`` server on loopback (or
the emulator, alone or behind a hostile relay) and runs the client in a
fresh Python process, through the real SDK client of a standalone profile
(``api``) or the Dex login of a platform-dex profile (``login``), all with
``timeout = 2``. The child measures the seconds from the call to its error,
and its memory: resident set size (``VmRSS`` of ``/proc/self/status``) once
kfp and the client are loaded, and the peak (``VmHWM``) at the end; the
growth is their difference. Goals: the error within ``timeout`` + 1 s, and
under 100 MiB of growth. Numbers are printed; nothing is asserted.

One row is there to show a limit, not to meet the goal: an endless page
sent at loopback speed to the API hop. API answers are read by the SDK,
uncapped by design; the deadline bounds their time, not their size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfp_profiles.testing import Emulator, Hostile

TIMEOUT = 2
PASSWORD = "12341234"
MIB = 1 << 20


@dataclass(frozen=True)
class Case:
    name: str
    hop: str  # "api" or "login"
    behaviour: str  # a Hostile behaviour, or "slow-login" (each request 0.8 s, 4 of them)
    #: Relay to the emulator and misbehave only on the Dex password POST.
    at_password: bool = False


CASES = [
    Case("drip, 1 byte/s", "api", "drip"),
    Case("slow headers, 1 line/s", "api", "slow-headers"),
    Case("stalled TLS handshake", "api", "stall-tls"),
    Case("endless chunked body, 1.6 MB/s", "api", "endless-body"),
    Case("redirect loop", "api", "redirect-loop"),
    # API answers stay uncapped (pipeline specs can be large): only the deadline bounds
    # them, so memory grows with the server's speed times the timeout.
    Case("endless page, full speed (uncapped)", "api", "endless-page"),
    Case("drip, 1 byte/s", "login", "drip"),
    Case("slow headers, 1 line/s", "login", "slow-headers"),
    Case("stalled TLS handshake", "login", "stall-tls"),
    Case("endless login page, full speed", "login", "endless-page"),
    Case("endless chunked body, 1.6 MB/s", "login", "endless-body"),
    Case("redirect loop", "login", "redirect-loop"),
    Case("password step drips (relay)", "login", "drip", at_password=True),
    Case("4 requests of 0.8 s each", "login", "slow-login"),
]


def profile_text(hop: str, host: str) -> str:
    if hop == "api":
        return f"""
        [profiles.bench]
        kind = "standalone-in-cluster"
        host = "{host}"
        timeout = {TIMEOUT}
        verify_tls = false
        """
    return f"""
    [profiles.bench]
    kind = "platform-dex"
    host = "{host}/pipeline"
    username = "user@example.com"
    namespace = "kubeflow-user-example-com"
    timeout = {TIMEOUT}
    verify_tls = false
    """


@contextmanager
def server_for(case: Case) -> Iterator[str]:
    """The URL the case's profile names, with its server running."""
    if case.behaviour == "slow-login":
        with Emulator.for_release("1.11", latency=0.8) as emu:
            yield emu.url
    elif case.at_password:
        with Emulator.for_release("1.11") as emu:
            relay = Hostile(
                case.behaviour,  # type: ignore[arg-type]
                upstream=emu.url,
                when=lambda method, path: method == "POST" and path.startswith("/dex/"),
            )
            with relay as url:
                yield url
    else:
        with Hostile(case.behaviour) as url:  # type: ignore[arg-type]
            yield url


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(hop: str) -> None:
    """Runs in the fresh process: one call, its time, its error, its memory (JSON on stdout)."""
    import kfp  # noqa: F401  # loaded before the first measure: it is not the server's cost

    from kfp_profiles import get_client

    client = get_client("bench") if hop == "api" else None
    start_rss = status_kib("VmRSS")
    started = time.monotonic()
    error = ""
    try:
        if client is not None:
            client.list_experiments()
        else:
            get_client("bench", password=PASSWORD)
    except Exception as exc:  # the typed error is the result
        error = f"{type(exc).__name__}: {exc}"
    elapsed = time.monotonic() - started
    growth = (status_kib("VmHWM") - start_rss) / 1024
    print(json.dumps({"seconds": elapsed, "growth_mib": growth, "error": error}))


def run_case(case: Case, home: Path) -> dict[str, Any]:
    profiles = home / "profiles.toml"
    with server_for(case) as url:
        profiles.write_text(textwrap.dedent(profile_text(case.hop, url)), encoding="utf-8")
        profiles.chmod(0o600)
        env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "KFP_PROFILES_FILE": str(profiles),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }
        out = subprocess.run(
            [sys.executable, __file__, "--child", case.hop],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    print(f"timeout = {TIMEOUT} s; goals: error within {TIMEOUT + 1} s, memory growth < 100 MiB")
    print(f"{'hop':6} {'case':36} {'seconds':>8} {'goal':>5} {'MiB':>7}  error")
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            result = run_case(case, Path(tmp))
            error = result["error"]
            kind = error.split(":", 1)[0] or "none"
            print(
                f"{case.hop:6} {case.name:36} {result['seconds']:8.2f} {TIMEOUT + 1:5} "
                f"{result['growth_mib']:7.1f}  {kind}"
            )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
