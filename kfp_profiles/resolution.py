"""Pick the profile in use and layer its values, recording where each came from.

Per field, highest first: keyword argument > ``KFP_<FIELD>`` > the file > the
SDK's own variable (``KF_PIPELINES_ENDPOINT``, ``KF_PIPELINES_UI_ENDPOINT``, which
only fill a host the profile does not set) > the kind's default. The token path
is the exception: argument > ``KFP_TOKEN_PATH`` > ``KF_PIPELINES_SA_TOKEN_PATH`` >
file > default, because the SDK variable says where the pod's token really is.
Which variable sets which field, how an SDK variable ranks and which fields are
paths all come from the field table (kfp_profiles/fields.py).

pydantic-settings supplies the environment layer, for the selected profile only
(one settings model over a dict of profiles would deep-merge values across kinds).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import SecretStr

from .constants import KIND_ENV, POD_NAMESPACE_PATH, PROFILE_ENV
from .errors import (
    CaBundleError,
    KindArgumentError,
    KindChangeError,
    NoProfileSelectedError,
    ProfileNameTypeError,
    ProfileValidationError,
    UnknownFieldArgumentError,
    did_you_mean,
)
from .fields import MASK, alternatives_of, fields_of, mask
from .files import ProfilesConfig, load_config
from .models import (
    MODELS,
    PlatformInCluster,
    Profile,
    StandalonePortForward,
    check_is_table,
    validate_profile,
)
from .paths import ca_bundle_problem, expand_path

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

__all__ = ["PROFILE_ENV", "ResolvedProfile", "resolve", "select_name"]


@dataclass(frozen=True, repr=False)
class ResolvedProfile:
    """A profile ready to use: validated values, and where each one came from."""

    name: str
    profile: Profile
    #: field -> "arg" | "env:KFP_HOST" | "file:/path" | "default" (and "keyring" for secrets)
    sources: Mapping[str, str]
    #: The file that defined the profile.
    file: Path | None
    #: Secrets given as arguments or variables (``password``); the keyring is asked
    #: only when one is needed (a login).
    secrets: Mapping[str, SecretStr] = field(default_factory=dict)
    #: The host as the profiles file names it (None when the file names none).
    file_host: str | None = None

    @property
    def kind(self) -> str:
        return self.profile.kind

    @property
    def host(self) -> str:
        """The KFP API URL the client talks to (always set after resolution)."""
        assert self.profile.host is not None
        return self.profile.host

    @property
    def password(self) -> SecretStr | None:
        """The Dex password given as ``password=`` or KFP_PASSWORD, if any."""
        return self.secrets.get("password")

    @property
    def at_home(self) -> bool:
        """True when the host in use has the origin (scheme, host, port) the file gives.

        A stored password and a cached session belong to that origin: an override
        (argument, KFP_HOST) that points the profile elsewhere gets neither.
        """
        from .transport import origin

        if self.file_host is None:
            return self.sources.get("host", "default") == "default"
        return origin(self.host) == origin(self.file_host)

    @property
    def forward_is_managed(self) -> bool:
        """True when kfp-profiles starts this profile's ``kubectl port-forward`` itself.

        A host set by hand (or KFP_HOST) means someone else serves it: no forward.
        """
        return (
            isinstance(self.profile, StandalonePortForward)
            and self.profile.manage
            and self.sources.get("host", "default") == "default"
        )

    def values(self) -> dict[str, Any]:
        """Every field's value, unmasked; secrets are never part of it."""
        return self.profile.model_dump()

    def describe(self) -> list[tuple[str, Any, str]]:
        """(field, value, source) rows, secrets masked, for `show --sources` and logs."""
        rows = [
            (name, mask(name, value), self.sources.get(name, "default"))
            for name, value in self.values().items()
        ]
        rows += [(name, MASK, self.sources.get(name, "arg")) for name in self.secrets]
        return rows

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={v!r}" for f, v, _ in self.describe() if v is not None)
        return f"ResolvedProfile(name={self.name!r}, {shown})"


