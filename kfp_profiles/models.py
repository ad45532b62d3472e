"""One pydantic model per kind of profile, and the checks that explain bad input.

The models are plain ``BaseModel``s (not settings) so that ``kfp-profiles list``
can validate every profile of a large file quickly; the environment layer is
added by :mod:`kfp_profiles.resolution` for the one profile in use. Defaults,
requiredness and descriptions come from the field table (kfp_profiles/fields.py);
a model adds the Python type, type-bound constraints and validators, and
:func:`register_kind` checks that the two agree.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .constants import PASSWORD_ENV
from .errors import ProfileValidationError, SecretInFileError, did_you_mean
from .fields import alternatives_of, column, fields_of, is_refused_in_file, mask, spec_of

Kind = Literal[
    "standalone-in-cluster",
    "standalone-port-forward",
    "platform-in-cluster",
    "platform-dex",
    "platform-token",
    "platform-oidc",
]


def check_url(value: str | None) -> str | None:
    """``value`` when it is an http(s) URL with a host (or None); else ValueError."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # validate_profile's message names the field and shows the value.
        raise ValueError(
            "it must be an http:// or https:// URL with a host, "
            "like https://kubeflow.example.com/pipeline"
        )
    return value


class ProfileBase(BaseModel):
    """Fields every kind has; their defaults and descriptions come from the field table."""

    # Each kind builds its validator on first use, not at import: the base is never
    # validated itself, and a file that uses one kind pays for one.
    # Strict: the file's values are typed TOML (`verify_tls = "no"` or `local_port = "3000"`
    # are mistakes to point out, not strings to guess at); variables, which are text,
    # are parsed by the field table's documented rules before they get here.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, strict=True)

    #: How the kind authenticates: the ``module:Class`` of its credentials, imported
    #: only when a client is built (see kfp_profiles/auth/__init__.py).
    credentials: ClassVar[str] = "kfp_profiles.auth:NoCredentials"
    #: True for a kind whose code runs in a pod of the cluster (`manifest` ships it there).
    in_cluster: ClassVar[bool] = False

    #: Narrowed to one literal by each kind; declared here so code can read it on any profile.
    kind: str = Field(description="Kind of profile.")
    host: str | None = column("host")
    namespace: str | None = column("namespace")
    ui_host: str | None = column("ui_host")
    verify_tls: bool = column("verify_tls")
    ca_bundle: str | None = column("ca_bundle")
    proxy: str | None = column("proxy")
    timeout: Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)] = column("timeout")
    description: str | None = column("description")

    def default_host(self) -> str:
        """The kind's host when the profile sets none (the KFP guide's defaults)."""
        raise NotImplementedError

    @field_validator("host", "ui_host", "proxy")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return check_url(value)

    def values_for(self, settings: type[Any]) -> dict[str, Any]:
        """This profile's values of the fields a dataclass of settings shares with it.

        The login's and the port-forward's settings take a profile's fields by name,
        so a field they gain is filled here with nothing else to change.
        """
        shared = {field.name for field in dataclasses.fields(settings)}
        return {name: getattr(self, name) for name in type(self).model_fields if name in shared}

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A proxy URL may carry a password: reprs (and so logs) show it masked.
        for name, value in super().__repr_args__():
            yield name, mask(name, value) if name else value


class StandaloneInCluster(ProfileBase):
    """Code in a pod, talking to a standalone KFP."""

    in_cluster: ClassVar[bool] = True

    kind: Literal["standalone-in-cluster"] = Field(description="Kind of profile.")
    k8s_namespace: str = column("k8s_namespace")

    def default_host(self) -> str:
        # Resolves from any namespace; the guide's http://ml-pipeline-ui:80 is the same
        # service seen from its own.
        return f"http://ml-pipeline-ui.{self.k8s_namespace}"


class StandalonePortForward(ProfileBase):
    """Code outside the cluster, reaching a standalone KFP through kubectl port-forward."""

    kind: Literal["standalone-port-forward"] = Field(description="Kind of profile.")
    k8s_namespace: str = column("k8s_namespace")
    service: str = column("service")
    local_port: Annotated[int, Field(ge=0, le=65535)] = column("local_port")
    remote_port: Annotated[int, Field(ge=1, le=65535)] = column("remote_port")
    kube_context: str | None = column("kube_context")
    kubectl: str = column("kubectl")
    manage: bool = column("manage")

    def default_host(self) -> str:
        return f"http://localhost:{self.local_port}"


