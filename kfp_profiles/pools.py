"""urllib3 pools whose connections keep this thread's deadline, on both hops (imports urllib3).

:func:`keep_deadline` swaps the pool classes of a ``PoolManager`` (the SDK's,
or the one inside a ``requests`` adapter) for these. Under a
:func:`kfp_profiles.deadline.within` block, each connection arms the
watchdog on its socket as soon as it exists (so the TLS handshake is
covered) or, when reused from the pool, as its request starts; it reports
its stage (connect, TLS, send, wait for headers, body) to the clock; and it
ends the watch when it goes back to the pool or closes, so no pooled
keep-alive socket keeps a stale watch. A connection the watchdog shut down
is closed, never pooled. Without a clock they behave as urllib3's own.
"""

from __future__ import annotations

import http.client
import socket
from typing import Any

from urllib3 import poolmanager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from . import deadline

__all__ = ["WatchedConnection", "keep_deadline"]


class _StagedResponse(http.client.HTTPResponse):
    """Tells the clock when the status line is in (headers next), then the headers (body next)."""

    def _read_status(self) -> tuple[str, int, str]:
        status: tuple[str, int, str] = super()._read_status()  # type: ignore[misc]
        deadline.at_stage("headers")
        return status

    def begin(self) -> None:
        super().begin()
        deadline.at_stage("body")


class WatchedConnection(HTTPConnection):
    """An HTTP connection under the thread's deadline (see the module docstring)."""

    response_class = _StagedResponse
    _watch: deadline.Watch | None = None

    def _new_conn(self) -> socket.socket:
        clock = deadline.at_stage("connect")
        sock = super()._new_conn()
        if clock is not None:
            self._keep(clock, sock)
            clock.enter("tls" if isinstance(self, HTTPSConnection) else "send")
        return sock

    def connect(self) -> None:
        super().connect()
        deadline.at_stage("send")

    def request(self, *args: Any, **kwargs: Any) -> None:
        clock = deadline.at_stage("send")
        if clock is not None and self.sock is not None:  # a keep-alive socket from the pool
            self._keep(clock, self.sock)
        super().request(*args, **kwargs)
        deadline.at_stage("wait")

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_watch()

    def end_watch(self) -> bool:
        """End the watch on this connection's socket; True when the watchdog had fired."""
        watch, self._watch = self._watch, None
        return watch is not None and watch.cancel()

    def _keep(self, clock: deadline.Clock, sock: socket.socket) -> None:
        if self._watch is not None and self._watch.clock is clock and not self._watch.done:
            return
        self.end_watch()
        self._watch = clock.watch(sock)


class WatchedHTTPSConnection(WatchedConnection, HTTPSConnection):
    """The HTTPS one: its handshake runs under the watch armed in ``_new_conn``."""


def _put_back(conn: Any) -> None:
    """End a returning connection's watch; one the watchdog shut down is closed, not reused."""
    if isinstance(conn, WatchedConnection) and conn.end_watch():
        conn.close()


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = WatchedConnection

    def _put_conn(self, conn: Any) -> None:
        _put_back(conn)
        super()._put_conn(conn)


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection

    def _put_conn(self, conn: Any) -> None:
        _put_back(conn)
        super()._put_conn(conn)


_POOLS = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


def keep_deadline(manager: PoolManager) -> PoolManager:
    """Make ``manager``'s connections keep the thread's deadline; returns it.

    A manager with pool classes of its own (SOCKS) is left as it is.
    """
    if manager.pool_classes_by_scheme is poolmanager.pool_classes_by_scheme:
        manager.pool_classes_by_scheme = _POOLS
        manager.clear()  # pools made before (none, normally) keep their classes
    return manager
