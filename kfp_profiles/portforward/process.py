"""One ``kubectl port-forward`` process: started, its output read, made ready, stopped.

``PortForward(spec).start()`` returns once the forward answers HTTP, or raises
the ``PortForwardError`` that says what to fix within ``spec.timeout``.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

from ..errors import (
    ForwardNotAnsweringError,
    KubectlNotFoundError,
    KubectlNotRunnableError,
    PortForwardError,
    PortForwardTimeoutError,
)
from .kubectl import (
    PortForwardSpec,
    classify_kubectl_failure,
    forwarding_address,
    kubectl_command,
    kubectl_error_line,
    port_in_use_error,
)
from .probe import PROBE_TIMEOUT, answers_http, local_url, port_state
from .spawn import signal_group, spawn

logger = logging.getLogger(__name__)

_STOP_GRACE = 5.0

OutputCallback = Callable[[str, str], None]
"""Called with ("stdout" | "stderr", line) for each line kubectl prints."""


class PortForward:
    """One ``kubectl port-forward`` process: started, made ready, stopped.

    ``start()`` returns once the forward answers HTTP, or raises a
    ``PortForwardError`` within ``spec.timeout``. Use it as a context manager
    for a forward shorter than the process; ``ensure_forward`` for one per profile.
    """

    def __init__(self, spec: PortForwardSpec, *, on_output: OutputCallback | None = None) -> None:
        self.spec = spec
        self._on_output = on_output
        self._process: subprocess.Popen[bytes] | None = None
        self._host: str | None = None
        self._port: int | None = None
        self._ready = False
        self._reported = threading.Event()  # a Forwarding line came, or stdout closed
        self._stderr_tail: deque[str] = deque(maxlen=20)
        self._readers: list[threading.Thread] = []
        self._owner_pid = os.getpid()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"PortForward(profile={self.spec.profile!r}, port={self._port}, "
            f"pid={self.pid}, alive={self.alive})"
        )

    @property
    def command(self) -> str:
        return shlex.join(kubectl_command(self.spec))

    @property
    def port(self) -> int:
        """The local port kubectl listens on (the one it chose when ``local_port`` is 0)."""
        if self._port is None:
            raise RuntimeError("the port-forward has not reported its port yet")
        return self._port

    @property
    def url(self) -> str:
        return local_url(self.port)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def alive(self) -> bool:
        """Ready, and kubectl still running."""
        return self._ready and self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def __enter__(self) -> PortForward:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, *, port_checked: bool = False) -> PortForward:
        """Start kubectl and wait until the forward answers.

        A set ``local_port`` must be free: it is probed first, unless the caller
        has just done so (``port_checked``).
        """
        with self._lock:
            if self._process is not None:
                raise RuntimeError("a PortForward starts once; make a new one to start again")
            executable = self._find_kubectl()
            if self.spec.local_port and not port_checked:
                self._refuse_held_port()
            argv = [executable, *kubectl_command(self.spec)[1:]]
            logger.info("profile %r: starting %s", self.spec.profile, self.command)
            try:
                self._process = spawn(argv)
            except OSError as exc:
                raise KubectlNotRunnableError(
                    profile=self.spec.profile,
                    kubectl=self.spec.kubectl,
                    reason=exc.strerror or str(exc),
                    kubectl_message=None,
                ) from exc
            _running.add(self)
            self._start_readers(self._process)
        try:
            self._wait_until_ready(time.monotonic() + self.spec.timeout)
        except BaseException:
            self.stop()
            raise
        self._ready = True
        logger.info("profile %r: forward ready at %s", self.spec.profile, self.url)
        return self

    def wait(self) -> int:
        """Wait for kubectl to exit; its status."""
        if self._process is None:
            raise RuntimeError("the port-forward was never started")
        return self._process.wait()

    def stop(self) -> None:
        """Stop kubectl (SIGTERM to its group, SIGKILL after a grace period) and reap it."""
        with self._lock:
            process = self._process
            if process is None or os.getpid() != self._owner_pid:
                return  # never started, or inherited through fork(): not ours to stop
            if process.poll() is None:
                signal_group(process)
                try:
                    process.wait(_STOP_GRACE)
                except subprocess.TimeoutExpired:
                    signal_group(process, force=True)
                    process.wait(_STOP_GRACE)
            for reader in self._readers:
                reader.join(timeout=2.0)
            self._ready = False
            _running.discard(self)

    def last_error_line(self) -> str:
        """kubectl's own error line: the last stderr line that is not klog noise."""
        return kubectl_error_line(self._stderr_tail)

    # --- internals ---

    def _find_kubectl(self) -> str:
        name = os.path.expandvars(os.path.expanduser(self.spec.kubectl))
        found = shutil.which(name)
        if found is None:
            has_folder = os.sep in name or (os.altsep is not None and os.altsep in name)
            problem = "is not an executable file" if has_folder else "is not on PATH"
            raise KubectlNotFoundError(
                profile=self.spec.profile,
                kubectl=self.spec.kubectl,
                problem=problem,
                kubectl_message=None,
            )
        return found

    def _refuse_held_port(self) -> None:
        state = port_state(self.spec.local_port, min(PROBE_TIMEOUT, self.spec.timeout))
        if state != "free":
            raise port_in_use_error(self.spec, kfp=state == "kfp")

    def _start_readers(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None and process.stderr is not None
        for stream, name in ((process.stdout, "stdout"), (process.stderr, "stderr")):
            reader = threading.Thread(
                target=self._read,
                args=(stream, name),
                name=f"kfp-profiles-kubectl-{name}-{process.pid}",
                daemon=True,
            )
            reader.start()
            self._readers.append(reader)

    def _read(self, stream: IO[bytes], name: str) -> None:
        # Reading to the end also keeps kubectl from blocking on a full pipe: it
        # prints "Handling connection for N" for every connection.
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                logger.debug("kubectl %s: %s", name, line)
                if name == "stderr":
                    self._stderr_tail.append(line)
                elif self._port is None and (address := forwarding_address(line)):
                    self._host, self._port = address
                    self._reported.set()
                if self._on_output is not None:
                    self._on_output(name, line)
        finally:
            stream.close()
            if name == "stdout":
                self._reported.set()

    def _wait_until_ready(self, deadline: float) -> None:
        process = self._process
        assert process is not None
        if not self._reported.wait(max(0.0, deadline - time.monotonic())):
            raise PortForwardTimeoutError(
                stage="kubectl printed no `Forwarding from` line", **self._timeout_fields()
            )
        if self._port is None:  # stdout closed before any Forwarding line: kubectl is exiting
            raise self._exit_error(deadline)
        host, port = self._host or "127.0.0.1", self._port
        while True:
            if process.poll() is not None:
                raise self._exit_error(deadline)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ForwardNotAnsweringError(port=port, **self._timeout_fields())
            if answers_http(host, port, min(remaining, PROBE_TIMEOUT)):
                return
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def _timeout_fields(self) -> dict[str, Any]:
        """The fields of a ``PortForwardTimeoutError`` (its ``stage`` aside)."""
        return {
            "profile": self.spec.profile,
            "command": self.command,
            "timeout": self.spec.timeout,
            "service": self.spec.service,
            "k8s_namespace": self.spec.k8s_namespace,
            "kubectl_message": None,
        }

    def _exit_error(self, deadline: float) -> PortForwardError:
        process = self._process
        assert process is not None
        try:
            status = process.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return PortForwardTimeoutError(
                stage="kubectl closed its output but kept running", **self._timeout_fields()
            )
        for reader in self._readers:  # the whole of stderr, for the message
            reader.join(timeout=2.0)
        return classify_kubectl_failure(self.spec, self.command, status, list(self._stderr_tail))


#: Every PortForward this process started and has not stopped yet.
_running: set[PortForward] = set()


def stop_started() -> None:
    """Stop every PortForward this process started, whoever holds it."""
    for forward in list(_running):
        forward.stop()


def _forget_after_fork() -> None:
    # A forked child inherits the parent's bookkeeping, not its children: never
    # stop the parent's kubectl from here.
    _running.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
