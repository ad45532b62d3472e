"""Pick the profile in use and layer its values, recording where each came from.

Per field, highest first: keyword argument > ``KFP_<FIELD>`` > the file > the
SDK's own variable (``KF_PIPELINES_ENDPOINT``, ``KF_PIPELINES_UI_ENDPOINT``, which
only fill a host the profile does not set) > the kind's default. The token path
is the exception: argument > ``KFP_TOKEN_PATH`` > ``KF_PIPELINES_SA_TOKEN_PATH`` >
file > default, because the SDK variable says where the pod's token really is.

pydantic-settings supplies the environment layer, for the selected profile only
(see style.md: one settings model over a dict of profiles mixes kinds).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .errors import (
    KindChangeError,
    NoProfileSelectedError,
    ProfileValidationError,
    did_you_mean,
)
from .files import ProfilesConfig, load_config
from .models import MODELS, POD_NAMESPACE_PATH, ProfileBase, check_is_table, validate_profile

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

PROFILE_ENV = "KFP_PROFILE"
PASSWORD_ENV = "KFP_PASSWORD"
TOKEN_PATH_SDK_ENV = "KF_PIPELINES_SA_TOKEN_PATH"
ENDPOINT_SDK_ENV = "KF_PIPELINES_ENDPOINT"
UI_ENDPOINT_SDK_ENV = "KF_PIPELINES_UI_ENDPOINT"

#: Fields holding a filesystem path: `~` and $VARS expand, and a relative path
#: from the file is relative to the file's folder.
PATH_FIELDS = ("ca_bundle", "token_path")


def env_name(field: str) -> str:
    """The variable that overrides a field: ``KFP_<FIELD>``."""
    return f"KFP_{field.upper()}"


@dataclass(frozen=True, repr=False)
class ResolvedProfile:
    """A profile ready to use: validated values, and where each one came from."""

    name: str
    profile: ProfileBase
    #: field -> "arg" | "env:KFP_HOST" | "file:/path" | "default" (and "keyring" for secrets)
    sources: Mapping[str, str]
    #: The file that defined the profile.
    file: Path | None
    #: Given as an argument or through KFP_PASSWORD; the keyring is asked only at login.
    password: SecretStr | None = None

    @property
    def kind(self) -> str:
        return self.profile.kind

    @property
    def host(self) -> str:
        """The KFP API URL the client talks to (always set after resolution)."""
        assert self.profile.host is not None
        return self.profile.host

    @property
    def forward_is_managed(self) -> bool:
        """True when kfp-profiles starts this profile's ``kubectl port-forward`` itself.

        A host set by hand (or KFP_HOST) means someone else serves it: no forward.
        """
        return (
            self.kind == "standalone-port-forward"
            and bool(getattr(self.profile, "manage", False))
            and self.sources.get("host", "default") == "default"
        )

    def values(self) -> dict[str, Any]:
        """Every field's value; secrets are never part of it."""
        return self.profile.model_dump()

    def describe(self) -> list[tuple[str, Any, str]]:
        """(field, value, source) rows, secrets masked, for `show --sources` and logs."""
        rows = [
            (field, value, self.sources.get(field, "default"))
            for field, value in self.values().items()
        ]
        if "password" in self.sources:
            rows.append(("password", "********", self.sources["password"]))
        return rows

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={v!r}" for f, v, _ in self.describe() if v is not None)
        return f"ResolvedProfile(name={self.name!r}, {shown})"


# --- the environment layer (pydantic-settings) ----------------------------------------------


@functools.cache
def _global_settings_class() -> type[BaseSettings]:
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class KfpEnvironment(BaseSettings):
        """Variables that are not fields of one profile."""

        model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True)

        kfp_profile: str | None = None
        kfp_kind: str | None = None
        kfp_password: SecretStr | None = None
        kf_pipelines_sa_token_path: str | None = None
        kf_pipelines_endpoint: str | None = None
        kf_pipelines_ui_endpoint: str | None = None

    return KfpEnvironment


@functools.cache
def _field_settings_class(kind: str) -> type[BaseSettings]:
    """``KFP_<FIELD>`` for every field of one kind, read as text.

    Text on purpose: the kind's own model then validates env and file values with
    the same rules and the same messages.
    """
    from pydantic import create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    fields: dict[str, Any] = {
        name: (str | None, None) for name in MODELS[kind].model_fields if name != "kind"
    }

    class FieldEnvironment(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="KFP_", extra="ignore", env_ignore_empty=True)

    model: type[BaseSettings] = create_model(
        f"KfpFieldEnvironment_{kind.replace('-', '_')}", __base__=FieldEnvironment, **fields
    )
    return model


def _read_env(kind: str) -> dict[str, str]:
    settings = _field_settings_class(kind)()
    return {k: v for k, v in settings.model_dump().items() if v is not None}


# --- selection ------------------------------------------------------------------------------


def select_name(config: ProfilesConfig, name: str | None) -> tuple[str, str]:
    """The profile name in use and why: argument, KFP_PROFILE, or the file's default."""
    if name:
        return name, "arg"
    from_env = os.environ.get(PROFILE_ENV)
    if from_env:
        return from_env, f"env:{PROFILE_ENV}"
    if config.default:
        return config.default, f"file:{config.default_file}"
    config.require_files()
    names = sorted(config.profiles)
    choices = f" (profiles: {', '.join(names)})" if names else ""
    raise NoProfileSelectedError(where=config.describe_files(), choices=choices)


# --- layering -------------------------------------------------------------------------------


