"""The managed ``kubectl port-forward`` of ``standalone-port-forward`` profiles.

There is no Kubernetes cluster here, so ``kubectl`` is a stand-in,
``tests/fakes/kubectl``, put first on PATH: it parses kubectl's flags, prints
kubectl's lines and messages, and forwards TCP for real to the KFP emulator,
which plays the ``ml-pipeline-ui`` service. Everything else is real: the
processes, the signals, the loopback HTTP and the ``kfp`` SDK.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles.errors import (
    KubeContextNotFoundError,
    KubectlNotFoundError,
    LocalPortInUseError,
    NamespaceNotFoundError,
    PortForwardError,
    PortForwardTimeoutError,
    ServiceNotFoundError,
    ServicePortNotFoundError,
)
from kfp_profiles.portforward import (
    PortForward,
    PortForwardSpec,
    ensure_forward,
    port_state,
)
from kfp_profiles.testing import Emulator

from .helpers import FakeCluster, free_port, running, write_profiles

# Bounds that only stop a broken test from hanging; nothing waits this long when it works.
HANG_BOUND = 30.0
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="the parent-death signal and /proc are Linux's",
)


# --- the stand-in cluster (the ``cluster`` fixture is in conftest.py) ---------------------


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
    import kfp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the SDK's per-client notice
        client = kfp.Client(host=url)
    response = client.list_experiments()
    return sorted(e.display_name for e in response.experiments or [])


def spec(**fields: Any) -> PortForwardSpec:
    values: dict[str, Any] = {"profile": "dev", "local_port": free_port(), "timeout": 20.0}
    values.update(fields)
    return PortForwardSpec(**values)


# --- starting, reusing, restarting -------------------------------------------------------


def test_kfp_client_lists_experiments_through_the_managed_forward(
    cluster: FakeCluster,
) -> None:
    the_spec = spec()
    url = ensure_forward(the_spec)

    assert url == f"http://localhost:{the_spec.local_port}"
    assert port_of(url) != port_of(cluster.kfp.url), "the client talks to kubectl, not to KFP"
    assert experiment_names(url) == ["through-the-forward"]
    assert cluster.kfp.counts["GET /apis/v2beta1/experiments"] == 1
    assert len(cluster.kubectl_pids()) == 1


def test_get_client_starts_the_forward_of_a_profile(
    cluster: FakeCluster, profiles_path: Path
) -> None:
    port = free_port()
    write_profiles(
        profiles_path,
        f"""
        [profiles.dev]
        kind = "standalone-port-forward"
        local_port = {port}
        kube_context = "kind-kfp"
        """,
    )
    from kfp_profiles import get_client

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        client = get_client("dev")
    response = client.list_experiments()

    assert [e.display_name for e in response.experiments] == ["through-the-forward"]
    assert cluster.kubectl_argvs()[0][1:] == [
        "port-forward",
        "--context",
        "kind-kfp",
        "--namespace",
        "kubeflow",
        "svc/ml-pipeline-ui",
        f"{port}:80",
    ]


def test_two_calls_and_eight_threads_share_one_kubectl(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = spec(profile="one")
    assert ensure_forward(first) == ensure_forward(first)
    assert len(cluster.kubectl_pids()) == 1

    # A slow kubectl, so that every thread arrives while the first one is starting it.
    monkeypatch.setenv("FAKE_KUBECTL_DELAY", "0.5")
    second = spec(profile="two")
    barrier = threading.Barrier(8)
    urls: list[str] = []

    def connect() -> None:
        barrier.wait()
        urls.append(ensure_forward(second))

    threads = [threading.Thread(target=connect) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_BOUND)

    assert urls == [f"http://localhost:{second.local_port}"] * 8
    pids = cluster.kubectl_pids()
    assert len(pids) == 2, "one kubectl per profile"
    # The threads that asked have ended; the kubectl started for them must not
    # have ended with them (Linux signals a child when the *thread* that forked it exits).
    assert running(pids[1])
    assert port_state(second.local_port) == "kfp"


def test_a_port_that_already_answers_as_kfp_is_reused(cluster: FakeCluster) -> None:
    kfp_port = port_of(cluster.kfp.url)  # someone else's forward, as far as we can tell

    url = ensure_forward(spec(local_port=kfp_port))

    assert url == f"http://localhost:{kfp_port}"
    assert cluster.kubectl_pids() == [], "nothing started"
    assert experiment_names(url) == ["through-the-forward"]


def test_local_port_zero_uses_the_port_kubectl_picked(cluster: FakeCluster) -> None:
    url = ensure_forward(spec(local_port=0))

    port = port_of(url)
    assert port != 0
    assert cluster.kubectl_argvs()[0][-1] == ":80"
    assert port_state(port) == "kfp"
    assert experiment_names(url) == ["through-the-forward"]


@pytest.mark.parametrize("local_port", [None, 0], ids=["fixed-port", "port-zero"])
def test_a_forward_that_died_is_started_again_on_the_next_call(
    cluster: FakeCluster, local_port: int | None
) -> None:
    the_spec = spec() if local_port is None else spec(local_port=local_port)
    url = ensure_forward(the_spec)
    [pid] = cluster.kubectl_pids()

    os.kill(pid, signal.SIGUSR1)  # the stand-in exits as kubectl does when its pod restarts
    wait_until(lambda: child_exited(pid), "kubectl to exit")
    wait_until(lambda: port_state(port_of(url)) == "free", "the dead forward's port to close")

    assert ensure_forward(the_spec) == url, "the same URL, so clients built before still work"
    pids = cluster.kubectl_pids()
    assert len(pids) == 2 and running(pids[1])
    assert experiment_names(url) == ["through-the-forward"]


def test_context_manager_stops_kubectl_on_exit(cluster: FakeCluster) -> None:
    with PortForward(spec()) as forward:
        assert forward.alive
        assert experiment_names(forward.url) == ["through-the-forward"]
        pid = forward.pid
        assert pid is not None and running(pid)
    assert not forward.alive
    assert not running(pid)
    wait_until(lambda: port_state(forward.port) == "free", "the port to close")


# --- no kubectl outlives its process ------------------------------------------------------

CHILD = """
import sys, time
from kfp_profiles.portforward import PortForwardSpec, ensure_forward
url = ensure_forward(PortForwardSpec(profile="child", local_port=int(sys.argv[1]), timeout=20))
print(url, flush=True)
if sys.argv[2] == "linger":
    time.sleep(600)
