"""What a platform-dex login costs, per Kubeflow front door, beside the KFP guide's login.

Run from the repository root::

    .venv/bin/python benchmarks/login.py

Every door of ``kfp_profiles.testing.Emulator.RELEASES`` is started on loopback
with 20 ms slept before each response, so a request costs what a round trip to
a nearby cluster does. Requests are counted by the emulator, not by the code
being measured. Each time is the median of several runs.

- ours, cold: a fresh Dex login with no cached session.
- ours, warm reuse: a new ``DexAuth`` finding the session another one cached
  (in a file store) returns its cookie without asking for a password.
- guide, cold: ``KFPClientManager._get_session_cookies()`` of the KFP guide,
  loaded at run time from ``../shared/reference/guide_kfp_client_manager.py``
  when that file exists; it is measured, never copied into this project.
  It sends its requests without a timeout, so here each gets one.

A second table, on the newest release, times ``get_client("bench")`` plus the
first ``list_experiments()``: cold in this process, then with the session
cached, by a new client in this process and in new processes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

from pydantic import SecretStr

from kfp_profiles.auth.dex import DexAuth
from kfp_profiles.auth.exchange import DexLoginSettings
from kfp_profiles.session import FileSessionStore, SessionCache
from kfp_profiles.testing import Emulator

REPO = Path(__file__).resolve().parents[1]
GUIDE_PATH = Path(__file__).resolve().parents[2] / "shared/reference/guide_kfp_client_manager.py"
USERNAME = "user@example.com"
PASSWORD = "12341234"
NAMESPACE = "kubeflow-user-example-com"
PROFILE = "bench"
LATENCY = 0.02
REPEATS = 5
#: Seconds any single request (ours, the guide's, a child process) may take here.
TIMEOUT = 10.0
CLIENT_RELEASE = Emulator.RELEASES[-1]


# --- measuring -----------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """Requests the emulator saw and wall times of each repeat of one action."""

    requests: tuple[int, ...]
    seconds: tuple[float, ...]
    failure: str | None = None

    @property
    def requests_text(self) -> str:
        low, high = min(self.requests), max(self.requests)
        return str(low) if low == high else f"{low}-{high}"

    @property
    def time_text(self) -> str:
        if self.failure is not None:
            return f"fails: {self.failure}"
        ms = statistics.median(self.seconds) * 1000
        return f"{ms:.2f}" if ms < 1 else f"{ms:.1f}"


def measure(
    emu: Emulator,
    action: Callable[[], object],
    *,
    setup: Callable[[], object] | None = None,
    repeats: int = REPEATS,
) -> Measurement:
    """Run ``action`` ``repeats`` times; a failure stops the runs and is reported."""
    counts: list[int] = []
    seconds: list[float] = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        emu.reset_counts()
        started = time.perf_counter()
        try:
            action()
        except Exception as exc:
            counts.append(emu.total_requests)
            return Measurement(tuple(counts), tuple(seconds), failure=short_reason(exc))
        seconds.append(time.perf_counter() - started)
        counts.append(emu.total_requests)
    return Measurement(tuple(counts), tuple(seconds))


def short_reason(exc: BaseException) -> str:
    """One short line: the URLs cut down to their paths, so no port, state or code shows."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    url = r"https?://[^/\s]+(/[^?\s]*)?(\?\S*)?"
    text = re.sub(url, lambda match: match.group(1) or "the gateway", text)
    return text if len(text) <= 80 else text[:77] + "..."


