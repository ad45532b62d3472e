"""Supervise ``kubectl port-forward`` for ``standalone-port-forward`` profiles.

``ensure_forward(spec)`` gives the local URL of a profile's KFP: it reuses a
local port that already answers as KFP, else starts kubectl (at most one per
profile in a process), waits until the forward answers, and starts it again
on the next call when it has died (kubectl exits when its pod restarts).

A forward lives no longer than the process that started it: ``stop_all`` runs
at exit, and on Linux the kernel sends kubectl SIGTERM when its parent goes,
even on SIGKILL. kubectl runs in its own process group, so a Ctrl-C at the
terminal reaches us, and we decide when kubectl stops.

Only the standard library is used here: the probes speak HTTP with ``http.client``.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import http.client
import json
import logging
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal, TextIO

from .errors import (
    KubeContextNotFoundError,
    KubectlNotFoundError,
    LocalPortInUseError,
    NamespaceNotFoundError,
    PortForwardError,
    PortForwardExitedError,
    PortForwardTimeoutError,
    ServiceNotFoundError,
    ServicePortNotFoundError,
)

if TYPE_CHECKING:
    from .resolution import ResolvedProfile

__all__ = [
    "PortForward",
    "PortForwardSpec",
    "ensure_forward",
    "kubectl_command",
    "run_foreground",
    "stop_all",
]

logger = logging.getLogger(__name__)

HEALTHZ_PATH = "/apis/v2beta1/healthz"
# Each probe of a local port is short: loopback answers at once or not at all.
_PROBE_TIMEOUT = 3.0
_STOP_GRACE = 5.0
_OTHER_RECHECKS = 2

# kubectl prints one such line per address it listens on: 127.0.0.1, then [::1].
_FORWARDING_LINE = re.compile(r"^Forwarding from (?P<host>\[[^\]]+\]|[^\s:]+):(?P<port>\d+) -> ")
# klog's prefix (E1128 20:07:04.781573 ...): noise before kubectl's own error line.
_KLOG_LINE = re.compile(r"^[IWEF]\d{4} ")
_CONTEXT_MISSING = re.compile(r'error: context "[^"]*" does not exist')
_NAMESPACE_MISSING = re.compile(r'namespaces "[^"]*" not found')
_SERVICE_MISSING = re.compile(r'services "[^"]*" not found')
_SERVICE_PORT_MISSING = re.compile(r"does not have a service port")
_LISTEN_FAILED = re.compile(r"^Unable to listen on port|unable to listen on any of the requested")

PortState = Literal["free", "kfp", "other"]


@dataclass(frozen=True)
class PortForwardSpec:
    """What to forward, for which profile: the fields of a ``standalone-port-forward`` profile."""

    profile: str
    k8s_namespace: str = "kubeflow"
    service: str = "ml-pipeline-ui"
    local_port: int = 3000  # 0: kubectl picks a free port
    remote_port: int = 80
    kube_context: str | None = None
    kubectl: str = "kubectl"  # a name on PATH or a path
    timeout: float = 30.0  # bound on becoming ready


def spec_for(resolved: ResolvedProfile) -> PortForwardSpec:
    """The forward a resolved ``standalone-port-forward`` profile asks for."""
    profile: Any = resolved.profile
    return PortForwardSpec(
        profile=resolved.name,
        k8s_namespace=profile.k8s_namespace,
        service=profile.service,
        local_port=profile.local_port,
        remote_port=profile.remote_port,
        kube_context=profile.kube_context,
        kubectl=profile.kubectl,
        timeout=profile.timeout,
    )


def kubectl_command(spec: PortForwardSpec) -> list[str]:
    """The argv of the forward, as the KFP guide writes it (``tests/test_kubectl_args.py``
    checks every shape against a real kubectl)."""
    # ":80" is kubectl's documented way to ask for a random local port.
    ports = f"{spec.local_port}:{spec.remote_port}" if spec.local_port else f":{spec.remote_port}"
    argv = [spec.kubectl, "port-forward"]
    if spec.kube_context:
        argv += ["--context", spec.kube_context]
    argv += ["--namespace", spec.k8s_namespace, f"svc/{spec.service}", ports]
    return argv


def _local_url(port: int) -> str:
    return f"http://localhost:{port}"


# --- probing a local port --------------------------------------------------------


def _healthz_answer(host: str, port: int, timeout: float) -> tuple[bool, bytes | None]:
    """(connected, body): body is None when nothing came back as an HTTP answer."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            connection.connect()
        except TimeoutError:
            return True, None  # something holds the port and does not accept in time
        except OSError:
            return False, None  # refused, or no such loopback address (no IPv6)
        try:
            connection.request("GET", HEALTHZ_PATH, headers={"Accept": "application/json"})
            response = connection.getresponse()
            return True, response.read(1 << 16)
        except (OSError, http.client.HTTPException):
            return True, None
    finally:
        connection.close()