# --- the environment layer (pydantic-settings) ----------------------------------------------


def _variables_of(kind: str) -> tuple[tuple[str, bool], ...]:
    """(variable, is secret) for every variable that can set a value of ``kind``."""
    names: dict[str, bool] = {KIND_ENV: False}
    for spec in fields_of(kind):
        names[spec.env] = spec.secret
        if spec.sdk_env:
            names[spec.sdk_env] = False
    return tuple(names.items())


@functools.cache
def _environment_class(variables: tuple[tuple[str, bool], ...]) -> type[BaseSettings]:
    """A settings model reading ``variables``; values read as text.

    Text on purpose: the kind's own model then validates env and file values with
    the same rules and the same messages. Secrets are read as ``SecretStr``.
    """
    from pydantic import Field, create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class Environment(BaseSettings):
        model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True)

    fields: dict[str, Any] = {
        name.lower(): (
            SecretStr | None if secret else str | None,
            Field(default=None, validation_alias=name),
        )
        for name, secret in variables
    }
    model: type[BaseSettings] = create_model("KfpEnvironment", __base__=Environment, **fields)
    return model


def read_environment(kind: str) -> dict[str, Any]:
    """The variables set for ``kind`` (its ``KFP_<FIELD>``, SDK and secret variables).

    pydantic-settings reads them; when none is set, as in most processes, it is not even
    imported (it costs as much as the rest of resolving a profile).
    """
    variables = _variables_of(kind)
    present = {name.upper() for name, value in os.environ.items() if value}
    if not any(name in present for name, _ in variables):
        return {}
    settings = _environment_class(variables)()
    read = settings.model_dump()
    return {name: read[name.lower()] for name, _ in variables if read[name.lower()] is not None}


# --- selection ------------------------------------------------------------------------------


def select_name(config: ProfilesConfig, name: str | None) -> tuple[str, str]:
    """The profile name in use and why: argument, KFP_PROFILE, or the file's default."""
    if name is not None and not isinstance(name, str):
        raise ProfileNameTypeError(type=type(name).__name__)
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


def _pod_namespace() -> str | None:
    try:
        return Path(POD_NAMESPACE_PATH).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


#: How layers rank where alternatives (a token command, a token file) meet.
_RANKS = {"arg": 3, "env": 2, "file": 1}