def opens_api(emu: Emulator, cookie_header: str) -> str | None:
    """None when ``cookie_header`` lists the experiments; else why not."""
    import requests

    response = requests.get(
        f"{emu.api_url}/apis/v2beta1/experiments",
        params={"namespace": NAMESPACE},
        headers={"Cookie": cookie_header} if cookie_header else {},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    if response.status_code == 200 and "json" in response.headers.get("Content-Type", ""):
        return None
    return f"its cookies do not open the API (HTTP {response.status_code})"


# --- ours ------------------------------------------------------------------------------


def settings_for(emu: Emulator) -> DexLoginSettings:
    return DexLoginSettings(
        profile=PROFILE, api_url=emu.api_url, username=USERNAME, timeout=TIMEOUT
    )


def the_password() -> SecretStr:
    return SecretStr(PASSWORD)


def no_password() -> SecretStr:
    raise RuntimeError("the warm reuse asked for a password, so it was about to log in")


def ours_cold(emu: Emulator) -> Measurement:
    headers: list[str] = []
    own_counts: list[int] = []

    def cold_login() -> None:
        auth = DexAuth(settings_for(emu), the_password, cache=None)
        headers.append(auth.cookie_header())
        own_counts.append(auth.last_login_requests)

    result = measure(emu, cold_login)
    if result.failure is None:
        if own_counts != list(result.requests):
            # The emulator's count is the one shown; say when ours disagrees.
            return Measurement(
                result.requests,
                result.seconds,
                f"the emulator and our counter ({own_counts}) disagree",
            )
        why = opens_api(emu, headers[-1])
        if why is not None:
            return Measurement(result.requests, result.seconds, why)
    return result


def ours_warm(emu: Emulator, cache_folder: Path) -> Measurement:
    cache = SessionCache([FileSessionStore(folder=cache_folder)])
    try:
        first = DexAuth(settings_for(emu), the_password, cache).cookie_header()
    except Exception as exc:
        return Measurement((0,), (), failure=f"first login: {short_reason(exc)}")
    reused: list[str] = []

    def warm_reuse() -> None:
        reused.append(DexAuth(settings_for(emu), no_password, cache).cookie_header())

    result = measure(emu, warm_reuse)
    if result.failure is None and any(header != first for header in reused):
        return Measurement(result.requests, result.seconds, "got another session")
    return result


# --- the guide's login -----------------------------------------------------------------


def load_guide() -> ModuleType | None:
    """The guide's module from ``../shared/reference``, or None when it is not there."""
    if not GUIDE_PATH.is_file():
        return None
    spec = importlib.util.spec_from_file_location("guide_kfp_client_manager", GUIDE_PATH)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def requests_with_timeout(seconds: float) -> Iterator[None]:
    """Every ``requests.Session`` call without a timeout gets one (the guide sets none)."""
    import requests

    original = requests.Session.request

    def request(self: requests.Session, method: Any, url: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = seconds
        return original(self, method, url, **kwargs)

    with mock.patch.object(requests.Session, "request", request):
        yield


def guide_cold(emu: Emulator, guide: ModuleType) -> Measurement:
    cookies: list[str] = []

    def guide_login() -> None:
        manager = guide.KFPClientManager(
            api_url=emu.api_url,
            dex_username=USERNAME,
            dex_password=PASSWORD,
            dex_auth_type="local",
        )
        cookies.append(manager._get_session_cookies())

    with requests_with_timeout(TIMEOUT):
        result = measure(emu, guide_login)
    if result.failure is None:
        why = opens_api(emu, cookies[-1])
        if why is not None:
            return Measurement(result.requests, result.seconds, why)
    return result


# --- get_client + the first call -------------------------------------------------------

#: Run in a new process: the session is in the file cache, so no login should happen.
CHILD = textwrap.dedent(
    """
    import json, time, warnings
    warnings.simplefilter("ignore", FutureWarning)
    started = time.perf_counter()
    import kfp
    imported = time.perf_counter()
    from kfp_profiles import get_client
    result = get_client("bench").list_experiments()
    done = time.perf_counter()
    if not result.experiments:
        raise SystemExit("list_experiments() came back empty")
    print(json.dumps({"import_s": imported - started, "call_s": done - imported}))
    """
)


@dataclass(frozen=True)
class ClientTimes:
    cold: Measurement
    warm_here: Measurement
    warm: Measurement
    kfp_import_seconds: float | None


def profiles_env(emu: Emulator, folder: Path) -> dict[str, str]:
    """A private profiles file, session cache and password; no keyring is touched."""
    profiles = folder / "profiles.toml"
    profiles.write_text(
        f"""
[profiles.{PROFILE}]
kind = "platform-dex"
host = "{emu.api_url}"
username = "{USERNAME}"
namespace = "{NAMESPACE}"
timeout = {TIMEOUT:g}
""",
        encoding="utf-8",
    )
    profiles.chmod(0o600)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KFP_", "KF_PIPELINES_"))
    }
    env.update(
        KFP_PROFILES_FILE=str(profiles),
        KFP_PASSWORD=PASSWORD,
        XDG_CACHE_HOME=str(folder / "cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return env


def client_times(emu: Emulator, folder: Path) -> ClientTimes:
    from kfp_profiles import get_client

    env = profiles_env(emu, folder)
    emu.add_experiment("bench", namespace=NAMESPACE)
    import_seconds: list[float] = []
    call_seconds: list[float] = []

    def drop_cached_session() -> None:
        shutil.rmtree(folder / "cache", ignore_errors=True)

    def first_list() -> None:
        if not get_client(PROFILE).list_experiments().experiments:
            raise RuntimeError("list_experiments() came back empty")

    def new_process_first_list() -> None:
        child = subprocess.run(
            [sys.executable, "-c", CHILD],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError((child.stderr.strip().splitlines() or ["no output"])[-1])
        times = json.loads(child.stdout.strip().splitlines()[-1])
        import_seconds.append(float(times["import_s"]))
        # The child's own clock: Python's start-up is not part of get_client.
        call_seconds.append(float(times["call_s"]))

    with mock.patch.dict(os.environ, env, clear=True):
        cold = measure(emu, first_list, setup=drop_cached_session)
        # The last cold run left its session in the cache for these two.
        warm_here = measure(emu, first_list)
        warm = measure(emu, new_process_first_list)
    if warm.failure is None:
        warm = Measurement(warm.requests, tuple(call_seconds))
    kfp_import = statistics.median(import_seconds) if import_seconds else None
    return ClientTimes(cold, warm_here, warm, kfp_import)


# --- the report ---------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, padded so it also reads well in a terminal."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            + " |"
        )

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def main() -> None:
    warnings.simplefilter("ignore", FutureWarning)
    guide = load_guide()
    login_rows: list[list[str]] = []
    times: ClientTimes | None = None
    with tempfile.TemporaryDirectory(prefix="kfp-bench-") as tmp:
        for release in Emulator.RELEASES:
            with Emulator.for_release(release, latency=LATENCY) as emu:
                cold = ours_cold(emu)
                warm = ours_warm(emu, Path(tmp) / f"sessions-{release}")
                row = [
                    release,
                    emu.door,
                    emu.dex_version,
                    cold.requests_text,
                    cold.time_text,
                    warm.requests_text,
                    warm.time_text,
                ]
                if guide is not None:
                    theirs = guide_cold(emu, guide)
                    row += [theirs.requests_text, theirs.time_text]
                login_rows.append(row)
                if release == CLIENT_RELEASE:
                    folder = Path(tmp) / "client"
                    folder.mkdir()
                    times = client_times(emu, folder)

    header = [
        "Kubeflow",
        "front door",
        "Dex",
        "ours cold: req",
        "ms",
        "ours warm reuse: req",
        "ms",
    ]
    if guide is not None:
        header += ["guide cold: req", "ms"]
    cores = os.cpu_count()
    print(
        f"Machine: Python {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, {cores} cores; emulator on 127.0.0.1 with "
        f"{LATENCY * 1000:.0f} ms per response; times are the median of {REPEATS} runs."
    )
    if guide is None:
        print(f"reference not found at {GUIDE_PATH}: the guide's columns are left out.")
    print()
    print("Login: requests and milliseconds")
    print()
    print(table(header, login_rows))
    if times is not None:
        print()
        print(f"get_client + first list_experiments() on Kubeflow {CLIENT_RELEASE}")
        print()
        print(
            table(
                ["", "requests", "ms"],
                [
                    [
                        "cold: no cached session, this process",
                        times.cold.requests_text,
                        times.cold.time_text,
                    ],
                    [
                        "warm: this process, new client, cached session",
                        times.warm_here.requests_text,
                        times.warm_here.time_text,
                    ],
                    [
                        "warm: new process, cached session",
                        times.warm.requests_text,
                        times.warm.time_text,
                    ],
                ],
            )
        )
        if times.kfp_import_seconds is not None:
            print()
            print(
                "Times exclude `import kfp`, which a new process also pays "
                f"({times.kfp_import_seconds * 1000:.0f} ms here). A new process's time "
                "includes loading, on first use, the modules get_client needs "
                "(pydantic-settings, keyring, requests, kfp_profiles' own)."
            )


if __name__ == "__main__":
    main()
