"""A TCP server on loopback that accepts connections and never answers.

For "fails instead of hanging" tests: a client that connects here gets no
HTTP answer and no TLS handshake, as behind a stuck load balancer::

    with Blackhole() as url:
        ...  # url is "http://127.0.0.1:PORT"; the first request must time out
"""

from __future__ import annotations

import selectors
import socket
import threading

from .lifetime import Background


class Blackhole(Background[str]):
    """Listens on 127.0.0.1 at an ephemeral port; holds every connection open, silent."""

    def __init__(self) -> None:
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self.port = 0

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError(
                "The blackhole is not started: use it in a with block or call start()."
            )
        return f"http://127.0.0.1:{self.port}"

    @property
    def accepted(self) -> int:
        """How many connections it has swallowed so far."""
        with self._lock:
            return len(self._held)

    def start(self) -> str:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.setblocking(False)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._thread = threading.Thread(
            target=self._accept_forever, name=f"blackhole-{self.port}", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            held, self._held = self._held, []
        for connection in held:
            connection.close()
        if self._listener is not None:
            self._listener.close()

    def _accept_forever(self) -> None:
        assert self._listener is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            while not self._stop.is_set():
                if not selector.select(timeout=0.05):
                    continue
                try:
                    connection, _ = self._listener.accept()
                except BlockingIOError:
                    continue
                with self._lock:
                    self._held.append(connection)
