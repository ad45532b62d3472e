"""The Kubernetes YAML the KFP guide asks users to write by hand, generated.

- :func:`poddefault`: Kubeflow's ``PodDefault`` that gives every pod labelled
  ``access-ml-pipeline: "true"`` a projected ServiceAccount token (audience
  ``pipelines.kubeflow.org``, 7200 s) mounted at
  ``/var/run/secrets/kubeflow/pipelines`` and ``KF_PIPELINES_SA_TOKEN_PATH``.
- :func:`pod`: a ``Pod`` carrying that volume itself, for clusters without the
  PodDefault webhook or for a quick test.
- :func:`rolebinding`: the cross-namespace ``RoleBinding`` to the ClusterRole
  ``kubeflow-edit`` that lets a ServiceAccount of one profile namespace use
  Kubeflow Pipelines in another.
- :func:`oidc_client`: the Dex ``staticClients`` entry of a ``platform-oidc``
  client (public; no ``redirectURIs``, or exactly the loopback pair of one
  port), and :func:`oidc_client_yaml` with the lines for gateways that check
  audiences.

Each returns a plain dict; :func:`to_yaml` renders it. A profile fills in
what it knows (namespace, token path); see ``kfp-profiles manifest --help``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .constants import (
    DEFAULT_TOKEN_PATH,
    PROFILE_ENV,
    PROFILES_FILE_ENV,
    SDK_TOKEN_PATH_ENV,
    TOKEN_AUDIENCE,
)
from .errors import KubernetesNameError, ManifestValueError

#: The token's lifetime in the KFP guide; the kubelet renews it well before.
TOKEN_EXPIRATION_SECONDS = 7200
TOKEN_VOLUME = "volume-kf-pipeline-token"
#: The label a pod carries to receive the PodDefault (Kubeflow's notebook UI offers it).
ACCESS_LABEL = "access-ml-pipeline"
#: The guide names the PodDefault after the label it answers to.
DEFAULT_PODDEFAULT_NAME = ACCESS_LABEL
EDIT_CLUSTER_ROLE = "kubeflow-edit"
#: The ServiceAccount Kubeflow creates in every profile namespace.
DEFAULT_SERVICE_ACCOUNT = "default-editor"
DEFAULT_POD_NAME = "kfp-client"
DEFAULT_IMAGE = "python:3.11-slim"

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _check_name(value: str, what: str, pattern: re.Pattern[str], limit: int, rule: str) -> str:
    if len(value) > limit or not pattern.fullmatch(value):
        raise KubernetesNameError(what=what, value=value, rule=rule)
    return value


def check_dns_label(value: str, what: str) -> str:
    """A namespace or container name: Kubernetes' DNS-1123 label, or a one-line error."""
    rule = (
        "at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
    )
    return _check_name(value, what, _DNS_LABEL, 63, rule)


def check_dns_subdomain(value: str, what: str) -> str:
    """An object name (Pod, RoleBinding, ServiceAccount): DNS-1123 subdomain."""
    rule = "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
    return _check_name(value, what, _DNS_SUBDOMAIN, 253, rule)


def _token_mount(token_path: str) -> tuple[str, str]:
    """(folder to mount, file name inside it) for where the token should appear."""
    if not token_path.startswith("/") or token_path.endswith("/"):
        problem = (
            f"The token path '{token_path}' must be an absolute file path, like "
            f"{DEFAULT_TOKEN_PATH}"
        )
        raise ManifestValueError(problem=problem)
    folder, name = posixpath.split(posixpath.normpath(token_path))
    return folder, name


def _token_volume(file_name: str, expiration: int) -> dict[str, Any]:
    if expiration < 600:
        problem = (
            f"The token expiry {expiration} s is too short: Kubernetes requires at least "
            f"600 s; the KFP guide uses {TOKEN_EXPIRATION_SECONDS}"
        )
        raise ManifestValueError(problem=problem)
    return {
        "name": TOKEN_VOLUME,
        "projected": {
            "sources": [
                {
                    "serviceAccountToken": {
                        "path": file_name,
                        "expirationSeconds": expiration,
                        "audience": TOKEN_AUDIENCE,
                    }
                }
            ]
        },
    }


def _token_mount_entry(folder: str) -> dict[str, Any]:
    return {"mountPath": folder, "name": TOKEN_VOLUME, "readOnly": True}


def _token_env(token_path: str) -> dict[str, Any]:
    return {"name": SDK_TOKEN_PATH_ENV, "value": token_path}


