"""urllib3 pools that keep the thread's deadline (kfp_profiles/pools.py), on loopback sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import urllib3

from kfp_profiles import deadline
from kfp_profiles.pools import WatchedConnection, keep_deadline
from kfp_profiles.testing import Emulator

HEALTHZ = "/apis/v2beta1/healthz"


@pytest.fixture
def manager() -> Iterator[urllib3.PoolManager]:
    with keep_deadline(urllib3.PoolManager(retries=False)) as pools:
        yield pools


def test_a_keep_alive_socket_is_reused_after_the_deadline_of_its_last_request(
    manager: urllib3.PoolManager,
) -> None:
    # A watch left on the pooled socket would shut it once the first deadline passed,
    # and the pool would have to open a second connection.
    with Emulator(door="none") as emu:
        for _ in range(3):
            with deadline.within(0.3):
                assert manager.request("GET", emu.url + HEALTHZ).status == 200
            time.sleep(0.4)
        pool = manager.connection_from_url(emu.url)
        assert pool.num_connections == 1
        assert pool.num_requests == 3


def test_without_a_clock_the_pools_are_urllib3s_own(manager: urllib3.PoolManager) -> None:
    with Emulator(door="none") as emu:
        assert deadline.current() is None
        assert manager.request("GET", emu.url + HEALTHZ).status == 200
        pool = manager.connection_from_url(emu.url)
        assert pool.ConnectionCls is WatchedConnection


def test_a_connection_the_watchdog_shut_is_not_pooled(manager: urllib3.PoolManager) -> None:
    with Emulator(door="none") as emu:
        with deadline.within(0.2) as clock:
            answer = manager.request("GET", emu.url + HEALTHZ, preload_content=False)
            time.sleep(0.4)  # the watchdog shuts the socket; the short body is already buffered
            assert b"multi_user" in answer.read()
            answer.release_conn()
        assert clock.fired
        pool = manager.connection_from_url(emu.url)
        assert pool.pool is not None
        pooled = [conn for conn in list(pool.pool.queue) if conn is not None]
        assert pooled and all(conn.sock is None for conn in pooled)  # closed, not kept as is
        assert manager.request("GET", emu.url + HEALTHZ).status == 200  # a fresh connection


def test_the_clock_knows_the_stage_of_its_request(manager: urllib3.PoolManager) -> None:
    with Emulator(door="none") as emu, deadline.within(5) as clock:
        before = clock.stage
        answer = manager.request("GET", emu.url + HEALTHZ, preload_content=False)
        # Status line and headers in, the body not read yet.
        assert (before, clock.stage) == ("start", "body")
        answer.read()
        answer.release_conn()
        assert not clock.fired


def test_a_manager_with_pool_classes_of_its_own_is_left_alone() -> None:
    custom = {"http": urllib3.HTTPConnectionPool, "https": urllib3.HTTPSConnectionPool}
    manager = urllib3.PoolManager()
    manager.pool_classes_by_scheme = custom  # as SOCKSProxyManager does
    assert keep_deadline(manager).pool_classes_by_scheme is custom
