"""Hostile servers on loopback: each one misbehaves in one way a client must survive.

::

    with Hostile("drip") as url:          # "http://127.0.0.1:PORT"
        ...  # a GET of url gets a valid answer, one byte a second

The behaviours (``Behaviour``):

- ``drip``: a valid JSON answer, one byte every ``interval`` s (default 1);
- ``slow-headers``: the status line, then one more header line every
  ``interval`` s, never the blank line that ends the headers;
- ``stall-tls``: reads the TLS hello and never answers it (its URL is ``https://``);
- ``endless-body``: a 200 JSON answer whose chunked body never ends,
  ``chunk`` bytes every ``interval`` s (default 16 KiB every 10 ms);
- ``endless-page``: a 200 HTML page (a login page, say) whose chunked body
  never ends, sent as fast as the client reads;
- ``redirect-loop``: every request answered ``302`` to the other of two paths.

With ``upstream`` (the URL of a plain-HTTP server, e.g. an ``Emulator``), the
server is a relay: a request that ``when(method, path)`` picks gets the
behaviour, every other request is forwarded upstream and its answer sent
back, so the steps of a login before the hostile one are real.

Each server listens on 127.0.0.1 only, serves every connection in its own
daemon thread and counts the requests it read (``requests``). It stops
cleanly: ``stop()`` closes the listener, shuts every open connection down
(which wakes a blocked read or send) and joins every thread. It is bounded
in time: every behaviour ends ``lifetime`` seconds (default 60) after the
start even when nobody stops it.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from .lifetime import Background

Behaviour = Literal[
    "drip", "slow-headers", "stall-tls", "endless-body", "endless-page", "redirect-loop"
]
BEHAVIOURS: tuple[Behaviour, ...] = (
    "drip",
    "slow-headers",
    "stall-tls",
    "endless-body",
    "endless-page",
    "redirect-loop",
)

#: Which requests a relay answers with its behaviour: ``when(method, path)``.
Picker = Callable[[str, str], bool]

_DEFAULT_INTERVAL: dict[Behaviour, float] = {
    "drip": 1.0,
    "slow-headers": 1.0,
    "stall-tls": 1.0,
    "endless-body": 0.01,
    "endless-page": 0.0,
    "redirect-loop": 0.0,
}

_HEAD_LIMIT = 1 << 16  # bytes of request line and headers read at most
_DRIP_BODY = b'{"experiments": [], "total_size": 0, "next_page_token": ""}'
_PAGE_START = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>\n"
_PAGE_LINE = b'<p class="filler">Sign in to continue, and then sign in again.</p>\n'


@dataclass(frozen=True)
class Request:
    """What a hostile server read of one request (the body only when it relays it)."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""


