"""Start kubectl so it dies with this process and a Ctrl-C does not reach it; signal it to stop.

On Linux the kernel sends kubectl SIGTERM when its parent goes, even on
SIGKILL (the parent-death signal, set with ``prctl`` between fork and exec).
kubectl runs in its own process group, so a Ctrl-C at the terminal reaches us,
and we decide when kubectl stops.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


@functools.cache
def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _child_setup() -> Callable[[], None]:
    """What the child does between fork and exec (resolved beforehand: no imports there)."""
    parent = os.getpid()
    prctl = _load_prctl()

    def setup() -> None:
        # Our own group: a Ctrl-C at the terminal goes to us, not to kubectl.
        os.setpgid(0, 0)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
            # The parent may have died before prctl took effect: no signal would come.
            if os.getppid() != parent:
                os._exit(1)

    return setup


def _popen(argv: list[str]) -> subprocess.Popen[bytes]:
    if os.name == "posix":
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_child_setup(),
        )
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
    )


class _SpawnJob:
    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.done = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None
        self.error: BaseException | None = None


class _Spawner:
    """Starts every kubectl from one thread that lives as long as the process.

    Linux sends the parent-death signal when the *thread* that forked the child
    ends, so a kubectl started from a short-lived worker thread would be killed
    as soon as that thread returned.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_SpawnJob] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, argv: list[str]) -> subprocess.Popen[bytes]:
        if os.name != "posix":  # no parent-death signal to arrange
            return _popen(argv)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="kfp-profiles-kubectl-spawner", daemon=True
                )
                self._thread.start()
        job = _SpawnJob(argv)
        self._jobs.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        assert job.process is not None
        return job.process

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job.process = _popen(job.argv)
            except BaseException as exc:  # handed to the caller's thread
                job.error = exc
            finally:
                job.done.set()


_spawner = _Spawner()


def spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` with its stdout and stderr piped, tied to this process's life.

    Raises ``OSError`` when it cannot be run.
    """
    return _spawner.popen(argv)


def signal_group(process: subprocess.Popen[bytes], *, force: bool = False) -> None:
    """SIGTERM (SIGKILL when ``force``) to kubectl's group, so nothing it started survives."""
    if os.name != "posix":
        if force:
            process.kill()
        else:
            process.terminate()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL if force else signal.SIGTERM)


def _new_spawner_after_fork() -> None:
    # A forked child has none of the parent's threads: it needs a spawner of its own.
    global _spawner
    _spawner = _Spawner()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_spawner_after_fork)
