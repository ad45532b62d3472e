"""``manifest poddefault|pod|rolebinding|oidc-client``: the YAML the KFP guide asks users to write.

``--profile NAME`` fills in what a profile knows: its namespace, and for
platform-in-cluster its token path (which sets where the token is mounted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from .. import manifests
from ..constants import DEFAULT_TOKEN_PATH
from ..errors import NamespaceOptionMissingError
from ._common import F, HelpWhenBareGroup, complete_profile_names, profiles_config, warn


def _profile_option() -> Callable[[F], F]:
    return click.option(
        "--profile",
        "profile_name",
        metavar="NAME",
        shell_complete=complete_profile_names,
        help="Fill in the namespace (and token path) from this profile.",
    )


@dataclass(frozen=True)
class _Known:
    """What a profile tells a manifest: its namespace, token path, and itself to ship."""

    namespace: str | None = None
    token_path: str = DEFAULT_TOKEN_PATH
    shipped: manifests.ShippedProfile | None = None
    #: The profile's kind when it does not run in a pod (nothing to ship).
    not_shipped: str | None = None


def _from_profile(name: str | None) -> _Known:
    """What profile ``name`` knows; an in-cluster kind is also shipped to the pod."""
    if not name:
        return _Known()
    from ..models import PlatformInCluster
    from ..resolution import resolve as resolve_profile

    config = profiles_config()
    resolved = resolve_profile(name, config=config)
    profile = resolved.profile
    token_path = profile.token_path if isinstance(profile, PlatformInCluster) else None
    if not profile.in_cluster:
        return _Known(profile.namespace, token_path or DEFAULT_TOKEN_PATH, None, profile.kind)
    entry = config.profiles[resolved.name]
    shipped = manifests.ship_profile(resolved.name, entry.data, str(entry.file))
    return _Known(profile.namespace, token_path or DEFAULT_TOKEN_PATH, shipped)


def _print(namespace: str, document: dict[str, Any], known: _Known) -> None:
    """The manifest, after the ConfigMap of the profile it ships (if any)."""
    documents = [document]
    if known.shipped is not None:
        documents.insert(0, manifests.profile_configmap(namespace, known.shipped))
    elif known.not_shipped is not None:
        warn(
            f"kind '{known.not_shipped}' does not run in a pod, so no profiles file is "
            "shipped with it: only KFP_PROFILE is set."
        )
    click.echo(manifests.to_yaml(*documents), nl=False)


def _need_namespace(namespace: str | None, option: str, profile: str | None) -> str:
    if namespace:
        return namespace
    where = f" (profile '{profile}' sets no namespace)" if profile else ""
    raise NamespaceOptionMissingError(option=option, where=where)


@click.group(cls=HelpWhenBareGroup)
def manifest() -> None:
    """Print Kubernetes YAML for in-cluster access to Kubeflow Pipelines."""


@manifest.command()
@click.option("--namespace", metavar="NS", help="Profile namespace the PodDefault goes in.")
@click.option(
    "--name", default=manifests.DEFAULT_PODDEFAULT_NAME, show_default=True, help="PodDefault name."
)
@_profile_option()
def poddefault(namespace: str | None, name: str, profile_name: str | None) -> None:
    """The PodDefault that mounts a pipelines.kubeflow.org token into labelled pods.

    Pods labelled access-ml-pipeline: "true" get a projected ServiceAccount
    token (expiry 7200 s) at /var/run/secrets/kubeflow/pipelines/token and
    KF_PIPELINES_SA_TOKEN_PATH pointing at it.
    """
    known = _from_profile(profile_name)
    namespace = _need_namespace(namespace or known.namespace, "--namespace", profile_name)
    document = manifests.poddefault(
        namespace, name=name, token_path=known.token_path, shipped=known.shipped
    )
    _print(namespace, document, known)


@manifest.command()
@click.option("--namespace", metavar="NS", help="Namespace the pod runs in.")
@click.option("--name", default=manifests.DEFAULT_POD_NAME, show_default=True, help="Pod name.")
@click.option(
    "--image", default=manifests.DEFAULT_IMAGE, show_default=True, help="Container image."
)
@click.option(
    "--service-account",
    default=manifests.DEFAULT_SERVICE_ACCOUNT,
    show_default=True,
    help="ServiceAccount.",
)
@_profile_option()
def pod(
    namespace: str | None,
    name: str,
    image: str,
    service_account: str,
    profile_name: str | None,
) -> None:
    """A Pod with the projected token volume (for clusters without PodDefaults)."""
    known = _from_profile(profile_name)
    namespace = _need_namespace(namespace or known.namespace, "--namespace", profile_name)
    document = manifests.pod(
        namespace,
        name=name,
        image=image,
        service_account=service_account,
        token_path=known.token_path,
        profile=profile_name,
        shipped=known.shipped,
    )
    _print(namespace, document, known)


@manifest.command()
@click.option("--namespace", metavar="TARGET", help="Namespace whose pipelines are to be used.")
@click.option(
    "--from-namespace", metavar="SOURCE", required=True, help="Namespace the pod runs in."
)
@click.option(
    "--service-account",
    default=manifests.DEFAULT_SERVICE_ACCOUNT,
    show_default=True,
    help="ServiceAccount of the pod, in SOURCE.",
)
@click.option("--name", default=None, help="RoleBinding name [default: derived from SOURCE].")
@_profile_option()
def rolebinding(
    namespace: str | None,
    from_namespace: str,
    service_account: str,
    name: str | None,
    profile_name: str | None,
) -> None:
    """A RoleBinding to ClusterRole kubeflow-edit in TARGET for a ServiceAccount of SOURCE.

    With --profile, TARGET defaults to the namespace the profile talks to.
    """
    known_namespace = _from_profile(profile_name).namespace if profile_name else None
    namespace = _need_namespace(namespace or known_namespace, "--namespace", profile_name)
    document = manifests.rolebinding(
        namespace, from_namespace, service_account=service_account, name=name
    )
    click.echo(manifests.to_yaml(document), nl=False)


@manifest.command("oidc-client")
@click.option("--client-id", required=True, metavar="ID", help="Client id the profiles use.")
@click.option(
    "--redirect-port",
    type=click.IntRange(1, 65535),
    default=None,
    metavar="N",
    help="List exactly this loopback port (default: none, Dex then takes any).",
)
def oidc_client(client_id: str, redirect_port: int | None) -> None:
    """Dex's static client for platform-oidc profiles, and the audience lines for gateways."""
    click.echo(manifests.oidc_client_yaml(client_id, redirect_port=redirect_port), nl=False)


COMMANDS = [manifest]