class Hostile(Background[str]):
    """One hostile server (see the module docstring); ``with`` gives its URL."""

    def __init__(
        self,
        behaviour: Behaviour,
        *,
        interval: float | None = None,
        chunk: int = 16 * 1024,
        upstream: str | None = None,
        when: Picker | None = None,
        lifetime: float = 60.0,
    ) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}; one of {', '.join(BEHAVIOURS)}")
        self.behaviour = behaviour
        self.interval = _DEFAULT_INTERVAL[behaviour] if interval is None else interval
        self.chunk = chunk
        self.upstream = upstream
        self.when = when
        self.lifetime = lifetime
        self.port = 0
        self._ends_at = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        #: Each open connection and the thread that serves it.
        self._open: dict[socket.socket, threading.Thread] = {}
        self._requests: list[Request] = []

    # --- where it is and what it saw -----------------------------------------------------

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("The server is not started: use it in a with block or call start().")
        scheme = "https" if self.behaviour == "stall-tls" else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Request]:
        """Every request read so far (relayed ones too)."""
        with self._lock:
            return list(self._requests)

    @property
    def hostile_requests(self) -> int:
        """How many requests got the behaviour (every one, without ``upstream``)."""
        return sum(1 for r in self.requests if self._picks(r))

    # --- lifetime ----------------------------------------------------------------------------

    def start(self) -> str:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(0.05)  # accept() wakes up to see the stop event
        self.port = self._listener.getsockname()[1]
        self._ends_at = time.monotonic() + self.lifetime
        name = f"hostile-{self.behaviour}-{self.port}"
        self._acceptor = threading.Thread(target=self._accept_forever, name=name, daemon=True)
        self._acceptor.start()
        return self.url

    def stop(self) -> None:
        """Stop accepting, end every connection, join every thread, free the port."""
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join()
        with self._lock:
            still_open = dict(self._open)
        for connection in still_open:  # wakes a worker blocked in recv or sendall
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for worker in still_open.values():
            worker.join(timeout=5.0)
        if self._listener is not None:
            self._listener.close()

    def _accept_forever(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(None)
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            worker = threading.Thread(
                target=self._serve, args=(connection,), name="hostile-conn", daemon=True
            )
            with self._lock:
                self._open[connection] = worker
            worker.start()

    def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless stopped or out of lifetime first; False when it should end."""
        left = self._ends_at - time.monotonic()
        if seconds > 0:
            self._stop.wait(min(seconds, max(left, 0.0)))
        return not self._stop.is_set() and time.monotonic() < self._ends_at

    # --- one connection ------------------------------------------------------------------

    def _serve(self, connection: socket.socket) -> None:
        try:
            if self.behaviour == "stall-tls" and self.upstream is None:
                self._stall(connection)
                return
            reader = connection.makefile("rb")
            while self._pause(0):
                request = _read_request(reader)
                if request is None:
                    return
                with self._lock:
                    self._requests.append(request)
                if not self._picks(request):
                    connection.sendall(self._relay(request))
                    continue
                if not self._misbehave(connection, request):
                    return
        except OSError:
            pass  # the client gave up, or stop() shut the connection down
        finally:
            with self._lock:
                self._open.pop(connection, None)
            connection.close()

    def _picks(self, request: Request) -> bool:
        if self.upstream is None or self.when is None:
            return True
        return self.when(request.method, urlsplit(request.path).path)

    def _misbehave(self, connection: socket.socket, request: Request) -> bool:
        """Answer ``request`` with the behaviour; True when the connection may take another."""
        if self.behaviour == "redirect-loop":
            target = "/loop/b" if request.path.endswith("/loop/a") else "/loop/a"
            connection.sendall(
                b"HTTP/1.1 302 Found\r\nLocation: " + target.encode() + b"\r\n"
                b"Content-Length: 0\r\n\r\n"
            )
            return True
        if self.behaviour == "drip":
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            answer = head + b"Content-Length: %d\r\n\r\n" % len(_DRIP_BODY) + _DRIP_BODY
            for i in range(len(answer)):
                connection.sendall(answer[i : i + 1])
                if not self._pause(self.interval):
                    return False
            return True
        if self.behaviour == "slow-headers":
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            line = 0
            while self._pause(self.interval):
                line += 1
                connection.sendall(b"X-Slow-%d: still coming\r\n" % line)
            return False
        if self.behaviour == "stall-tls":  # a relay that stalls: say nothing
            self._pause(self.lifetime)
            return False
        self._endless(connection)
        return False

    def _endless(self, connection: socket.socket) -> None:
        page = self.behaviour == "endless-page"
        kind = b"text/html; charset=utf-8" if page else b"application/json"
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + kind + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        filler = _PAGE_LINE if page else b" "
        body = (filler * (self.chunk // len(filler) + 1))[: self.chunk]
        first = _PAGE_START if page else b"["
        connection.sendall(b"%x\r\n%b\r\n" % (len(first), first))
        while self._pause(self.interval):
            connection.sendall(b"%x\r\n%b\r\n" % (len(body), body))

    def _stall(self, connection: socket.socket) -> None:
        """Read the TLS hello (and anything after it), answer nothing, until the end."""
        connection.settimeout(0.05)
        while self._pause(0):
            try:
                if not connection.recv(4096):
                    return
            except TimeoutError:
                continue

    # --- relaying --------------------------------------------------------------------------

    def _relay(self, request: Request) -> bytes:
        """The upstream server's answer to ``request``, as bytes to send back."""
        assert self.upstream is not None
        parts = urlsplit(self.upstream)
        upstream = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=30
        )
        try:
            skip = {"connection", "keep-alive", "proxy-connection"}
            headers = {name: value for name, value in request.headers if name.lower() not in skip}
            upstream.request(request.method, request.path, request.body or None, headers)
            answer = upstream.getresponse()
            body = answer.read()
            lines = [f"HTTP/1.1 {answer.status} {answer.reason}"]
            dropped = {"transfer-encoding", "content-length", "connection"}
            lines += [f"{n}: {v}" for n, v in answer.getheaders() if n.lower() not in dropped]
            lines.append(f"Content-Length: {len(body)}")
            return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        finally:
            upstream.close()


def _read_request(reader: io.BufferedReader) -> Request | None:
    """One request off ``reader`` (the socket's binary file); None at the end of the stream."""
    readline, read = reader.readline, reader.read
    first = readline(_HEAD_LIMIT)
    if not first.strip():
        return None
    words = first.decode("latin-1").split()
    if len(words) < 2:
        return None
    headers: list[tuple[str, str]] = []
    size = len(first)
    while True:
        line = readline(_HEAD_LIMIT)
        size += len(line)
        if not line or line in (b"\r\n", b"\n") or size > _HEAD_LIMIT:
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    length = next((int(v) for n, v in headers if n.lower() == "content-length"), 0)
    body = read(min(length, _HEAD_LIMIT)) if length > 0 else b""
    return Request(words[0], words[1], tuple(headers), body)
