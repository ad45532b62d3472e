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

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .constants import (
    DEFAULT_TOKEN_PATH,
    FIELD_ENV_PREFIX,
    SDK_ENDPOINT_ENV,
    SDK_TOKEN_PATH_ENV,
    SDK_UI_ENDPOINT_ENV,
)

#: What a secret looks like wherever it is shown.
MASK = "********"

#: How an SDK variable ranks against the file: ``fills`` only a value the profile
#: leaves unset (so a leftover variable never sends credentials elsewhere);
#: ``beats-file`` wins over the file, below ``KFP_<FIELD>``.
SdkPrecedence = Literal["fills", "beats-file"]


class _Inherit:
    """Marks a :class:`KindRule` attribute that keeps the row's own value."""

    def __repr__(self) -> str:
        return "INHERIT"


INHERIT: Any = _Inherit()


@dataclass(frozen=True)
class KindRule:
    """How one kind departs from a row: its default, whether required, its help, its SDK
    variable. Attributes left as INHERIT keep the row's."""

    default: Any = INHERIT
    required: Any = INHERIT
    help: Any = INHERIT
    sdk_env: Any = INHERIT


@dataclass(frozen=True)
class FieldSpec:
    """One field of a profile, described once."""

    name: str
    #: One sentence, for the schema, `add --help`, prompts and validation errors.
    help: str
    #: bool, int, float or str: how the CLI and the environment parse it.
    type: type = str
    #: The kinds that have it; None for every kind.
    kinds: tuple[str, ...] | None = None
    default: Any = None
    required: bool = False
    #: Masked everywhere; a secret lives in the keyring (or a variable), never in the file.
    secret: bool = False
    #: A URL whose credentials (user info) are masked everywhere (a proxy's).
    url_credentials: bool = False
    #: A filesystem path: ``~`` and $VARS expand; relative to the file that sets it.
    path: bool = False
    metavar: str | None = None
    #: The SDK's own variable for this field, and how it ranks against the file.
    sdk_env: str | None = None
    sdk_precedence: SdkPrecedence = "fills"
    per_kind: Mapping[str, KindRule] = field(default_factory=dict)

    @property
    def env(self) -> str:
        """The variable that overrides it: ``KFP_<FIELD>``."""
        return FIELD_ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        """The CLI option that sets it."""
        return "--" + self.name.replace("_", "-")

    @property
    def in_file(self) -> bool:
        """True for a field the profiles file holds (a secret never is)."""
        return not self.secret

    def applies_to(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def for_kind(self, kind: str) -> FieldSpec:
        """This row as ``kind`` sees it, its :class:`KindRule` applied."""
        rule = self.per_kind.get(kind)
        if rule is None:
            return self
        changes = {
            name: value
            for name in ("default", "required", "help", "sdk_env")
            if (value := getattr(rule, name)) is not INHERIT
        }
        return replace(self, per_kind={}, **changes)

    def parse_text(self, text: str) -> Any:
        """A variable's text as this field's type, by the documented rules (docs/fields.md):
        booleans ``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off`` (any case);
        numbers in decimal. Text that follows no rule is returned as it is, for the model
        to refuse with the field's own message."""
        cleaned = text.strip()
        if self.type is bool:
            return _BOOLEAN_WORDS.get(cleaned.lower(), text)
        if self.type is int and _INTEGER.fullmatch(cleaned):
            return int(cleaned)
        if self.type is float and _DECIMAL.fullmatch(cleaned):
            return float(cleaned)
        return text

    def mask(self, value: Any) -> Any:
        """``value`` as it may be shown: a secret as ``********``, a URL without credentials."""
        if value is None:
            return None
        if self.secret:
            return MASK
        if self.url_credentials and isinstance(value, str):
            return mask_url_credentials(value)
        return value


_BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "1", "yes", "on"), True),
    **dict.fromkeys(("false", "0", "no", "off"), False),
}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def mask_url_credentials(url: str) -> str:
    """``http://user:pass@proxy:3128`` as ``http://***@proxy:3128``.

    The user name goes too: with some proxies it is a token in its own right.
    """
    scheme, separator, rest = url.rpartition("://")
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}{separator}***@{authority.rpartition('@')[2]}{slash}{path}"


_STANDALONE = ("standalone-in-cluster", "standalone-port-forward")
_FORWARD = ("standalone-port-forward",)

#: Every field, in the order `add` asks for them and `show` prints them.
FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec(
            "host",
            "URL of the KFP API; wins over the kind's default.",
            metavar="URL",
            sdk_env=SDK_ENDPOINT_ENV,
            per_kind={
                "platform-dex": KindRule(
                    required=True,
                    help="KFP API URL at the Istio gateway, "
                    "e.g. https://kubeflow.example.com/pipeline.",
                ),
            },
        ),
        FieldSpec(
            "namespace",
            "Kubeflow profile namespace sent on namespaced calls (platform kinds).",
            per_kind={
                "platform-dex": KindRule(
                    required=True,
                    help="Your Kubeflow profile namespace, e.g. kubeflow-user-example-com.",
                ),
            },
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
            kinds=("platform-in-cluster",),
            path=True,
            metavar="PATH",
            sdk_precedence="beats-file",
            per_kind={
                # The SDK's variable says where the pod's token really is; it means
                # nothing for a token a person or a CI job brings.
                "platform-in-cluster": KindRule(
                    default=DEFAULT_TOKEN_PATH, sdk_env=SDK_TOKEN_PATH_ENV
                ),
            },
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
            "password",
            "Dex password; in the OS keyring (`kfp-profiles secret set NAME`) or KFP_PASSWORD.",
            kinds=("platform-dex",),
            secret=True,
        ),
    )
}

#: Keys refused in the file besides the secret rows: the spellings people try.
REFUSED_ALIASES = frozenset(
    {"passwd", "secret", "token", "client_secret", "api_key", "cookie", "cookies"}
)


def fields_of(kind: str) -> Iterator[FieldSpec]:
    """The rows of ``kind``, its rules applied, in table order."""
    for spec in FIELDS.values():
        if spec.applies_to(kind):
            yield spec.for_kind(kind)


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


def secret_names() -> frozenset[str]:
    return frozenset(spec.name for spec in FIELDS.values() if spec.secret)


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