def _is_kfp_healthz(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return isinstance(payload, dict) and "multi_user" in payload


def port_state(port: int, timeout: float = _PROBE_TIMEOUT) -> PortState:
    """What holds ``localhost:port``: nothing, Kubeflow Pipelines, or something else.

    Both loopback addresses are asked, as kubectl listens on both and a client
    of ``localhost`` may reach either. "Something else" is asked again a few
    times: the listener of a kubectl that just exited can still accept a
    connection for a moment (seen under gVisor) and then drops it unanswered.
    """
    state = _port_state_once(port, timeout)
    for _ in range(_OTHER_RECHECKS):
        if state != "other":
            break
        time.sleep(0.2)
        state = _port_state_once(port, timeout)
    return state


def _port_state_once(port: int, timeout: float) -> PortState:
    states: list[PortState] = []
    for host in ("127.0.0.1", "::1"):
        connected, body = _healthz_answer(host, port, timeout)
        if not connected:
            states.append("free")
        elif body is not None and _is_kfp_healthz(body):
            states.append("kfp")
        else:
            states.append("other")
    if "other" in states:
        return "other"
    return "kfp" if "kfp" in states else "free"


def _answers_http(host: str, port: int, timeout: float) -> bool:
    """Whether an HTTP answer, any answer, comes back through the forward."""
    _, body = _healthz_answer(host, port, timeout)
    return body is not None


# --- starting kubectl --------------------------------------------------------------

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


_spawner = _Spawner()


def _signal_group(process: subprocess.Popen[bytes], *, force: bool = False) -> None:
    """SIGTERM (SIGKILL when ``force``) to kubectl's group, so nothing it started survives."""
    if os.name != "posix":
        if force:
            process.kill()
        else:
            process.terminate()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL if force else signal.SIGTERM)