class PlatformInCluster(ProfileBase):
    """Code in a pod of a multi-user Kubeflow Platform, with a projected token."""

    in_cluster: ClassVar[bool] = True

    credentials: ClassVar[str] = "kfp_profiles.auth.token:TokenFileCredentials"

    kind: Literal["platform-in-cluster"] = Field(description="Kind of profile.")
    token_path: str = column("token_path", "platform-in-cluster")

    def default_host(self) -> str:
        return "http://ml-pipeline-ui.kubeflow.svc.cluster.local"


class GatewayProfile(ProfileBase):
    """Fields and rules of the kinds that reach a Platform's Istio gateway from anywhere."""

    host: str  # required here, optional elsewhere (each kind's column says so)
    namespace: str

    def default_host(self) -> str:
        return self.host  # required: there is no default gateway

    # Here, not at resolution, so that `list`, `show` and get_client show one URL.
    @field_validator("host")
    @classmethod
    def _api_url(cls, value: str) -> str:
        """A host given with no path is the gateway: the KFP API is at /pipeline."""
        parts = urlsplit(value)
        if parts.path in ("", "/"):
            return urlunsplit((parts.scheme, parts.netloc, "/pipeline", parts.query, ""))
        return value.rstrip("/")


class PlatformDex(GatewayProfile):
    """Code outside the cluster, logging in to a Kubeflow Platform through Dex."""

    credentials: ClassVar[str] = "kfp_profiles.auth.dex:DexAuth"

    kind: Literal["platform-dex"] = Field(description="Kind of profile.")
    host: str = column("host", "platform-dex")
    namespace: str = column("namespace", "platform-dex")
    username: str = column("username")
    connector: str = column("connector")


class PlatformToken(GatewayProfile):
    """Anywhere (CI, services, laptops): a bearer token at a Platform's gateway (1.9+)."""

    credentials: ClassVar[str] = "kfp_profiles.auth.bearer:BearerCredentials"

    kind: Literal["platform-token"] = Field(description="Kind of profile.")
    host: str = column("host", "platform-token")
    namespace: str = column("namespace", "platform-token")
    token_path: str | None = column("token_path", "platform-token")
    token_command: Annotated[list[str], Field(min_length=1)] | None = column("token_command")
    refresh_margin: Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False)] = column(
        "refresh_margin"
    )


class PlatformOidc(GatewayProfile):
    """A person signing in through the cluster's identity provider (single sign-on, MFA)."""

    credentials: ClassVar[str] = "kfp_profiles.auth.oidc:OidcCredentials"

    kind: Literal["platform-oidc"] = Field(description="Kind of profile.")
    host: str = column("host", "platform-oidc")
    namespace: str = column("namespace", "platform-oidc")
    client_id: Annotated[str, Field(min_length=1)] = column("client_id")
    issuer: str | None = column("issuer")
    scopes: list[str] = column("scopes")
    flow: Literal["auto", "device", "browser"] = column("flow")
    redirect_uri: str = column("redirect_uri")
    refresh_margin: Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False)] = column(
        "refresh_margin"
    )

    @field_validator("issuer", "redirect_uri")
    @classmethod
    def _oidc_urls(cls, value: str | None) -> str | None:
        return check_url(value)


#: A validated profile of any kind: what ``ResolvedProfile.profile`` holds.
Profile = (
    StandaloneInCluster
    | StandalonePortForward
    | PlatformInCluster
    | PlatformDex
    | PlatformToken
    | PlatformOidc
)

#: Kind name -> model, in the order kinds are listed; :func:`register_kind` adds to it.
MODELS: dict[str, type[ProfileBase]] = {}


def kind_of(model: type[ProfileBase]) -> str:
    """The kind a model declares with ``kind: Literal[...]``."""
    (name,) = typing.get_args(model.model_fields["kind"].annotation)
    return str(name)


def register_kind(model: type[ProfileBase]) -> type[ProfileBase]:
    """Make ``model`` a kind, after checking it against the field table.

    A model must declare exactly the table's (non-secret) rows for its kind, with the
    row's type, default and description (``column()`` gives the last two): a field
    added to the table but not to the model, or the other way round, fails at import.
    """
    kind = kind_of(model)
    declared = {name: info for name, info in model.model_fields.items() if name != "kind"}
    rows = {spec.name: spec for spec in fields_of(kind) if spec.in_file}
    if declared.keys() != rows.keys():
        raise TypeError(
            f"{model.__name__} (kind {kind!r}) does not match the field table in "
            f"kfp_profiles/fields.py: only in the model {sorted(declared.keys() - rows.keys())}, "
            f"only in the table {sorted(rows.keys() - declared.keys())}."
        )
    for name, spec in rows.items():
        info = declared[name]
        if base_type(info.annotation) is not spec.type:
            raise TypeError(f"{model.__name__}.{name}: the table says {spec.type.__name__}.")
        if info.description != spec.help or info.is_required() != spec.required:
            raise TypeError(f"{model.__name__}.{name}: use column({name!r}, {kind!r}).")
    MODELS[kind] = model
    return model


