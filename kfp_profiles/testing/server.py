"""The HTTP plumbing of the emulator: a threaded loopback server that stops cleanly.

Each connection gets its own daemon thread (and, with TLS, its handshake
happens there, so a client that never speaks cannot stall the others).
Open connections are tracked, so ``close()`` ends keep-alive connections
too and returns with no thread or port left behind.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

from kfp_profiles.testing.messages import (
    Headers,
    Request,
    Response,
    first_values,
    parse_cookie_header,
)

App = Callable[[Request], Response]

#: Seconds an idle keep-alive connection or a TLS handshake may take.
_IDLE_TIMEOUT = 30.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT
    # Headers and body go out in two writes; with Nagle on, a keep-alive
    # client's delayed ACK would add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: EmulatorServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        headers = Headers(self.headers.items())
        request = Request(
            method=self.command,
            path=split.path or "/",
            query=first_values(split.query),
            headers=headers,
            cookies=parse_cookie_header(headers.get("cookie", "")),
            body=body,
            raw_query=split.query,
        )
        try:
            response = self.server.app(request)
        except Exception:
            traceback.print_exc()
            response = Response(500, b"emulator error\n")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def version_string(self) -> str:
        return "kfp-profiles-emulator"

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the emulator records requests itself, without their secrets."""


class EmulatorServer(HTTPServer):
    """Serves ``app`` on 127.0.0.1 at an ephemeral port, optionally over TLS.

    Not a ``ThreadingHTTPServer``: ``process_request`` starts and tracks the
    thread of each connection itself, so that ``close()`` can end them all.
    """

    def __init__(self, app: App, tls: ssl.SSLContext | None = None) -> None:
        self.app = app
        self._tls = tls
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._loop: threading.Thread | None = None
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        self._loop = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"kfp-emulator-{self.port}",
            daemon=True,
        )
        self._loop.start()

    def close(self) -> None:
        """Stop accepting, end open connections, wait for their threads, free the port."""
        if self._loop is not None:
            self.shutdown()
            self._loop.join()
        with self._lock:
            connections = list(self._connections)
            workers = list(self._workers)
        for connection in connections:
            # The plain socket's shutdown, even for TLS: it wakes a reader
            # blocked on a keep-alive connection without touching the TLS state.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)
        for worker in workers:
            worker.join(timeout=5.0)
        self.server_close()

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"kfp-emulator-{self.port}-conn",
            daemon=True,
        )
        with self._lock:
            self._connections.add(request)
            self._workers.add(worker)
        worker.start()

    def _serve_connection(self, connection: socket.socket, client_address: Any) -> None:
        raw = connection
        try:
            if self._tls is not None:
                connection.settimeout(_IDLE_TIMEOUT)
                connection = self._tls.wrap_socket(connection, server_side=True)
                with self._lock:
                    self._connections.discard(raw)
                    self._connections.add(connection)
            self.finish_request(connection, client_address)
        except (OSError, ssl.SSLError):
            pass  # the client went away or failed the handshake: nothing to answer
        finally:
            with self._lock:
                self._connections.discard(raw)
                self._connections.discard(connection)
                self._workers.discard(threading.current_thread())
            self.shutdown_request(connection)
