"""One kubectl process (kfp_profiles/portforward/process.py): started, made ready, stopped.

Through the stand-in kubectl of ``tests/fakes`` and the KFP emulator (see
``tests/forwarding.py``).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from kfp_profiles.errors import (
    KubectlNotFoundError,
    KubectlNotRunnableError,
    LocalPortInUseError,
    PortForwardTimeoutError,
)
from kfp_profiles.portforward import PortForward, ensure_forward, port_state

from .forwarding import HANG_BOUND, experiment_names, port_of, spec, wait_until
from .helpers import FakeCluster, free_port, running


def test_context_manager_stops_kubectl_on_exit(cluster: FakeCluster) -> None:
    with PortForward(spec()) as forward:
        assert forward.alive
        assert experiment_names(forward.url) == ["through-the-forward"]
        pid = forward.pid
        assert pid is not None and running(pid)
    assert not forward.alive
    assert not running(pid)
    wait_until(lambda: port_state(forward.port) == "free", "the port to close")


def test_the_lines_kubectl_prints_reach_the_output_callback(cluster: FakeCluster) -> None:
    the_spec = spec()
    lines: list[tuple[str, str]] = []

    with PortForward(the_spec, on_output=lambda stream, line: lines.append((stream, line))):
        pass

    assert ("stdout", f"Forwarding from 127.0.0.1:{the_spec.local_port} -> 3000") in lines


# --- starting fails: the error says what to fix ---------------------------------------------


def test_kubectl_not_on_path(
    cluster: FakeCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder with no kubectl

    with pytest.raises(KubectlNotFoundError) as raised:
        ensure_forward(spec())

    assert str(raised.value) == (
        "Profile 'dev' needs kubectl to port-forward, but 'kubectl' is not on PATH: "
        "install kubectl (https://kubernetes.io/docs/tasks/tools/, or Debian's "
        "`kubernetes-client` package), or set `kubectl` in the profile to its path."
    )


def test_kubectl_path_that_is_not_an_executable(cluster: FakeCluster, tmp_path: Path) -> None:
    not_executable = tmp_path / "kubectl"
    not_executable.write_text("#!/bin/sh\n")

    with pytest.raises(KubectlNotFoundError, match="is not an executable file"):
        ensure_forward(spec(kubectl=str(not_executable)))


def test_kubectl_the_system_cannot_run(cluster: FakeCluster, tmp_path: Path) -> None:
    not_a_program = tmp_path / "kubectl"
    not_a_program.write_bytes(b"\x00\x01 neither a script nor a binary\n")
    not_a_program.chmod(0o755)

    with pytest.raises(KubectlNotRunnableError) as raised:
        ensure_forward(spec(kubectl=str(not_a_program)))

    assert isinstance(raised.value, KubectlNotFoundError)
    assert str(raised.value) == (
        f"Profile 'dev' needs kubectl to port-forward, but '{not_a_program}' cannot be run "
        "(Exec format error): install kubectl (https://kubernetes.io/docs/tasks/tools/, or "
        "Debian's `kubernetes-client` package), or set `kubectl` in the profile to its path."
    )
    assert cluster.kubectl_pids() == []


def test_a_port_that_answers_as_kfp_is_refused_by_a_forward_of_its_own(
    cluster: FakeCluster,
) -> None:
    kfp_port = port_of(cluster.kfp.url)

    with pytest.raises(LocalPortInUseError) as raised:
        PortForward(spec(local_port=kfp_port)).start()

    assert str(raised.value) == (
        f"Profile 'dev': local port {kfp_port} is already in use (it already answers as "
        "Kubeflow Pipelines, so another forward serves it); choose another `local_port` in "
        "the profile, or 0 to let kubectl pick a free one."
    )
    assert cluster.kubectl_pids() == []


def test_a_port_kubectl_cannot_bind_is_reported_with_kubectl_message(
    cluster: FakeCluster,
) -> None:
    # Bound but not listening: nothing answers a probe, yet kubectl cannot bind it.
    port = free_port()
    holders = []
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        holder = socket.socket(family, socket.SOCK_STREAM)
        try:
            holder.bind((host, port))
        except OSError:
            holder.close()
            continue
        holders.append(holder)
    try:
        with pytest.raises(LocalPortInUseError) as raised:
            ensure_forward(spec(local_port=port))
    finally:
        for holder in holders:
            holder.close()

    kubectl_line = raised.value.kubectl_message
    assert kubectl_line is not None and kubectl_line.startswith(
        f"Unable to listen on port {port}: "
    )
    assert "address already in use" in str(raised.value)
    assert "or 0 to let kubectl pick a free one" in str(raised.value)
    assert len(cluster.kubectl_pids()) == 1


# --- never ready: a bounded wait, and kubectl stopped ------------------------------------------


def test_a_kubectl_that_never_forwards_times_out_and_is_stopped(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "hang")  # as when no pod of the service runs
    started = time.monotonic()

    with pytest.raises(PortForwardTimeoutError) as raised:
        ensure_forward(spec(timeout=1.0))

    assert time.monotonic() - started < HANG_BOUND
    message = str(raised.value)
    assert "was not ready within 1 s (kubectl printed no `Forwarding from` line)" in message
    assert "raise the profile's `timeout`" in message
    [pid] = cluster.kubectl_pids()
    assert not running(pid)


def test_a_forward_whose_pod_never_answers_times_out(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_TARGET", f"127.0.0.1:{free_port()}")  # nothing there
    the_spec = spec(timeout=1.5)

    with pytest.raises(PortForwardTimeoutError) as raised:
        ensure_forward(the_spec)

    assert f"(localhost:{the_spec.local_port} did not answer HTTP through the forward)" in str(
        raised.value
    )
    [pid] = cluster.kubectl_pids()
    assert not running(pid)