def base_type(annotation: Any) -> Any:
    """``int`` for ``int``, ``int | None`` and ``Annotated[int, ...]``; ``str`` for a Literal."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return base_type(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        (first, *_) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return base_type(first)
    if origin is typing.Literal:
        return str
    if origin in (list, tuple):
        return origin
    return annotation


for _model in (
    StandaloneInCluster,
    StandalonePortForward,
    PlatformInCluster,
    PlatformDex,
    PlatformToken,
    PlatformOidc,
):
    register_kind(_model)


def check_is_table(name: str, data: Any, source: str) -> None:
    """Refuse a profile written as a value (``dev = "x"``) instead of a table."""
    if not isinstance(data, Mapping):
        raise ProfileValidationError(
            profile=name,
            source=source,
            problem=f"must be a table ([profiles.{name}]), not a {type(data).__name__}.",
            field=None,
        )


def validate_profile(
    name: str, data: Mapping[str, Any], source: str, texts: Mapping[str, str] | None = None
) -> ProfileBase:
    """Validate one profile's table, raising one sentence that names the field and the fix.

    ``source`` names where the values came from (usually the file path) for the message;
    ``texts`` are values as the user wrote them (a variable's text before parsing), shown
    in the message instead of what they were parsed into.
    """

    def fail(problem: str, field: str | None = None) -> ProfileValidationError:
        return ProfileValidationError(profile=name, source=source, problem=problem, field=field)

    check_is_table(name, data, source)
    for key in data:
        if is_refused_in_file(key):
            row = spec_of(key)
            variable = row.env if row is not None and row.secret else PASSWORD_ENV
            raise SecretInFileError(profile=name, source=source, field=key, variable=variable)
    kind = data.get("kind")
    if kind is None:
        raise fail(f"`kind` is missing; set it to one of {', '.join(MODELS)}.", "kind")
    if not isinstance(kind, str) or kind not in MODELS:  # a list or a table is no kind
        raise fail(
            f"unknown kind {kind!r}{did_you_mean(str(kind), MODELS)}; "
            f"use one of {', '.join(MODELS)}.",
            "kind",
        )
    model = MODELS[kind]
    allowed = model.model_fields
    for key in data:
        if key not in allowed:
            raise fail(
                f"unknown field `{key}` for kind '{kind}'{did_you_mean(key, allowed)}; "
                f"valid fields are {', '.join(sorted(allowed))}.",
                key,
            )
    for group in alternatives_of(kind):
        given = [name for name in group if data.get(name) is not None]
        if len(given) > 1:
            raise fail(f"{' and '.join(f'`{n}`' for n in given)} are both set; keep one.", given[1])
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
    # Raised here, not in the except block: pydantic's error repeats the bad value (a
    # proxy URL with its password, say), and must not ride along as the context.
    field = ".".join(str(part) for part in error["loc"]) or "kind"
    if error["type"] == "missing":
        problem = f"`{field}` is required for kind '{kind}': {_field_doc(kind, field)}"
    else:
        problem = _invalid_value(kind, field, error, (texts or {}).get(field))
    raise fail(problem.replace("..", "."), field)


def _field_doc(kind: str, field: str) -> str:
    spec = spec_of(field, kind)
    text = spec.help if spec is not None else "add it."
    return text if text.endswith(".") else text + "."


def _invalid_value(kind: str, field: str, error: Any, text: str | None) -> str:
    """`` `local_port` = 99999 is invalid: it must be ... (the field's description).``

    The value is safe to show: a secret-named key was refused before validation.
    """
    if error["type"].startswith("bool_"):
        rule = "it must be true or false"
    elif error["type"] == "list_type":
        rule = (
            "it must be a list: a TOML array of strings in the file, words split as a "
            "shell would (every quote closed) in a variable or `set`"
        )
    else:
        # pydantic's "Input should be a valid integer, unable to parse string as an integer"
        rule = error["msg"].removeprefix("Value error, ").split(", unable to ")[0]
        rule = rule.replace("Input should be", "it must be", 1)
    value = mask(
        field, error["input"] if text is None else text
    )  # a proxy URL may carry a password
    shown = f" = {value!r}" if error["loc"] else ""
    doc = _field_doc(kind, field).removesuffix(".")
    return f"`{field}`{shown} is invalid: {rule} ({doc})."