#: Where a pod finds the profiles file it was given, and the volume that holds it.
PROFILES_MOUNT = "/etc/kfp-profiles"
PROFILES_VOLUME = "kfp-profiles"


@dataclass(frozen=True)
class ShippedProfile:
    """A profile sent to a pod: its name, and a profiles file holding it (and nothing else)."""

    profile: str
    text: str

    @property
    def configmap(self) -> str:
        """The ConfigMap's name: ``kfp-profile-<profile>``, as Kubernetes allows it."""
        cleaned = re.sub(r"[^a-z0-9.-]+", "-", self.profile.lower()).strip("-.")
        return f"kfp-profile-{cleaned}"[:253].rstrip("-.")


def ship_profile(name: str, table: Mapping[str, Any], source: str) -> ShippedProfile:
    """Profile ``name`` (its table as the file ``source`` writes it) alone in a profiles file."""
    from .tomlsplice import render_profile

    text = (
        f"# Profile '{name}' from {source}, written by `kfp-profiles manifest`.\n"
        f'default = "{name}"\n\n{render_profile(name, table)}'
    )
    return ShippedProfile(profile=name, text=text)


def profile_configmap(namespace: str, shipped: ShippedProfile) -> dict[str, Any]:
    """The ConfigMap that carries ``shipped``'s profiles file into ``namespace``."""
    check_dns_label(namespace, "The namespace")
    return {
        **_header("v1", "ConfigMap", shipped.configmap, namespace),
        "data": {"profiles.toml": shipped.text},
    }


def _profile_parts(
    shipped: ShippedProfile | None, profile: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, volume mounts, env) that give a pod its profile: the shipped profiles file
    mounted read-only and named by KFP_PROFILES_FILE, or only KFP_PROFILE."""
    if shipped is None:
        return [], [], [{"name": PROFILE_ENV, "value": profile}] if profile else []
    volume = {"name": PROFILES_VOLUME, "configMap": {"name": shipped.configmap}}
    mount = {"mountPath": PROFILES_MOUNT, "name": PROFILES_VOLUME, "readOnly": True}
    env = [
        {"name": PROFILES_FILE_ENV, "value": posixpath.join(PROFILES_MOUNT, "profiles.toml")},
        {"name": PROFILE_ENV, "value": shipped.profile},
    ]
    return [volume], [mount], env


def _header(api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any]:
    """What every object starts with: its type, then its name and namespace."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
    }


def poddefault(
    namespace: str,
    *,
    name: str = DEFAULT_PODDEFAULT_NAME,
    token_path: str = DEFAULT_TOKEN_PATH,
    expiration: int = TOKEN_EXPIRATION_SECONDS,
    shipped: ShippedProfile | None = None,
) -> dict[str, Any]:
    """The PodDefault of the KFP guide, for profile namespace ``namespace``.

    With ``shipped``, labelled pods also get that profile's file (from its ConfigMap,
    :func:`profile_configmap`) and the variables that make ``get_client()`` use it.
    """
    check_dns_label(namespace, "The namespace")
    check_dns_subdomain(name, "The PodDefault name")
    folder, file_name = _token_mount(token_path)
    volumes, mounts, env = _profile_parts(shipped, None)
    return {
        **_header("kubeflow.org/v1alpha1", "PodDefault", name, namespace),
        "spec": {
            "desc": "Allow access to Kubeflow Pipelines",
            "selector": {"matchLabels": {ACCESS_LABEL: "true"}},
            "volumes": [_token_volume(file_name, expiration), *volumes],
            "volumeMounts": [_token_mount_entry(folder), *mounts],
            "env": [_token_env(posixpath.join(folder, file_name)), *env],
        },
    }


def pod(
    namespace: str,
    *,
    name: str = DEFAULT_POD_NAME,
    image: str = DEFAULT_IMAGE,
    service_account: str = DEFAULT_SERVICE_ACCOUNT,
    token_path: str = DEFAULT_TOKEN_PATH,
    expiration: int = TOKEN_EXPIRATION_SECONDS,
    profile: str | None = None,
    shipped: ShippedProfile | None = None,
) -> dict[str, Any]:
    """A Pod in ``namespace`` with the projected token, ready for a platform-in-cluster profile.

    With ``shipped``, the pod gets that profile's file (from its ConfigMap,
    :func:`profile_configmap`) at ``KFP_PROFILES_FILE`` and ``KFP_PROFILE`` naming it,
    so ``get_client()`` needs nothing else; with only ``profile``, just ``KFP_PROFILE``.
    """
    check_dns_label(namespace, "The namespace")
    check_dns_subdomain(name, "The pod name")
    check_dns_subdomain(service_account, "The service account")
    if not image.strip():
        problem = f"The image must not be empty: pass --image, e.g. {DEFAULT_IMAGE}"
        raise ManifestValueError(problem=problem)
    folder, file_name = _token_mount(token_path)
    volumes, mounts, env = _profile_parts(shipped, profile)
    return {
        **_header("v1", "Pod", name, namespace),
        "spec": {
            "serviceAccountName": service_account,
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "command": ["sleep", "infinity"],
                    "env": [_token_env(posixpath.join(folder, file_name)), *env],
                    "volumeMounts": [_token_mount_entry(folder), *mounts],
                }
            ],
            "volumes": [_token_volume(file_name, expiration), *volumes],
        },
    }