def _expand_path(value: str, relative_to: Path | None) -> str:
    expanded = os.path.expanduser(os.path.expandvars(value))
    if relative_to is not None and not os.path.isabs(expanded):
        expanded = str(relative_to / expanded)
    return expanded


def _pod_namespace() -> str | None:
    try:
        return Path(POD_NAMESPACE_PATH).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def layer_values(
    name: str,
    table: Mapping[str, Any],
    file: Path | None,
    overrides: Mapping[str, Any],
    environment: Any,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge argument, environment, file and SDK variables into one table, with sources.

    ``environment`` is the read of the variables that are not profile fields.
    """
    kind = table.get("kind")
    file_source = f"file:{file}" if file else "file"
    values: dict[str, Any] = dict(table)
    sources = {key: file_source for key in table}
    if kind not in MODELS:  # let the model explain the bad kind
        return values, sources

    env_kind = getattr(environment, "kfp_kind", None)
    if env_kind and env_kind != kind:
        raise KindChangeError(profile=name, kind=kind, env_kind=env_kind)

    def put(field: str, value: Any, source: str) -> None:
        values[field] = value
        sources[field] = source

    # The SDK's variables only fill what the profile leaves open ...
    fields = MODELS[kind].model_fields
    for field, variable in (("host", ENDPOINT_SDK_ENV), ("ui_host", UI_ENDPOINT_SDK_ENV)):
        sdk_value = getattr(environment, variable.lower(), None)
        if field in fields and field not in values and sdk_value:
            put(field, sdk_value, f"env:{variable}")
    # ... except the token path, which says where the pod's token really is.
    sdk_token_path = getattr(environment, TOKEN_PATH_SDK_ENV.lower(), None)
    if "token_path" in fields and sdk_token_path:
        put("token_path", sdk_token_path, f"env:{TOKEN_PATH_SDK_ENV}")
    for field, value in _read_env(kind).items():
        put(field, value, f"env:{env_name(field)}")
    for field, value in overrides.items():
        if value is not None:
            put(field, value, "arg")

    for field in PATH_FIELDS:
        if isinstance(values.get(field), str):
            base = file.parent if sources[field] == file_source and file else None
            values[field] = _expand_path(values[field], base)
    return values, sources


def _explain_source(
    error: ProfileValidationError, sources: Mapping[str, str], name: str
) -> ProfileValidationError:
    """Point a validation error at the variable or argument that set the bad value."""
    if "problem" not in error.fields:  # a SecretInFileError: its own sentence, about the file
        return error
    source = sources.get(error.fields.get("field") or "", "")
    if source.startswith("env:"):
        where = f"environment variable {source[4:]}"
    elif source == "arg":
        where = "the keyword arguments"
    else:
        return error
    return ProfileValidationError(
        profile=name,
        source=where,
        problem=error.fields["problem"],
        field=error.fields["field"],
    )


def resolve(
    name: str | None = None,
    *,
    password: str | SecretStr | None = None,
    config: ProfilesConfig | None = None,
    **overrides: Any,
) -> ResolvedProfile:
    """Resolve a profile: which one, every value and its source (secrets masked in reprs).

    ``overrides`` are profile fields (``host=...``, ``namespace=...``) that win over
    everything else.
    """
    config = config if config is not None else load_config()
    chosen, why = select_name(config, name)
    entry = config.profiles.get(chosen)
    if entry is None:
        raise config.profile_not_found(chosen, why)
    check_is_table(chosen, entry.data, str(entry.file))
    kind = entry.data.get("kind")
    wanted = overrides.get("kind")
    if wanted is not None and wanted != kind:
        # As with KFP_KIND: the file owns the kind, the caller picks another profile.
        raise KindChangeError(
            f"Profile '{chosen}' in {entry.file} is of kind '{kind}' but kind={wanted!r} "
            f"was passed: a keyword argument cannot change a profile's kind; drop kind= "
            f"or pass the name of a profile of kind {wanted!r}.",
            profile=chosen,
            kind=kind,
            field="kind",
        )
    if kind in MODELS:
        allowed = MODELS[kind].model_fields
        for field in overrides:
            if field not in allowed:
                hint = did_you_mean(field, allowed)
                raise ProfileValidationError(
                    profile=chosen,
                    source="the keyword arguments",
                    field=field,
                    problem=f"`{field}` is not a field of kind '{kind}'{hint}.",
                )
    environment = _global_settings_class()()  # read once: KFP_KIND, KFP_PASSWORD, SDK variables
    values, sources = layer_values(chosen, entry.data, entry.file, overrides, environment)
    try:
        profile = validate_profile(chosen, values, str(entry.file))
    except ProfileValidationError as error:
        raise _explain_source(error, sources, chosen) from None

    updates: dict[str, Any] = {}
    if profile.host is None:
        updates["host"] = profile.default_host()
        sources["host"] = "default"
    if profile.kind == "platform-in-cluster" and profile.namespace is None:
        pod_namespace = _pod_namespace()
        if pod_namespace:
            updates["namespace"] = pod_namespace
            sources["namespace"] = f"file:{POD_NAMESPACE_PATH}"
    if updates:
        profile = profile.model_copy(update=updates)

    secret: SecretStr | None = None
    if password is not None:
        secret = password if isinstance(password, SecretStr) else SecretStr(password)
        sources["password"] = "arg"
    else:
        from_env = getattr(environment, "kfp_password", None)
        if from_env is not None:
            secret = from_env
            sources["password"] = f"env:{PASSWORD_ENV}"
    sources["profile"] = why
    return ResolvedProfile(
        name=chosen, profile=profile, sources=sources, file=entry.file, password=secret
    )
