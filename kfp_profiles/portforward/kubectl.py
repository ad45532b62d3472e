"""What a forward asks kubectl, and what kubectl's lines mean: the command, its port, its errors.

``PortForwardSpec`` is the forward of one ``standalone-port-forward`` profile;
``kubectl_command`` its argv, as the KFP guide writes it; ``forwarding_address``
reads the port kubectl reports; ``classify_kubectl_failure`` turns the stderr of
a kubectl that exited into the typed error that says what to fix. The patterns
are kubectl's own messages, checked against a real kubectl by
``tests/test_portforward_kubectl.py``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import (
    KubeContextNotFoundError,
    KubectlCannotListenError,
    LocalPortInUseError,
    NamespaceNotFoundError,
    NotAPortForwardProfileError,
    PortForwardError,
    PortForwardExitedError,
    ServiceNotFoundError,
    ServicePortNotFoundError,
)

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile

# kubectl prints one such line per address it listens on: 127.0.0.1, then [::1].
_FORWARDING_LINE = re.compile(r"^Forwarding from (?P<host>\[[^\]]+\]|[^\s:]+):(?P<port>\d+) -> ")
# klog's prefix (E1128 20:07:04.781573 ...): noise before kubectl's own error line.
_KLOG_LINE = re.compile(r"^[IWEF]\d{4} ")
_CONTEXT_MISSING = re.compile(r'error: context "[^"]*" does not exist')
_NAMESPACE_MISSING = re.compile(r'namespaces "[^"]*" not found')
_SERVICE_MISSING = re.compile(r'services "[^"]*" not found')
_SERVICE_PORT_MISSING = re.compile(r"does not have a service port")
_LISTEN_FAILED = re.compile(r"^Unable to listen on port|unable to listen on any of the requested")


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
    """The forward a resolved ``standalone-port-forward`` profile asks for.

    A profile of another kind has no forward: ``NotAPortForwardProfileError``.
    """
    from ..models import StandalonePortForward  # pydantic: loaded already, with ``resolved``

    profile = resolved.profile
    if not isinstance(profile, StandalonePortForward):
        raise NotAPortForwardProfileError(profile=resolved.name, kind=resolved.kind)
    return PortForwardSpec(profile=resolved.name, **profile.values_for(PortForwardSpec))


def kubectl_command(spec: PortForwardSpec) -> list[str]:
    """The argv of the forward, as the KFP guide writes it (``tests/test_portforward_kubectl.py``
    checks every shape against a real kubectl)."""
    # ":80" is kubectl's documented way to ask for a random local port.
    ports = f"{spec.local_port}:{spec.remote_port}" if spec.local_port else f":{spec.remote_port}"
    argv = [spec.kubectl, "port-forward"]
    if spec.kube_context:
        argv += ["--context", spec.kube_context]
    argv += ["--namespace", spec.k8s_namespace, f"svc/{spec.service}", ports]
    return argv


def forwarding_address(line: str) -> tuple[str, int] | None:
    """(host, port) from kubectl's ``Forwarding from <host>:<port> -> ...`` line, else None."""
    match = _FORWARDING_LINE.match(line)
    if match is None:
        return None
    return match["host"].strip("[]"), int(match["port"])


def port_in_use_error(spec: PortForwardSpec, *, kfp: bool) -> LocalPortInUseError:
    """The error for a set local port that a probe found held, by KFP (``kfp``) or another."""
    holder = (
        "it already answers as Kubeflow Pipelines, so another forward serves it"
        if kfp
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
        return KubectlCannotListenError(kubectl_message=line, port=spec.local_port, **fields)
    return PortForwardExitedError(kubectl_message=kubectl_error_line(lines), **fields)


def kubectl_error_line(stderr_lines: Iterable[str]) -> str:
    """kubectl's own error line: the last stderr line that is not klog noise, else the last."""
    lines = [line.strip() for line in stderr_lines if line.strip()]
    return next(
        (line for line in reversed(lines) if not _KLOG_LINE.match(line)),
        lines[-1] if lines else "(kubectl printed nothing on stderr)",
    )
