"""Small helpers shared by the tests: profiles files, free ports, the stand-in cluster, the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfp_profiles.testing import Emulator

#: The stand-in ``kubectl`` (there is no Kubernetes cluster in the tests).
FAKES = Path(__file__).parent / "fakes"

#: The installed console script, beside this interpreter.
SCRIPT = Path(sys.executable).with_name("kfp-profiles")
HANG_BOUND = 60.0  # only stops a broken test from hanging
DEX_PASSWORD = "12341234"  # the emulator's Dex user (front-door.md)
DEX_USER = "user@example.com"
DEX_NAMESPACE = "kubeflow-user-example-com"

#: A platform-dex profile `prod` (the default); fill in host, user and namespace.
DEX_FILE = """
default = "prod"
[profiles.prod]
kind = "platform-dex"
host = "{host}"
username = "{user}"
namespace = "{namespace}"
"""


TWO_PROFILES = """\
[profiles.a]
kind = "standalone-in-cluster"

[profiles.b]
kind = "standalone-in-cluster"
"""


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Any:
    """Run the console script; returns the CompletedProcess (text)."""
    return subprocess.run(
        [str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=HANG_BOUND,
        env={**os.environ, **(env or {})},
    )


def step_lines(out: str) -> dict[str, list[str]]:
    """The words after each step name of `check`'s report, by step."""
    return {
        name: line[len(name) :].split()
        for line in out.splitlines()
        for name in ("resolve", "port-forward", "authenticate", "healthz", "list experiments")
        if line.startswith(name + " ")
    }


def write_profiles(path: Path, text: str, *, mode: int = 0o600) -> Path:
    """Write ``text`` (dedented) to ``path`` with ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    path.chmod(mode)
    return path


def free_port() -> int:
    """A loopback port nothing listens on: connections to it are refused until someone binds it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has exited: it only waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@dataclass
class FakeCluster:
    """The KFP emulator behind a stand-in kubectl, and the log of the kubectl it started."""

    kfp: Emulator
    log: Path

    def kubectl_pids(self) -> list[int]:
        """One pid per kubectl started so far."""
        if not self.log.exists():
            return []
        return [json.loads(line)["pid"] for line in self.log.read_text().splitlines()]

    def kubectl_argvs(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line)["argv"] for line in self.log.read_text().splitlines()]