def layer_values(
    name: str,
    table: Mapping[str, Any],
    file: Path | None,
    overrides: Mapping[str, Any],
    environment: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge argument, environment, file and SDK variables into one table, with sources.

    ``environment`` is :func:`read_environment` of the profile's kind. Each field's
    variable, SDK variable and path rule come from the field table.
    """
    kind = table.get("kind")
    file_source = f"file:{file}" if file else "file"
    values: dict[str, Any] = dict(table)
    sources = {key: file_source for key in table}
    if not isinstance(kind, str) or kind not in MODELS:  # let the model explain the bad kind
        return values, sources

    env_kind = environment.get(KIND_ENV)
    if env_kind and env_kind != kind:
        raise KindChangeError(profile=name, kind=kind, env_kind=env_kind)

    def put(field: str, value: Any, source: str) -> None:
        values[field] = value
        sources[field] = source

    specs = [spec for spec in fields_of(str(kind)) if spec.in_file]
    for spec in specs:
        # The SDK's variables fill what the profile leaves open, or (the token path,
        # which says where the pod's token really is) win over the file.
        sdk_value = environment.get(spec.sdk_env) if spec.sdk_env else None
        if sdk_value and (spec.sdk_precedence == "beats-file" or spec.name not in values):
            put(spec.name, spec.parse_text(sdk_value), f"env:{spec.sdk_env}")
    for spec in specs:
        if spec.env in environment:
            put(spec.name, spec.parse_text(environment[spec.env]), f"env:{spec.env}")
    for field_name, value in overrides.items():
        if value is not None:
            put(field_name, value, "arg")
    for group in alternatives_of(str(kind)):
        # Alternatives set by different layers: the higher one wins, as for one field.
        given = [name for name in group if values.get(name) is not None]
        ranks = {name: _RANKS.get(sources[name].partition(":")[0], 0) for name in given}
        if len(given) > 1 and len(set(ranks.values())) > 1:
            best = max(given, key=lambda name: ranks[name])
            for name in given:
                if name != best:
                    values.pop(name)
                    sources.pop(name)

    for spec in specs:
        if spec.path and isinstance(values.get(spec.name), str):
            base = file.parent if sources[spec.name] == file_source and file else None
            values[spec.name] = expand_path(values[spec.name], base)
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
    token: str | SecretStr | None = None,
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
    if token is not None and not any(
        spec.name == "token" for spec in fields_of(kind if isinstance(kind, str) else "")
    ):
        overrides["token"] = token  # refused below as a field this kind does not have
    wanted = overrides.get("kind")
    if wanted is not None and wanted != kind:
        # As with KFP_KIND: the file owns the kind, the caller picks another profile.
        raise KindArgumentError(profile=chosen, file=entry.file, kind=kind, wanted=wanted)
    environment: Mapping[str, Any] = {}
    if isinstance(kind, str) and kind in MODELS:
        allowed = ["kind", *(spec.name for spec in fields_of(kind) if spec.in_file)]
        for field_name in overrides:
            if field_name not in allowed:
                raise UnknownFieldArgumentError(
                    profile=chosen,
                    field=field_name,
                    kind=kind,
                    hint=did_you_mean(field_name, allowed),
                )
        environment = read_environment(kind)  # read once: every variable of this kind
    values, sources = layer_values(chosen, entry.data, entry.file, overrides, environment)
    try:
        texts = {
            field: environment[source[4:]]
            for field, source in sources.items()
            if source.startswith("env:") and source[4:] in environment
        }
        profile = cast(Profile, validate_profile(chosen, values, str(entry.file), texts))
    except ProfileValidationError as error:
        raise _explain_source(error, sources, chosen) from None

    updates: dict[str, Any] = {}
    if profile.host is None:
        updates["host"] = profile.default_host()
        sources["host"] = "default"
    if isinstance(profile, PlatformInCluster) and profile.namespace is None:
        pod_namespace = _pod_namespace()
        if pod_namespace:
            updates["namespace"] = pod_namespace
            sources["namespace"] = f"file:{POD_NAMESPACE_PATH}"
    if updates:
        profile = profile.model_copy(update=updates)
    if profile.ca_bundle is not None and profile.verify_tls:
        problem = ca_bundle_problem(profile.ca_bundle)
        if problem is not None:
            where = sources.get("ca_bundle", "file")
            raise CaBundleError(
                profile=chosen, path=profile.ca_bundle, problem=problem, source=_in_words(where)
            )

    given = {"password": password, "token": token}
    secrets: dict[str, SecretStr] = {}
    for spec in fields_of(profile.kind):
        if not spec.secret:
            continue
        value = given.get(spec.name)
        if value is not None:
            secrets[spec.name] = value if isinstance(value, SecretStr) else SecretStr(value)
            sources[spec.name] = "arg"
        elif spec.env in environment:
            secrets[spec.name] = environment[spec.env]
            sources[spec.name] = f"env:{spec.env}"
    sources["profile"] = why
    file_host = entry.data.get("host")
    return ResolvedProfile(
        name=chosen,
        profile=profile,
        sources=sources,
        file=entry.file,
        secrets=secrets,
        file_host=file_host if isinstance(file_host, str) else None,
    )


def _in_words(source: str) -> str:
    """A value's source as a message says it: the file, a variable, or the arguments."""
    if source.startswith("env:"):
        return f"variable {source[4:]}"
    if source.startswith("file:"):
        return source[5:]
    return "the keyword arguments" if source == "arg" else source
