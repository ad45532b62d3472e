"""One forward per profile (kfp_profiles/portforward/registry.py): reused, restarted, stopped.

Through the stand-in kubectl of ``tests/fakes`` and the KFP emulator (see
``tests/forwarding.py``).
"""

from __future__ import annotations

import os
import signal
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles.errors import LocalPortInUseError
from kfp_profiles.portforward import ensure_forward, kfp_already_at, port_state
from kfp_profiles.testing import Emulator

from .forwarding import (
    HANG_BOUND,
    child_exited,
    experiment_names,
    linux_only,
    port_of,
    read_line,
    spec,
    start_child,
    wait_until,
)
from .helpers import FakeCluster, free_port, running, write_profiles

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


def test_the_local_port_is_probed_once_before_kubectl_starts(
    cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kfp_profiles.portforward import probe, process, registry

    probed: list[int] = []
    real_port_state = probe.port_state

    def counted(port: int, timeout: float = 3.0) -> Any:
        probed.append(port)
        return real_port_state(port, timeout)

    # Each module that probes, so that a second probe anywhere is counted.
    for module in (registry, process):
        monkeypatch.setattr(module, "port_state", counted)
    the_spec = spec()

    url = ensure_forward(the_spec)

    assert port_of(url) == the_spec.local_port
    assert probed == [the_spec.local_port]
    assert len(cluster.kubectl_pids()) == 1


# --- a port held by another --------------------------------------------------------------


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


def test_kfp_already_at_names_a_kfp_port_and_nothing_for_a_free_or_a_picked_one(
    cluster: FakeCluster,
) -> None:
    kfp_port = port_of(cluster.kfp.url)

    assert kfp_already_at(spec(local_port=kfp_port)) == f"http://localhost:{kfp_port}"
    assert kfp_already_at(spec()) is None
    assert kfp_already_at(spec(local_port=0)) is None
    assert cluster.kubectl_pids() == []


# --- no kubectl outlives its process ------------------------------------------------------


@linux_only
def test_no_kubectl_left_after_the_process_exits(cluster: FakeCluster) -> None:
    port = free_port()
    child = start_child(port, "exit")
    assert read_line(child) == f"http://localhost:{port}"
    assert child.wait(HANG_BOUND) == 0
    [pid] = cluster.kubectl_pids()
    # Stopped and reaped at exit (atexit), not merely signalled on the way out.
    assert not running(pid)
    wait_until(lambda: port_state(port) == "free", "the port to close")
