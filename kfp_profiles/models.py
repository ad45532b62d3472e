"""One pydantic model per kind of profile, and the checks that explain bad input.

The models are plain ``BaseModel``s (not settings) so that ``kfp-profiles list``
can validate every profile of a large file quickly; the environment layer is
added by :mod:`kfp_profiles.resolution` for the one profile in use. The field
descriptions here are the single source of the JSON Schema in ``schemas/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ProfileValidationError, SecretInFileError, did_you_mean

Kind = Literal[
    "standalone-in-cluster",
    "standalone-port-forward",
    "platform-in-cluster",
    "platform-dex",
]

#: Where the KFP guide mounts the projected ServiceAccount token.
DEFAULT_TOKEN_PATH = "/var/run/secrets/kubeflow/pipelines/token"
#: The pod's own namespace, written by Kubernetes into every pod.
POD_NAMESPACE_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

#: Keys that hold secrets: refused in the file, whatever the kind.
SECRET_KEYS = frozenset(
    {"password", "passwd", "secret", "token", "client_secret", "api_key", "cookie", "cookies"}
)


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
    """Fields every kind has."""

    # Each kind builds its validator on first use, not at import: the base is never
    # validated itself, and a file that uses one kind pays for one.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    #: Narrowed to one literal by each kind; declared here so code can read it on any profile.
    kind: str = Field(description="Kind of profile.")
    host: str | None = Field(
        default=None,
        description="URL of the KFP API; wins over the kind's default.",
    )
    namespace: str | None = Field(
        default=None,
        description="Kubeflow profile namespace sent on namespaced calls (platform kinds).",
    )
    ui_host: str | None = Field(
        default=None, description="URL of the KFP UI, for links the SDK prints."
    )
    verify_tls: bool = Field(default=True, description="Check the server's TLS certificate.")
    ca_bundle: str | None = Field(
        default=None,
        description="PEM file of CAs to trust; `~` and $VARS expand, relative to this file.",
    )
    proxy: str | None = Field(
        default=None, description="HTTP(S) proxy URL for the login and the API calls."
    )
    timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds bounding the connect and the read of every request.",
    )
    description: str | None = Field(default=None, description="Free text shown by `list`.")

    def default_host(self) -> str:
        """The kind's host when the profile sets none (the KFP guide's defaults)."""
        raise NotImplementedError

    @field_validator("host", "ui_host", "proxy")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return check_url(value)


class StandaloneInCluster(ProfileBase):
    """Code in a pod, talking to a standalone KFP."""

    kind: Literal["standalone-in-cluster"] = Field(description="Kind of profile.")
    k8s_namespace: str = Field(default="kubeflow", description="Namespace where KFP runs.")

    def default_host(self) -> str:
        # Resolves from any namespace; the guide's http://ml-pipeline-ui:80 is the same
        # service seen from its own.
        return f"http://ml-pipeline-ui.{self.k8s_namespace}"


class StandalonePortForward(ProfileBase):
    """Code outside the cluster, reaching a standalone KFP through kubectl port-forward."""

    kind: Literal["standalone-port-forward"] = Field(description="Kind of profile.")
    k8s_namespace: str = Field(default="kubeflow", description="Namespace where KFP runs.")
    service: str = Field(default="ml-pipeline-ui", description="Service to forward to.")
    local_port: int = Field(
        default=3000, ge=0, le=65535, description="Local port; 0 lets kubectl pick one."
    )
    remote_port: int = Field(default=80, ge=1, le=65535, description="Port of the service.")
    kube_context: str | None = Field(
        default=None, description="kubectl context; kubectl's current context when unset."
    )
    kubectl: str = Field(default="kubectl", description="kubectl executable (name or path).")
    manage: bool = Field(
        default=True,
        description="Start the forward when the local port does not answer as KFP.",
    )

    def default_host(self) -> str:
        return f"http://localhost:{self.local_port}"


class PlatformInCluster(ProfileBase):
    """Code in a pod of a multi-user Kubeflow Platform, with a projected token."""

    kind: Literal["platform-in-cluster"] = Field(description="Kind of profile.")
    token_path: str = Field(
        default=DEFAULT_TOKEN_PATH,
        description="Projected ServiceAccount token (audience pipelines.kubeflow.org).",
    )

    def default_host(self) -> str:
        return "http://ml-pipeline-ui.kubeflow.svc.cluster.local"


class PlatformDex(ProfileBase):
    """Code outside the cluster, logging in to a Kubeflow Platform through Dex."""

    kind: Literal["platform-dex"] = Field(description="Kind of profile.")
    host: str = Field(  # required here, optional elsewhere
        description="KFP API URL at the Istio gateway, e.g. https://kubeflow.example.com/pipeline.",
    )
    namespace: str = Field(
        description="Your Kubeflow profile namespace, e.g. kubeflow-user-example-com.",
    )
    username: str = Field(description="Dex login, e.g. user@example.com.")
    connector: str = Field(default="local", description="Dex connector id: local, ldap, ...")

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


Profile = Annotated[
    StandaloneInCluster | StandalonePortForward | PlatformInCluster | PlatformDex,
    Field(discriminator="kind"),
]

MODELS: dict[str, type[ProfileBase]] = {
    "standalone-in-cluster": StandaloneInCluster,
    "standalone-port-forward": StandalonePortForward,
    "platform-in-cluster": PlatformInCluster,
    "platform-dex": PlatformDex,
}


class ProfilesFile(BaseModel):
    """The whole file: only used to generate the JSON Schema."""

    # Built on first use (the schema), not at import: `list` never needs it.
    model_config = ConfigDict(extra="forbid", title="kfp-profiles file", defer_build=True)

    version: Literal[1] | None = Field(default=None, description="File format version.")
    default: str | None = Field(
        default=None, description="Profile used when no name is given and KFP_PROFILE is unset."
    )
    profiles: dict[str, Profile] = Field(default_factory=dict, description="Profiles by name.")


def check_is_table(name: str, data: Any, source: str) -> None:
    """Refuse a profile written as a value (``dev = "x"``) instead of a table."""
    if not isinstance(data, Mapping):
        raise ProfileValidationError(
            profile=name,
            source=source,
            problem=f"must be a table ([profiles.{name}]), not a {type(data).__name__}.",
            field=None,
        )


def validate_profile(name: str, data: Mapping[str, Any], source: str) -> ProfileBase:
    """Validate one profile's table, raising one sentence that names the field and the fix.

    ``source`` names where the values came from (usually the file path) for the message.
    """

    def fail(problem: str, field: str | None = None) -> ProfileValidationError:
        return ProfileValidationError(profile=name, source=source, problem=problem, field=field)

    check_is_table(name, data, source)
    for key in data:
        lowered = key.lower()
        if lowered in SECRET_KEYS or "password" in lowered or "secret" in lowered:
            raise SecretInFileError(profile=name, source=source, field=key)
    kind = data.get("kind")
    if kind is None:
        raise fail(f"`kind` is missing; set it to one of {', '.join(MODELS)}.", "kind")
    if kind not in MODELS:
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
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "kind"
        if error["type"] == "missing":
            problem = f"`{field}` is required for kind '{kind}': {_field_doc(model, field)}"
        else:
            problem = _invalid_value(model, field, error)
        raise fail(problem.replace("..", "."), field) from None


def _field_doc(model: type[ProfileBase], field: str) -> str:
    info = model.model_fields.get(field)
    text = info.description if info and info.description else "add it."
    return text if text.endswith(".") else text + "."


def _invalid_value(model: type[ProfileBase], field: str, error: Any) -> str:
    """`` `local_port` = 99999 is invalid: it must be ... (the field's description).``

    The value is safe to show: a secret-named key was refused before validation.
    """
    if error["type"].startswith("bool_"):
        rule = "it must be true or false"
    else:
        # pydantic's "Input should be a valid integer, unable to parse string as an integer"
        rule = error["msg"].removeprefix("Value error, ").split(", unable to ")[0]
        rule = rule.replace("Input should be", "it must be", 1)
    value = error["input"]
    if isinstance(value, str) and "@" in value:
        # A proxy URL may carry a password (http://user:pass@proxy): never show it.
        scheme, sep, rest = value.rpartition("://")
        value = scheme + sep + "***@" + rest.rpartition("@")[2]
    shown = f" = {value!r}" if error["loc"] else ""
    doc = _field_doc(model, field).removesuffix(".")
    return f"`{field}`{shown} is invalid: {rule} ({doc})."


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the file, for editors (Taplo, Even Better TOML) and ``schemas/``."""
    from pydantic.json_schema import GenerateJsonSchema

    class TomlSchema(GenerateJsonSchema):
        # TOML has no null: an optional field is simply left out.
        def nullable_schema(self, schema: Any) -> Any:
            return self.generate_inner(schema["schema"])

        def default_schema(self, schema: Any) -> Any:
            generated = super().default_schema(schema)
            if generated.get("default", 0) is None:
                generated.pop("default")
            return generated

    schema = ProfilesFile.model_json_schema(schema_generator=TomlSchema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "Connection profiles for the Kubeflow Pipelines SDK (kfp-profiles). "
        "Secrets never go in this file: use `kfp-profiles secret set NAME`."
    )
    return schema
