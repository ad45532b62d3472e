"""Errors of `kubectl port-forward`: kubectl, its context, its target, the local port (exit 8)."""

from __future__ import annotations

from .base import KfpProfilesError
from .config import ConfigError

# --- kubectl port-forward ----------------------------------------------------


class NotAPortForwardProfileError(ConfigError):
    fmt = (
        "Profile '{profile}' is of kind '{kind}': only standalone-port-forward profiles "
        "have a port-forward."
    )


class PortForwardError(KfpProfilesError):
    """A managed ``kubectl port-forward`` could not be started or made ready.

    Subclasses raised after kubectl ran carry ``kubectl_message``, kubectl's
    own line, and ``command``, the command line that was run.
    """

    fmt = "Profile '{profile}': `{command}` failed: {kubectl_message}"
    exit_code = 8

    # Set from the keyword fields by KfpProfilesError.__init__; declared for type checkers.
    profile: str
    kubectl_message: str | None


class KubectlNotFoundError(PortForwardError):
    fmt = (
        "Profile '{profile}' needs kubectl to port-forward, but '{kubectl}' {problem}: "
        "install kubectl (https://kubernetes.io/docs/tasks/tools/, or Debian's "
        "`kubernetes-client` package), or set `kubectl` in the profile to its path."
    )


class KubeContextNotFoundError(PortForwardError):
    fmt = (
        "Profile '{profile}': kubectl says `{kubectl_message}`; set `kube_context` to "
        "one of the contexts `kubectl config get-contexts` lists, or remove it to use "
        "kubectl's current context."
    )


class ForwardTargetNotFoundError(PortForwardError):
    """The namespace, service or service port the profile names does not exist."""


class NamespaceNotFoundError(ForwardTargetNotFoundError):
    fmt = (
        "Profile '{profile}': kubectl says `{kubectl_message}`; set `k8s_namespace` "
        "to the namespace where KFP's `{service}` service runs "
        "(`kubectl get services --all-namespaces` lists them)."
    )


class ServiceNotFoundError(ForwardTargetNotFoundError):
    fmt = (
        "Profile '{profile}': kubectl says `{kubectl_message}` in namespace "
        "'{k8s_namespace}'; check `service` and `k8s_namespace` in the profile "
        "(`kubectl get services --all-namespaces` lists them)."
    )


class ServicePortNotFoundError(ForwardTargetNotFoundError):
    fmt = (
        "Profile '{profile}': kubectl says `{kubectl_message}`; set `remote_port` to "
        "a port that `kubectl get service {service} --namespace {k8s_namespace}` shows."
    )


class LocalPortInUseError(PortForwardError):
    fmt = (
        "Profile '{profile}': local port {port} is already in use ({holder}); choose "
        "another `local_port` in the profile, or 0 to let kubectl pick a free one."
    )


class PortForwardTimeoutError(PortForwardError):
    fmt = (
        "Profile '{profile}': `{command}` was not ready within {timeout:g} s "
        "({stage}); check that a pod behind svc/{service} in namespace "
        "'{k8s_namespace}' is running, or raise the profile's `timeout`."
    )


class PortForwardExitedError(PortForwardError):
    fmt = (
        "Profile '{profile}': `{command}` exited with status {status}: "
        "`{kubectl_message}`; run that command yourself to see all of its output."
    )


# Variants that say in their message what their base class takes as a field.


class KubectlNotRunnableError(KubectlNotFoundError):
    fmt = KubectlNotFoundError.fmt.replace("{problem}", "cannot be run ({reason})")


class KubectlCannotListenError(LocalPortInUseError):
    fmt = LocalPortInUseError.fmt.replace("{holder}", "kubectl says `{kubectl_message}`")


class ForwardNotAnsweringError(PortForwardTimeoutError):
    fmt = PortForwardTimeoutError.fmt.replace(
        "{stage}", "localhost:{port} did not answer HTTP through the forward"
    )
