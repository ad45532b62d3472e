"""What the network may cost: one deadline per request (or login), a cap on bodies read.

The deadline. :func:`within` starts a :class:`Clock` for this thread; the
connections that run under it (:mod:`kfp_profiles.pools` for urllib3, on
both hops; :meth:`Clock.watching` for ``http.client``) arm the watchdog on
their socket and say which stage they are at. When the deadline passes, the
watchdog shuts the socket down, so a read blocked on a server that drips one
byte a second, sends its headers slowly, stalls the TLS handshake or sends
an endless body returns at once; the caller then raises
:class:`~kfp_profiles.errors.DeadlineExceededError` (:func:`late`), naming
the step and the stage the clock was at. Socket timeouts alone bound each
read, not the request: that is what this module adds. Not covered: name
resolution (``getaddrinfo`` cannot be interrupted; the connect timeout
bounds the rest of the connect).

The cap. :data:`READ_CAP` (1 MiB) bounds every body the library reads
itself (login pages, Dex forms, probes, token files), read with
:func:`read_capped`. API answers the SDK reads stay uncapped: the deadline
bounds them.

Standard library only: the port-forward probes use it too.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from .errors import DeadlineExceededError

__all__ = [
    "READ_CAP",
    "READ_CAP_TEXT",
    "Clock",
    "Stage",
    "Watch",
    "at_stage",
    "current",
    "late",
    "read_capped",
    "within",
]

#: Bound on a body the library reads itself: a login page is a few KiB, a token 1 to 2 KiB.
READ_CAP = 1 << 20
READ_CAP_TEXT = "1 MiB"

#: Where a request is: the words of each stage end a :class:`DeadlineExceededError`.
Stage = Literal["start", "connect", "tls", "send", "wait", "headers", "body"]

STAGE_WORDS: dict[Stage, str] = {
    "start": "the time ran out before it was sent",
    "connect": "no connection was made",
    "tls": "the TLS handshake did not finish",
    "send": "the request could not be sent",
    "wait": "no answer came (not even its whole status line)",
    "headers": "the answer's headers were still coming",
    "body": "the answer's body was still coming",
}


@dataclass(eq=False)
class Clock:
    """One deadline: ``seconds`` long, ending at ``at`` (``time.monotonic()``)."""

    seconds: float
    at: float
    #: What the request under this clock is doing (set by the connections, :meth:`enter`).
    stage: Stage = "start"
    #: True once the watchdog has shut a socket of this clock down.
    fired: bool = False

    def enter(self, stage: Stage) -> None:
        """The request is now at ``stage``; once the watchdog fired, the stage it hit stays."""
        if not self.fired:
            self.stage = stage

    def remaining(self) -> float:
        """Seconds left, as a socket timeout: at least 1 ms (zero would mean non-blocking)."""
        return max(0.001, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        return self.fired or time.monotonic() >= self.at

    def watch(self, sock: socket.socket) -> Watch:
        """Shut ``sock`` down at the deadline unless the watch is cancelled first."""
        watch = Watch(self, socket.fromfd(sock.fileno(), sock.family, sock.type, sock.proto))
        _watchdog().arm(watch)
        return watch

    @contextlib.contextmanager
    def watching(self, sock: socket.socket) -> Iterator[None]:
        """:meth:`watch` for the length of a ``with`` block."""
        watch = self.watch(sock)
        try:
            yield
        finally:
            watch.cancel()


@dataclass(eq=False)
class Watch:
    """A socket under the watchdog: its own duplicate of the descriptor, shut at the deadline.

    The duplicate keeps the watchdog off any descriptor number the owner may
    have closed and the system reused; it is closed when the watch ends.
    """

    clock: Clock
    sock: socket.socket
    done: bool = field(default=False, repr=False)

    def cancel(self) -> bool:
        """End the watch; True when the watchdog had already fired on it."""
        with _watchdog().lock:
            if self.done:
                return self.clock.fired
            self.done = True
        self.sock.close()
        return False

    def _fire(self) -> None:  # under the watchdog's lock
        self.done = True
        self.clock.fired = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class _Watchdog:
    """One thread that fires watches at their deadlines; it exits when none is pending."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, watch: Watch) -> None:
        with self.lock:
            heapq.heappush(self._heap, (watch.clock.at, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kfp-profiles-deadline", daemon=True
                )
                self._thread.start()
            self.lock.notify()

    def _run(self) -> None:
        with self.lock:
            while self._heap:
                at, _, watch = self._heap[0]
                if watch.done:
                    heapq.heappop(self._heap)
                    continue
                delay = at - time.monotonic()
                if delay > 0:
                    self.lock.wait(delay)
                    continue
                heapq.heappop(self._heap)
                watch._fire()
            self._thread = None


_dog = _Watchdog()


def _watchdog() -> _Watchdog:
    return _dog


def _forget_in_child() -> None:
    global _dog
    _dog = _Watchdog()  # the parent's thread does not exist in a forked child


os.register_at_fork(after_in_child=_forget_in_child)

_local = threading.local()


def current() -> Clock | None:
    """The clock of this thread's request or login, if one is running."""
    clock: Clock | None = getattr(_local, "clock", None)
    return clock


def at_stage(stage: Stage) -> Clock | None:
    """Record that this thread's request is at ``stage``; returns its clock, if any."""
    clock = current()
    if clock is not None:
        clock.enter(stage)
    return clock


@contextlib.contextmanager
def within(seconds: float) -> Iterator[Clock]:
    """Run the ``with`` block under a deadline ``seconds`` from now (this thread only)."""
    clock = Clock(seconds, time.monotonic() + seconds)
    outer = current()
    _local.clock = clock
    try:
        yield clock
    finally:
        _local.clock = outer


def late(clock: Clock, *, host: str, profile: str, step: str) -> DeadlineExceededError:
    """The error for ``step`` to ``host`` that ran out of ``clock``."""
    return DeadlineExceededError(
        host=host,
        profile=profile,
        step=step,
        timeout=clock.seconds,
        stage=STAGE_WORDS[clock.stage],
    )


def read_capped(chunks: Iterable[bytes], cap: int = READ_CAP) -> bytes | None:
    """The chunks joined, or None as soon as they add up to more than ``cap`` bytes."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > cap:
            return None
        parts.append(chunk)
    return b"".join(parts)