def rolebinding(
    namespace: str,
    from_namespace: str,
    *,
    service_account: str = DEFAULT_SERVICE_ACCOUNT,
    name: str | None = None,
) -> dict[str, Any]:
    """Let ``service_account`` of ``from_namespace`` use Kubeflow Pipelines in ``namespace``."""
    check_dns_label(namespace, "The target namespace")
    check_dns_label(from_namespace, "The source namespace")
    check_dns_subdomain(service_account, "The service account")
    if name is None:
        name = f"kfp-access-{from_namespace}-{service_account}"[:253].rstrip("-.")
    check_dns_subdomain(name, "The RoleBinding name")
    return {
        **_header("rbac.authorization.k8s.io/v1", "RoleBinding", name, namespace),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": EDIT_CLUSTER_ROLE,
        },
        "subjects": [
            {"kind": "ServiceAccount", "name": service_account, "namespace": from_namespace}
        ],
    }


#: Kubeflow's Dex issuer (kubeflow/manifests ``common/dex/base/config-map.yaml``).
DEX_ISSUER = "http://dex.auth.svc.cluster.local:5556/dex"
_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]*")


def oidc_client(client_id: str, *, redirect_port: int | None = None) -> dict[str, Any]:
    """Dex's ``staticClients`` entry for a public client of ``platform-oidc`` profiles.

    With no ``redirectURIs`` Dex lets a public client use any loopback port, the device
    flow and out-of-band codes; with ``redirect_port`` it accepts exactly the two listed.
    """
    if not _CLIENT_ID.fullmatch(client_id) or len(client_id) > 253:
        raise ManifestValueError(
            problem=(
                f"The client id {client_id!r} is not usable: give letters, digits and "
                "'.', '_', ':', '@', '/', '-' (at most 253), starting with a letter or digit"
            )
        )
    entry: dict[str, Any] = {"id": client_id, "name": client_id, "public": True}
    if redirect_port is not None:
        entry["redirectURIs"] = [
            f"http://127.0.0.1:{redirect_port}/callback",
            f"http://localhost:{redirect_port}/callback",
        ]
    return {"staticClients": [entry]}


def oidc_client_yaml(
    client_id: str, *, redirect_port: int | None = None, issuer: str = DEX_ISSUER
) -> str:
    """:func:`oidc_client` as YAML, with comments: where it goes, and the audience lines."""
    document = to_yaml(oidc_client(client_id, redirect_port=redirect_port))
    redirect = (
        f'# Profiles set redirect_uri = "http://127.0.0.1:{redirect_port}/callback" '
        "(Dex before v2.42: localhost).\n"
        if redirect_port is not None
        else "# No redirectURIs: any loopback port, the device flow and out-of-band codes.\n"
    )
    return (
        "# Dex static client for kfp-profiles `platform-oidc` profiles: add the entry under\n"
        "# `staticClients` in Dex's config.yaml (Kubeflow: ConfigMap dex in namespace auth),\n"
        "# then restart Dex (kubectl -n auth rollout restart deployment dex).\n"
        f"{redirect}"
        f"{document}"
        "# Gateways that check the ID token's audience must admit the client too:\n"
        "# - Kubeflow 1.9.0 (oauth2-proxy's JWT path), in oauth2_proxy.cfg:\n"
        f'#     extra_jwt_issuers = ["{issuer}={client_id}"]\n'
        "# - a RequestAuthentication whose jwtRules list `audiences` (1.9.1+, where an admin\n"
        f"#   added them): add {client_id} to the rule of issuer {issuer}\n"
    )


def to_yaml(*manifests: dict[str, Any]) -> str:
    """``manifests`` as YAML documents (``---`` between them), keys in the guide's order."""
    import yaml

    text: str = yaml.safe_dump_all(manifests, sort_keys=False, default_flow_style=False)
    return text
