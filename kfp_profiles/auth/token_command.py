"""Run a ``token_command``: argv without a shell, bounded in time and output, its answer read.

The command runs in its own process group (session), with standard input
closed and ``KUBERNETES_EXEC_INFO`` set as kubectl sets it for a credential
plugin. Its whole group is killed at the profile's ``timeout``; standard
output is capped at 1 MiB (more is an error), standard error keeps its last
lines for the message of a failure. Standard output is a bare token or a
Kubernetes ExecCredential (JSON); nothing it printed ever appears in an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..deadline import READ_CAP, READ_CAP_TEXT
from ..errors import (
    TokenCommandError,
    TokenCommandNotFoundError,
    TokenCommandOutputError,
    TokenCommandTimeoutError,
)
from .bearer_token import BearerToken, check_token_text, jwt_expiry, parse_exec_credential

__all__ = ["CommandSpec", "run_token_command"]

#: What kubectl passes a credential plugin that may not ask anything (client-go's exec.go).
EXEC_INFO = json.dumps(
    {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }
)
#: Lines of standard error shown when the command fails, and characters of each.
STDERR_LINES = 5
STDERR_LINE_CHARS = 300
_STDERR_KEPT = 65536


@dataclass(frozen=True)
class CommandSpec:
    """A profile's token command and what bounds it."""

    profile: str
    argv: tuple[str, ...]
    timeout: float
    #: What set ``token_command`` (``ResolvedProfile.sources``): where the fix goes.
    named_by: str = "file"

    @property
    def text(self) -> str:
        """The command as a shell would show it (no secret: it is in the profiles file)."""
        shown = shlex.join(self.argv)
        return shown if len(shown) <= 160 else shown[:157] + "..."

    def fields(self) -> dict[str, Any]:
        return {"profile": self.profile, "command": self.text, "named_by": self.named_by}


class _Reader(threading.Thread):
    """Reads one pipe to its end; keeps the first ``cap + 1`` bytes or the last ``keep``."""

    def __init__(self, pipe: object, *, cap: int | None = None, keep: int | None = None) -> None:
        super().__init__(daemon=True)
        self._pipe = pipe
        self._cap = cap
        self._keep = keep
        self.data = bytearray()
        self.over_cap = threading.Event()

    def run(self) -> None:
        read = getattr(self._pipe, "read1", None) or self._pipe.read  # type: ignore[attr-defined]
        with contextlib.suppress(OSError, ValueError):
            while chunk := read(65536):
                self.data += chunk
                if self._cap is not None and len(self.data) > self._cap:
                    self.over_cap.set()
                    return
                if self._keep is not None and len(self.data) > self._keep:
                    del self.data[: len(self.data) - self._keep]


def run_token_command(spec: CommandSpec, clock: float | None = None) -> BearerToken:
    """Run the command once and read the token it printed; typed errors otherwise."""
    got_at = time.time() if clock is None else clock
    stdout = _run(spec)
    return _read_answer(spec, stdout, got_at)


def _start(spec: CommandSpec) -> subprocess.Popen[bytes]:
    program = spec.argv[0]
    environment = {**os.environ, "KUBERNETES_EXEC_INFO": EXEC_INFO}
    try:
        return subprocess.Popen(
            list(spec.argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            start_new_session=os.name == "posix",
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
    except FileNotFoundError:
        problem = "was not found" + ("" if os.sep in program else " on PATH")
    except PermissionError:
        problem = "cannot be run (permission denied: is it executable?)"
    except OSError as exc:
        problem = f"cannot be run ({exc.strerror or type(exc).__name__})"
    raise TokenCommandNotFoundError(program=program, problem=problem, **spec.fields())


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()


def _run(spec: CommandSpec) -> bytes:
    process = _start(spec)
    out = _Reader(process.stdout, cap=READ_CAP)
    err = _Reader(process.stderr, keep=_STDERR_KEPT)
    out.start()
    err.start()
    deadline = time.monotonic() + spec.timeout
    timed_out = False
    while True:
        if out.over_cap.wait(0.02):
            break
        if process.poll() is not None and not out.is_alive():
            break
        if time.monotonic() >= deadline:
            timed_out = True
            break
    if timed_out or out.over_cap.is_set():
        _kill_group(process)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    _kill_group(process)  # what it left behind in its group goes with it
    for reader in (out, err):
        reader.join(timeout=2)
    for pipe in (process.stdout, process.stderr):
        with contextlib.suppress(OSError):
            pipe.close()  # type: ignore[union-attr]
    stdout = bytes(out.data)
    stderr = _stderr_tail(bytes(err.data), stdout)
    if timed_out:
        raise TokenCommandTimeoutError(timeout=spec.timeout, stderr=stderr, **spec.fields())
    if out.over_cap.is_set():
        raise TokenCommandOutputError(problem=f"printed more than {READ_CAP_TEXT}", **spec.fields())
    if process.returncode != 0:
        status = process.returncode
        problem = (
            f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        )
        raise TokenCommandError(problem=problem, stderr=stderr, **spec.fields())
    return stdout


def _stderr_tail(data: bytes, stdout: bytes) -> str:
    """The last lines of standard error, for a message: `` (it said: ...)``, or nothing.

    Whatever standard output held is blanked out of it: a failing command that
    echoes its token on both streams does not put it in the error.
    """
    text = data.decode("utf-8", "replace")
    for word in stdout.decode("utf-8", "replace").split():
        if len(word) >= 8:
            text = text.replace(word, "***")
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    shown = [line[:STDERR_LINE_CHARS] for line in lines[-STDERR_LINES:]]
    return f" (it said: {' | '.join(shown)})" if shown else " (it said nothing on standard error)"


def _read_answer(spec: CommandSpec, stdout: bytes, got_at: float) -> BearerToken:
    # Errors are raised outside the except blocks: a UnicodeDecodeError or a JSONDecodeError
    # holds what the command printed, and must not ride along as context.
    problem = _problem_of(stdout)
    if isinstance(problem, str):
        raise TokenCommandOutputError(problem=problem, **spec.fields())
    text, expires_at = problem
    return BearerToken(text, expires_at if expires_at is not None else jwt_expiry(text), got_at)


def _problem_of(stdout: bytes) -> tuple[str, float | None] | str:
    """``(token, expiry)`` in what a command printed, or what is wrong with it (no values)."""
    try:
        text = stdout.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = None
    if text is None:
        return "printed bytes that are not UTF-8 text"
    if not text:
        return "printed nothing on standard output"
    expires_at: float | None = None
    if text.startswith("{"):
        payload: object = _NOT_JSON
        with contextlib.suppress(ValueError):
            payload = json.loads(text)
        if payload is _NOT_JSON:
            return "printed text that starts like JSON but is not JSON"
        read = parse_exec_credential(payload)
        if isinstance(read, str):
            return read
        text, expires_at = read
    problem = check_token_text(text)
    if problem is not None:
        return f"printed something that is not one token: {problem}"
    return text, expires_at


_NOT_JSON = object()
