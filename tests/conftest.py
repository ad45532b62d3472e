"""Keeps every test away from the developer's own home, profiles and proxies.

The fixtures ``secret_service`` and ``keyring_backend`` come from the
package's pytest plugin (``kfp_profiles.testing.plugin``), which pytest loads
through the ``pytest11`` entry point: do not list it in ``pytest_plugins``.

kfp is deliberately not imported here. ``kfp.Client._LOCAL_KFP_CONTEXT`` is
computed once, when ``kfp`` is first imported, from the HOME of that moment;
an import at collection time would freeze it to the real
``~/.config/kfp/context.json``. Tests that check that file is left alone
import kfp inside the test and read or patch that attribute themselves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles.testing import Emulator

from .helpers import FAKES, FakeCluster, running

# Runs pytest in a subprocess, for the tests of the package's own pytest plugin.
pytest_plugins = ["pytester"]

# Variables that would point a test at the developer's clusters or send its
# loopback traffic through a proxy. The CA bundle variables stay: real
# machines set them, and the code must work with them set.
_CLEARED_PREFIXES = ("KFP_", "KF_PIPELINES_")
_CLEARED_NAMES = frozenset(
    {
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "KUBECONFIG",
    }
)


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """The CLI configures the kfp_profiles logger for its process; undo it between tests."""
    logger = logging.getLogger("kfp_profiles")
    saved = (logger.level, logger.propagate, list(logger.handlers), list(logger.filters))
    yield
    logger.setLevel(saved[0])
    logger.propagate = saved[1]
    logger.handlers[:] = saved[2]
    logger.filters[:] = saved[3]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME and the XDG config and cache folders into the test's tmp_path."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("HOME", str(home))
    # Left uncreated, as on a fresh account: the code under test makes them.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _CLEARED_NAMES:
            monkeypatch.delenv(name)
    return home


@pytest.fixture
def profiles_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where KFP_PROFILES_FILE points; not written yet (``write_profiles(profiles_path, text)``)."""
    path = tmp_path / "kfp" / "profiles.toml"
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    return path


@pytest.fixture
def fresh_token_sources() -> Iterator[None]:
    """Token command sources are shared per process: a test that uses this starts with none
    and leaves none (``pytestmark = pytest.mark.usefixtures("fresh_token_sources")``)."""
    from kfp_profiles.auth import bearer

    bearer._SHARED.clear()
    yield
    bearer._SHARED.clear()


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """No keyring works, as on a machine with none: keyring's "fail" backend, this test only.

    The variable covers child processes; this process's ``keyring`` chose its
    backend at first use, so it is replaced as well (and put back afterwards).
    """
    import keyring.core
    from keyring.backends import fail

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())  # type: ignore[no-untyped-call]


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCluster]:
    """A KFP emulator as the service ``ml-pipeline-ui``, and the stand-in kubectl first on PATH."""
    from kfp_profiles.portforward import stop_all

    with Emulator(door="none") as kfp:
        kfp.add_experiment("through-the-forward")
        log = tmp_path / "kubectl-starts.jsonl"
        monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_KUBECTL_TARGET", kfp.url.removeprefix("http://"))
        monkeypatch.setenv("FAKE_KUBECTL_LOG", str(log))
        fake = FakeCluster(kfp, log)
        yield fake
        stop_all()
        # A test that failed may have left a kubectl behind a dead parent.
        for pid in fake.kubectl_pids():
            if running(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def kfp_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """kfp, with its context file kept in tmp_path and its FutureWarning silenced."""
    import kfp

    monkeypatch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "context.json"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield kfp
