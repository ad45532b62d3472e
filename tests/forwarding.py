"""What the port-forward tests share: a spec on a free port, bounded waits, a child's lines.

There is no Kubernetes cluster here, so ``kubectl`` is a stand-in,
``tests/fakes/kubectl``, put first on PATH by the ``cluster`` fixture
(``tests/conftest.py``): it parses kubectl's flags, prints kubectl's lines and
messages, and forwards TCP for real to the KFP emulator, which plays the
``ml-pipeline-ui`` service. Everything else is real: the processes, the
signals, the loopback HTTP and the ``kfp`` SDK.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import warnings
from typing import Any

import pytest

from kfp_profiles.portforward import PortForwardSpec

from .helpers import free_port

# Bounds that only stop a broken test from hanging; nothing waits this long when it works.
HANG_BOUND = 30.0
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="the parent-death signal and /proc are Linux's",
)


def spec(**fields: Any) -> PortForwardSpec:
    """The forward of profile 'dev' on a free local port, with ``fields`` changed."""
    values: dict[str, Any] = {"profile": "dev", "local_port": free_port(), "timeout": 20.0}
    values.update(fields)
    return PortForwardSpec(**values)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def child_exited(pid: int) -> bool:
    """Whether our child ``pid`` has exited, as waitpid sees it (without reaping it).

    Under gVisor /proc can show a zombie a moment before waitpid reports it.
    """
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True  # already reaped


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + HANG_BOUND
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting, after {HANG_BOUND:g} s, for {what}")
        time.sleep(0.05)


def experiment_names(url: str) -> list[str]:
    """The experiments the ``kfp`` SDK lists through ``url``."""
    import kfp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the SDK's per-client notice
        client = kfp.Client(host=url)
    response = client.list_experiments()
    return sorted(e.display_name for e in response.experiments or [])


def read_line(process: subprocess.Popen[str]) -> str:
    """The child's next stdout line, or a failure instead of a hang."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=HANG_BOUND).rstrip("\n")
    except queue.Empty:
        process.kill()
        pytest.fail("the child printed nothing")


CHILD = """
import sys, time
from kfp_profiles.portforward import PortForwardSpec, ensure_forward
url = ensure_forward(PortForwardSpec(profile="child", local_port=int(sys.argv[1]), timeout=20))
print(url, flush=True)
if sys.argv[2] == "linger":
    time.sleep(600)
"""


def start_child(port: int, then: str) -> subprocess.Popen[str]:
    """A Python process that forwards ``port``, prints its URL, then exits or lingers."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(port), then], stdout=subprocess.PIPE, text=True
    )


def sigint_as_at_a_terminal() -> None:
    """A ``preexec_fn``: the child starts with SIGINT at its default, as from a terminal.

    A shell starts a background job with SIGINT ignored, and its children inherit
    that; Python then installs no KeyboardInterrupt handler, and a Ctrl-C test
    run from such a shell would see the child ignore the Ctrl-C it sends.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