"""


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


@linux_only
def test_no_kubectl_left_after_the_process_exits(cluster: FakeCluster) -> None:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(port), "exit"], stdout=subprocess.PIPE, text=True
    )
    assert read_line(child) == f"http://localhost:{port}"
    assert child.wait(HANG_BOUND) == 0
    [pid] = cluster.kubectl_pids()
    # Stopped and reaped at exit (atexit), not merely signalled on the way out.
    assert not running(pid)
    wait_until(lambda: port_state(port) == "free", "the port to close")


@linux_only
def test_no_kubectl_left_after_the_process_is_killed(cluster: FakeCluster) -> None:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(port), "linger"], stdout=subprocess.PIPE, text=True
    )
    assert read_line(child) == f"http://localhost:{port}"
    [pid] = cluster.kubectl_pids()
    assert running(pid)

    child.kill()  # SIGKILL: no atexit, no finally; only the kernel can tell kubectl
    child.wait(HANG_BOUND)

    wait_until(lambda: not running(pid), f"kubectl (pid {pid}) to die with its parent")
    wait_until(lambda: port_state(port) == "free", "the port to close")


@linux_only
def test_foreground_forward_prints_restarts_and_stops_on_ctrl_c(cluster: FakeCluster) -> None:
    port = free_port()
    code = (
        "from kfp_profiles.portforward import PortForwardSpec, run_foreground\n"
        f"raise SystemExit(run_foreground(PortForwardSpec(profile='dev', local_port={port})))\n"
    )
    # Its own session, like a shell job: Ctrl-C goes to the whole foreground group.
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
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


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error", "kubectl_line", "fix"),
    [
        (
            {"kube_context": "nope"},
            KubeContextNotFoundError,
            'error: context "nope" does not exist',
            "kubectl config get-contexts",
        ),
        (
            {"k8s_namespace": "nope"},
            NamespaceNotFoundError,
            'Error from server (NotFound): namespaces "nope" not found',
            "set `k8s_namespace`",
        ),
        (
            {"service": "nope"},
            ServiceNotFoundError,
            'Error from server (NotFound): services "nope" not found',
            "check `service` and `k8s_namespace`",
        ),
        (
            {"remote_port": 81},
            ServicePortNotFoundError,
            "error: Service ml-pipeline-ui does not have a service port 81",
            "set `remote_port`",
        ),
    ],
    ids=["unknown-context", "missing-namespace", "missing-service", "missing-service-port"],
)
def test_kubectl_errors_become_typed_errors_with_kubectl_message_and_fix(
    cluster: FakeCluster,
    fields: dict[str, Any],
    error: type[PortForwardError],
    kubectl_line: str,
    fix: str,
) -> None:
    with pytest.raises(error) as raised:
        ensure_forward(spec(**fields))

    assert raised.value.kubectl_message == kubectl_line
    message = str(raised.value)
    assert message.startswith("Profile 'dev': ")
    assert f"`{kubectl_line}`" in message
    assert fix in message
    assert raised.value.exit_code == 8


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


def test_a_port_held_by_something_else_starts_no_kubectl(cluster: FakeCluster) -> None:
    # Any HTTP server that is not KFP: here one answering 404 to healthz.
    with Emulator(door="oauth2-proxy") as not_kfp:
        port = port_of(not_kfp.url)
        with pytest.raises(LocalPortInUseError) as raised:
            ensure_forward(spec(local_port=port))

    assert str(raised.value) == (
        f"Profile 'dev': local port {port} is already in use (something there does not "
        "answer as Kubeflow Pipelines); choose another `local_port` in the profile, or 0 "
        "to let kubectl pick a free one."
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


def test_the_local_port_is_probed_once_before_kubectl_starts(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kfp_profiles.portforward as portforward

    probed: list[int] = []
    real_port_state = portforward.port_state

    def counted(port: int, timeout: float = 3.0) -> Any:
        probed.append(port)
        return real_port_state(port, timeout)

    monkeypatch.setattr(portforward, "port_state", counted)
    the_spec = spec()

    url = ensure_forward(the_spec)

    assert port_of(url) == the_spec.local_port
    assert probed == [the_spec.local_port]
    assert len(cluster.kubectl_pids()) == 1


def test_the_foreground_forward_refuses_a_held_port_before_starting_kubectl(
    cluster: FakeCluster,
) -> None:
    from kfp_profiles.portforward import run_foreground

    with Emulator(door="oauth2-proxy") as not_kfp, pytest.raises(LocalPortInUseError):
        run_foreground(spec(local_port=port_of(not_kfp.url)))
    assert cluster.kubectl_pids() == []


def test_kubectl_exit_message_skips_klog_noise_as_the_restart_line_does() -> None:
    from kfp_profiles.errors import PortForwardExitedError
    from kfp_profiles.portforward import classify_kubectl_failure

    stderr = [
        "error: lost connection to pod",
        "E1128 20:07:04.781573   12 portforward.go:413] an error occurred forwarding",
        "",
    ]
    error = classify_kubectl_failure(spec(), "kubectl port-forward", 1, stderr)
    assert isinstance(error, PortForwardExitedError)
    assert error.fields["kubectl_message"] == "error: lost connection to pod"
