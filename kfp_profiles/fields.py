"""The field table: every profile field described once, and everything derived from it.

One :class:`FieldSpec` row per field says which kinds have it, its type and
default, the variable that overrides it, the SDK variable that may fill it and
with which precedence, whether it is a secret (masked everywhere, kept in the
keyring and never in the file), whether it is a path (expanded), its CLI flag,
metavar and help. Rows may differ per kind (:class:`KindRule`): ``token_path``
takes ``KF_PIPELINES_SA_TOKEN_PATH`` for ``platform-in-cluster`` only.

Read from this table, never restated: the kind models' pydantic fields
(:func:`column`), the environment layer of :mod:`kfp_profiles.resolution`,
masking in ``show``/``--json``/reprs/logs/errors (:func:`mask`), ``show
--sources``, ``add``'s flags and prompts, the JSON Schema and ``docs/fields.md``
(:func:`markdown_table`), in the manner of databricks-sdk's ``ConfigAttribute``.

Importing this module costs nothing: plain dataclasses, no pydantic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .constants import (
    DEFAULT_TOKEN_PATH,
    SDK_ENDPOINT_ENV,
    SDK_TOKEN_PATH_ENV,
    SDK_UI_ENDPOINT_ENV,
)
from .fieldspec import INHERIT, MASK, FieldSpec, KindRule, mask_url_credentials

__all__ = [
    "FIELDS",
    "MASK",
    "FieldSpec",
    "KindRule",
    "alternatives_of",
    "column",
    "fields_of",
    "is_refused_in_file",
    "markdown_table",
    "mask",
    "mask_url_credentials",
    "spec_of",
]

_STANDALONE = ("standalone-in-cluster", "standalone-port-forward")
_FORWARD = ("standalone-port-forward",)
#: Kinds that reach a Kubeflow Platform's gateway from anywhere, with a login or a bearer.
_GATEWAY = ("platform-dex", "platform-token", "platform-oidc")
_BEARER = ("platform-token", "platform-oidc")

_GATEWAY_HOST = KindRule(
    required=True,
    help="KFP API URL at the Istio gateway, e.g. https://kubeflow.example.com/pipeline.",
)
_PROFILE_NAMESPACE = KindRule(
    required=True, help="Your Kubeflow profile namespace, e.g. kubeflow-user-example-com."
)
#: The scopes a sign-in asks for: the ID token's claims, and a refresh token.
DEFAULT_SCOPES = ("openid", "email", "profile", "groups", "offline_access")

#: Every field, in the order `add` asks for them and `show` prints them.
FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec(
            "host",
            "URL of the KFP API; wins over the kind's default.",
            metavar="URL",
            sdk_env=SDK_ENDPOINT_ENV,
            per_kind=dict.fromkeys(_GATEWAY, _GATEWAY_HOST),
        ),
        FieldSpec(
            "namespace",
            "Kubeflow profile namespace sent on namespaced calls (platform kinds).",
            per_kind=dict.fromkeys(_GATEWAY, _PROFILE_NAMESPACE),
        ),
        FieldSpec(
            "ui_host",
            "URL of the KFP UI, for links the SDK prints.",
            metavar="URL",
            sdk_env=SDK_UI_ENDPOINT_ENV,
        ),
        FieldSpec("verify_tls", "Check the server's TLS certificate.", type=bool, default=True),
        FieldSpec(
            "ca_bundle",
            "PEM file of CAs to trust; `~` and $VARS expand, relative to this file.",
            path=True,
            metavar="PATH",
        ),
        FieldSpec(
            "proxy",
            "HTTP(S) proxy URL for the login and the API calls.",
            metavar="URL",
            url_credentials=True,
        ),
        FieldSpec(
            "timeout",
            "Seconds each request may take, from connect to last byte; more than 0, at most 3600.",
            type=float,
            default=30.0,
            metavar="SECONDS",
        ),
        FieldSpec("description", "Free text shown by `list`."),
        FieldSpec(
            "k8s_namespace", "Namespace where KFP runs.", kinds=_STANDALONE, default="kubeflow"
        ),
        FieldSpec("service", "Service to forward to.", kinds=_FORWARD, default="ml-pipeline-ui"),
        FieldSpec(
            "local_port",
            "Local port; 0 lets kubectl pick one.",
            type=int,
            kinds=_FORWARD,
            default=3000,
            metavar="PORT",
        ),
        FieldSpec(
            "remote_port",
            "Port of the service.",
            type=int,
            kinds=_FORWARD,
            default=80,
            metavar="PORT",
        ),
        FieldSpec(
            "kube_context",
            "kubectl context; kubectl's current context when unset.",
            kinds=_FORWARD,
        ),
        FieldSpec(
            "kubectl",
            "kubectl executable (name or path).",
            kinds=_FORWARD,
            default="kubectl",
            metavar="PATH",
        ),
        FieldSpec(
            "manage",
            "Start the forward when the local port does not answer as KFP.",
            type=bool,
            kinds=_FORWARD,
            default=True,
        ),
        FieldSpec(
            "token_path",
            "Projected ServiceAccount token (audience pipelines.kubeflow.org).",
            kinds=("platform-in-cluster", "platform-token"),
            path=True,
            metavar="PATH",
            sdk_precedence="beats-file",
            one_of="token source",
            per_kind={
                # The SDK's variable says where the pod's token really is; it means
                # nothing for a token a person or a CI job brings.
                "platform-in-cluster": KindRule(
                    default=DEFAULT_TOKEN_PATH, sdk_env=SDK_TOKEN_PATH_ENV
                ),
                "platform-token": KindRule(
                    help="File holding a bearer token, re-read when it changes "
                    "(set at most one of token_command and token_path).",
                ),
            },
        ),
        FieldSpec(
            "token_command",
            "Command printing a bearer token or a Kubernetes ExecCredential, run without "
            "a shell, e.g. kubectl -n NS create token default-editor.",
            type=list,
            kinds=("platform-token",),
            metavar="COMMAND",
            one_of="token source",
        ),
        FieldSpec(
            "username", "Dex login, e.g. user@example.com.", kinds=("platform-dex",), required=True
        ),
        FieldSpec(
            "connector",
            "Dex connector id: local, ldap, ...",
            kinds=("platform-dex",),
            default="local",
        ),
        FieldSpec(
            "client_id",
            "OAuth client id the cluster admin registered in Dex (a public client).",
            kinds=("platform-oidc",),
            required=True,
        ),
        FieldSpec(
            "issuer",
            "OIDC issuer whose discovery document is read; the host's origin + /dex when unset.",
            kinds=("platform-oidc",),
            metavar="URL",
        ),
        FieldSpec(
            "scopes",
            "Scopes asked for at sign-in; offline_access brings the refresh token.",
            type=list,
            kinds=("platform-oidc",),
            default=list(DEFAULT_SCOPES),
            metavar="SCOPES",
        ),
        FieldSpec(
            "flow",
            "How a person signs in: device (a code to enter), browser (a redirect to this "
            "machine), or auto (device where the provider offers it).",
            kinds=("platform-oidc",),
            default="auto",
        ),
        FieldSpec(
            "redirect_uri",
            "Loopback redirect of the browser flow, as registered in Dex; a port of 0 or "
            "none picks a free one.",
            kinds=("platform-oidc",),
            default="http://127.0.0.1/callback",
            metavar="URL",
        ),
        FieldSpec(
            "refresh_margin",
            "Seconds before a token's expiry to get a new one.",
            type=float,
            kinds=_BEARER,
            default=60.0,
            metavar="SECONDS",
        ),
        FieldSpec(
            "password",
            "Dex password; in the OS keyring (`kfp-profiles secret set NAME`) or KFP_PASSWORD.",
            kinds=("platform-dex",),
            secret=True,
        ),
        FieldSpec(
            "token",
            "Bearer token; in the OS keyring (`kfp-profiles secret set NAME --token`) or "
            "KFP_TOKEN.",
            kinds=("platform-token",),
            secret=True,
        ),
        FieldSpec(
            "client_secret",
            "Secret of a confidential OIDC client; in the OS keyring "
            "(`kfp-profiles secret set NAME --client-secret`).",
            kinds=("platform-oidc",),
            secret=True,
        ),
    )
}

#: Keys refused in the file besides the secret rows: the spellings people try.
REFUSED_ALIASES = frozenset(
    {
        "passwd",
        "secret",
        "token",
        "client_secret",
        "refresh_token",
        "id_token",
        "access_token",
        "api_key",
        "cookie",
        "cookies",
    }
)


def fields_of(kind: str) -> Iterator[FieldSpec]:
    """The rows of ``kind``, its rules applied, in table order."""
    for spec in FIELDS.values():
        if spec.applies_to(kind):
            yield spec.for_kind(kind)


def alternatives_of(kind: str) -> list[tuple[str, ...]]:
    """The groups of alternative fields of ``kind`` (rows sharing ``one_of``), in table order."""
    groups: dict[str, list[str]] = {}
    for spec in fields_of(kind):
        if spec.one_of is not None:
            groups.setdefault(spec.one_of, []).append(spec.name)
    return [tuple(names) for names in groups.values() if len(names) > 1]


def spec_of(name: str, kind: str | None = None) -> FieldSpec | None:
    """The row of field ``name`` (as ``kind`` sees it, when given), or None."""
    spec = FIELDS.get(name)
    if spec is None or kind is None:
        return spec
    return spec.for_kind(kind) if spec.applies_to(kind) else None


def is_refused_in_file(key: str) -> bool:
    """True for a key that holds a secret: refused in the file, whatever the kind."""
    lowered = key.lower()
    spec = FIELDS.get(lowered)
    if spec is not None and spec.secret:
        return True
    return lowered in REFUSED_ALIASES or "password" in lowered or "secret" in lowered


def mask(name: str, value: Any) -> Any:
    """``value`` of field ``name`` as it may be shown anywhere (unknown names unchanged)."""
    spec = FIELDS.get(name)
    return spec.mask(value) if spec is not None else value


def column(name: str, kind: str | None = None) -> Any:
    """The pydantic ``Field`` of row ``name`` for a kind model: default and description.

    Constraints that are part of the type (a port's range) stay in the model's
    annotation; everything else comes from the row.
    """
    from pydantic import Field

    spec = FIELDS[name] if kind is None else FIELDS[name].for_kind(kind)
    if spec.required:
        return Field(description=spec.help)
    return Field(default=spec.default, description=spec.help)


def markdown_table() -> str:
    """The fields as a Markdown table, for ``docs/fields.md`` (a test keeps it current)."""
    lines = [
        "| field | kinds | type | default | variable | SDK variable | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in FIELDS.values():
        kinds = ", ".join(f"`{k}`" for k in spec.kinds) if spec.kinds else "all"
        defaults = [_cell(spec)] + [
            f"{_cell(spec.for_kind(k))} ({k})"
            for k in spec.per_kind
            if spec.for_kind(k).required or spec.for_kind(k).default != spec.default
        ]
        sdk = [f"`{spec.sdk_env}`"] if spec.sdk_env else []
        sdk += [
            f"`{rule.sdk_env}` ({kind})"
            for kind, rule in spec.per_kind.items()
            if rule.sdk_env is not INHERIT and rule.sdk_env
        ]
        notes = [
            *(["secret: keyring or variable, never the file"] if spec.secret else []),
            *(["credentials masked"] if spec.url_credentials else []),
            *(["a path"] if spec.path else []),
            *(
                ["SDK variable beats the file"]
                if sdk and spec.sdk_precedence == "beats-file"
                else []
            ),
            spec.help,
        ]
        lines.append(
            f"| `{spec.name}` | {kinds} | {spec.type.__name__} | {'; '.join(defaults)} "
            f"| `{spec.env}` | {'; '.join(sdk) or '-'} | {'; '.join(notes)} |"
        )
    return "\n".join(lines) + "\n"


def _cell(spec: FieldSpec) -> str:
    if spec.required:
        return "required"
    if spec.default is None:
        return "-"
    if isinstance(spec.default, bool):
        return f"`{str(spec.default).lower()}`"
    return f"`{spec.default}`"
