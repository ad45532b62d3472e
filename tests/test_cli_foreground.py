"""``kfp-profiles port-forward`` in the foreground (kfp_profiles/cli/foreground.py).

Through the stand-in kubectl of ``tests/fakes`` and the KFP emulator (see
``tests/forwarding.py``).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

import pytest

from kfp_profiles.cli.foreground import run_foreground
from kfp_profiles.errors import LocalPortInUseError
from kfp_profiles.portforward import port_state
from kfp_profiles.testing import Emulator

from .forwarding import (
    HANG_BOUND,
    linux_only,
    port_of,
    read_line,
    sigint_as_at_a_terminal,
    spec,
    wait_until,
)
from .helpers import FakeCluster, free_port, running


@linux_only
def test_foreground_forward_prints_restarts_and_stops_on_ctrl_c(cluster: FakeCluster) -> None:
    port = free_port()
    code = (
        "from kfp_profiles.cli.foreground import run_foreground\n"
        "from kfp_profiles.portforward import PortForwardSpec\n"
        f"raise SystemExit(run_foreground(PortForwardSpec(profile='dev', local_port={port})))\n"
    )
    # Its own session, like a shell job: Ctrl-C goes to the whole foreground group.
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=sigint_as_at_a_terminal,
    )
    try:
        assert read_line(child) == f"Forwarding from 127.0.0.1:{port} -> 3000"
        while not (line := read_line(child)).startswith("Kubeflow Pipelines"):
            pass
        assert f"http://localhost:{port}" in line
        [first] = cluster.kubectl_pids()

        os.kill(first, signal.SIGUSR1)  # its pod restarted: kubectl exits
        assert read_line(child) == f"Forwarding from 127.0.0.1:{port} -> 3000"
        wait_until(lambda: port_state(port) == "kfp", "the restarted forward to answer")
        first_gone, second = cluster.kubectl_pids()
        assert not running(first_gone) and running(second)

        os.killpg(child.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        assert child.wait(HANG_BOUND) == 0
        assert not running(second)
    finally:
        if child.poll() is None:
            child.kill()


def test_the_foreground_forward_refuses_a_held_port_before_starting_kubectl(
    cluster: FakeCluster,
) -> None:
    with Emulator(door="oauth2-proxy") as not_kfp, pytest.raises(LocalPortInUseError):
        run_foreground(spec(local_port=port_of(not_kfp.url)))
    assert cluster.kubectl_pids() == []


def test_the_foreground_forward_starts_nothing_where_kfp_already_answers(
    cluster: FakeCluster,
) -> None:
    kfp_port = port_of(cluster.kfp.url)
    out = io.StringIO()

    assert run_foreground(spec(local_port=kfp_port), out=out, err=io.StringIO()) == 0

    assert out.getvalue() == (
        f"http://localhost:{kfp_port} already answers as Kubeflow Pipelines; nothing to start.\n"
    )
    assert cluster.kubectl_pids() == []