# --- one forward -------------------------------------------------------------------

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
        return _local_url(self.port)

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
                self._process = _spawner.popen(argv)
            except OSError as exc:
                raise KubectlNotFoundError(
                    profile=self.spec.profile,
                    kubectl=self.spec.kubectl,
                    problem=f"cannot be run ({exc.strerror or exc})",
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
                _signal_group(process)
                try:
                    process.wait(_STOP_GRACE)
                except subprocess.TimeoutExpired:
                    _signal_group(process, force=True)
                    process.wait(_STOP_GRACE)
            for reader in self._readers:
                reader.join(timeout=2.0)
            self._ready = False
            _running.discard(self)

    def last_error_line(self) -> str:
        """kubectl's own error line: the last stderr line that is not klog noise."""
        return _kubectl_error_line(self._stderr_tail)

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
        state = port_state(self.spec.local_port, min(_PROBE_TIMEOUT, self.spec.timeout))
        if state != "free":
            raise _port_in_use(self.spec, state)

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
                elif self._port is None:
                    match = _FORWARDING_LINE.match(line)
                    if match:
                        self._host = match["host"].strip("[]")
                        self._port = int(match["port"])
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
            raise self._timeout_error("kubectl printed no `Forwarding from` line")
        if self._port is None:  # stdout closed before any Forwarding line: kubectl is exiting
            raise self._exit_error(deadline)
        host, port = self._host or "127.0.0.1", self._port
        while True:
            if process.poll() is not None:
                raise self._exit_error(deadline)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout_error(
                    f"localhost:{port} did not answer HTTP through the forward"
                )
            if _answers_http(host, port, min(remaining, _PROBE_TIMEOUT)):
                return
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def _timeout_error(self, stage: str) -> PortForwardTimeoutError:
        return PortForwardTimeoutError(
            profile=self.spec.profile,
            command=self.command,
            timeout=self.spec.timeout,
            stage=stage,
            service=self.spec.service,
            k8s_namespace=self.spec.k8s_namespace,
            kubectl_message=None,
        )

    def _exit_error(self, deadline: float) -> PortForwardError:
        process = self._process
        assert process is not None
        try:
            status = process.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return self._timeout_error("kubectl closed its output but kept running")
        for reader in self._readers:  # the whole of stderr, for the message
            reader.join(timeout=2.0)
        return classify_kubectl_failure(self.spec, self.command, status, list(self._stderr_tail))


def _port_in_use(spec: PortForwardSpec, state: PortState) -> LocalPortInUseError:
    holder = (
        "it already answers as Kubeflow Pipelines, so another forward serves it"
        if state == "kfp"
        else "something there does not answer as Kubeflow Pipelines"
    )
    return LocalPortInUseError(
        profile=spec.profile,
        port=spec.local_port,
        holder=holder,
        command=shlex.join(kubectl_command(spec)),
        kubectl_message=None,
    )


def classify_kubectl_failure(
    spec: PortForwardSpec, command: str, status: int, stderr_lines: list[str]
) -> PortForwardError:
    """The typed error for a kubectl that exited, from its own stderr lines."""
    lines = [line.strip() for line in stderr_lines if line.strip()]
    fields: dict[str, Any] = {
        "profile": spec.profile,
        "command": command,
        "status": status,
        "service": spec.service,
        "k8s_namespace": spec.k8s_namespace,
    }

    def first(pattern: re.Pattern[str]) -> str | None:
        return next((line for line in lines if pattern.search(line)), None)

    if line := first(_CONTEXT_MISSING):
        return KubeContextNotFoundError(kubectl_message=line, **fields)
    if line := first(_NAMESPACE_MISSING):
        return NamespaceNotFoundError(kubectl_message=line, **fields)
    if line := first(_SERVICE_MISSING):
        return ServiceNotFoundError(kubectl_message=line, **fields)
    if line := first(_SERVICE_PORT_MISSING):
        return ServicePortNotFoundError(kubectl_message=line, **fields)
    if line := first(_LISTEN_FAILED):
        return LocalPortInUseError(
            kubectl_message=line,
            port=spec.local_port,
            holder=f"kubectl says `{line}`",
            **fields,
        )
    return PortForwardExitedError(kubectl_message=_kubectl_error_line(lines), **fields)


def _kubectl_error_line(stderr_lines: Iterable[str]) -> str:
    """kubectl's own error line: the last stderr line that is not klog noise, else the last."""
    lines = [line.strip() for line in stderr_lines if line.strip()]
    return next(
        (line for line in reversed(lines) if not _KLOG_LINE.match(line)),
        lines[-1] if lines else "(kubectl printed nothing on stderr)",
    )


# --- one forward per profile per process -------------------------------------------


class _Slot:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spec: PortForwardSpec | None = None
        self.forward: PortForward | None = None


_slots: dict[str, _Slot] = {}
_slots_lock = threading.Lock()
_running: set[PortForward] = set()


def ensure_forward(spec: PortForwardSpec) -> str:
    """The base URL (``http://localhost:<port>``) of the profile's KFP, forwarding if needed.

    A running forward of this process is returned as it is (no I/O); one that
    died is started again (on the port it had, when kubectl chose it). A local
    port that already answers as KFP is reused and nothing is started; one held
    by anything else raises ``LocalPortInUseError`` before kubectl runs.
    Thread-safe: concurrent callers for one profile share one kubectl.
    """
    with _slots_lock:
        slot = _slots.setdefault(spec.profile, _Slot())
    with slot.lock:
        previous_port: int | None = None
        if slot.forward is not None:
            if slot.spec == spec and slot.forward.alive:
                return slot.forward.url
            slot.forward.stop()  # reaps a dead kubectl; stops one whose spec changed
            if slot.spec == spec:
                previous_port = slot.forward.port  # it was ready, so it has one
                logger.warning(
                    "profile %r: kubectl port-forward exited (status %s: %s); starting it again",
                    spec.profile,
                    slot.forward.returncode,
                    slot.forward.last_error_line(),
                )
            slot.forward, slot.spec = None, None

        run_spec = spec
        if spec.local_port:
            state = port_state(spec.local_port, min(_PROBE_TIMEOUT, spec.timeout))
            if state == "kfp":
                logger.info(
                    "profile %r: localhost:%d already answers as KFP; reusing it",
                    spec.profile,
                    spec.local_port,
                )
                return _local_url(spec.local_port)
            if state == "other":
                raise _port_in_use(spec, state)
        elif previous_port and port_state(previous_port) == "free":
            # Keep the URL that clients built earlier in this process still hold.
            run_spec = dataclasses.replace(spec, local_port=previous_port)

        # A set local port was probed just above: free.
        forward = PortForward(run_spec).start(port_checked=True)
        slot.forward, slot.spec = forward, spec
        return forward.url


def stop_all() -> None:
    """Stop every forward this process started (registered with ``atexit``)."""
    with _slots_lock:
        slots = list(_slots.values())
        _slots.clear()
    for slot in slots:
        with slot.lock:
            if slot.forward is not None:
                slot.forward.stop()
            slot.forward, slot.spec = None, None
    for forward in list(_running):
        forward.stop()


def _forget_after_fork() -> None:
    # A forked child inherits the parent's bookkeeping, not its children, and
    # not the spawner thread: start afresh, and never stop the parent's kubectl.
    global _spawner, _slots_lock
    _slots.clear()
    _running.clear()
    _slots_lock = threading.Lock()
    _spawner = _Spawner()


atexit.register(stop_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


# --- the foreground command ----------------------------------------------------------


def run_foreground(
    spec: PortForwardSpec,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the forward until Ctrl-C, printing kubectl's lines (``kfp-profiles port-forward``).

    A kubectl that exits (its pod restarted) is started again on the same port.
    Ctrl-C stops kubectl and returns 0. Errors starting it raise ``PortForwardError``.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr

    def show(stream: str, line: str) -> None:
        print(line, file=out if stream == "stdout" else err, flush=True)

    state: PortState = "free"
    if spec.local_port:
        state = port_state(spec.local_port, min(_PROBE_TIMEOUT, spec.timeout))
    if state == "kfp":
        print(
            f"{_local_url(spec.local_port)} already answers as Kubeflow Pipelines; "
            "nothing to start.",
            file=out,
            flush=True,
        )
        return 0
    if state == "other":
        raise _port_in_use(spec, state)
    run_spec, port_checked = spec, True
    try:
        while True:
            forward = PortForward(run_spec, on_output=show)
            forward.start(port_checked=port_checked)
            try:
                print(
                    f"Kubeflow Pipelines of profile '{spec.profile}' at {forward.url} "
                    "(Ctrl-C to stop)",
                    file=out,
                    flush=True,
                )
                status = forward.wait()
            finally:
                forward.stop()
            print(
                f"kubectl exited with status {status} ({forward.last_error_line()}); "
                "starting it again",
                file=err,
                flush=True,
            )
            # Another program may take the port meanwhile: this start probes it.
            run_spec, port_checked = dataclasses.replace(spec, local_port=forward.port), False
    except KeyboardInterrupt:
        return 0
