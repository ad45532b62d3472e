"""kubectl started to die with its parent, out of the terminal's reach (portforward/spawn.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading

import pytest

from kfp_profiles.portforward import port_state
from kfp_profiles.portforward.spawn import signal_group, spawn

from .forwarding import HANG_BOUND, linux_only, read_line, start_child, wait_until
from .helpers import FakeCluster, free_port, running

SLEEP = shutil.which("sleep")
needs_sleep = pytest.mark.skipif(SLEEP is None, reason="no `sleep` program")


@linux_only
def test_no_kubectl_left_after_the_process_is_killed(cluster: FakeCluster) -> None:
    port = free_port()
    child = start_child(port, "linger")
    assert read_line(child) == f"http://localhost:{port}"
    [pid] = cluster.kubectl_pids()
    assert running(pid)

    child.kill()  # SIGKILL: no atexit, no finally; only the kernel can tell kubectl
    child.wait(HANG_BOUND)

    wait_until(lambda: not running(pid), f"kubectl (pid {pid}) to die with its parent")
    wait_until(lambda: port_state(port) == "free", "the port to close")


@linux_only
@needs_sleep
def test_a_child_spawned_from_a_thread_that_ended_lives_on_in_its_own_group() -> None:
    assert SLEEP is not None
    started: list[subprocess.Popen[bytes]] = []
    worker = threading.Thread(target=lambda: started.append(spawn([SLEEP, "60"])))
    worker.start()
    worker.join(HANG_BOUND)
    [process] = started
    try:
        # The parent-death signal follows the thread that forked: that one lives on.
        assert running(process.pid)
        assert os.getpgid(process.pid) == process.pid, "its own group: Ctrl-C passes it by"
    finally:
        signal_group(process)
        process.communicate(timeout=HANG_BOUND)  # reaps it and closes its pipes
    assert process.returncode == -signal.SIGTERM, "signal_group sends SIGTERM first"


def test_a_program_that_cannot_run_raises_oserror() -> None:
    with pytest.raises(OSError):
        spawn(["/nonexistent/kfp-profiles-kubectl"])
