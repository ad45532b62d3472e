"""Bring the old setup in: Elyra's KFP runtimes and the SDK's context.json, as profiles.

Reads what users already have (and never writes it), maps each runtime or context to a
profile of one of this product's kinds, and writes it with
:func:`kfp_profiles.editing.add_profile` (validated, lossless, atomic). A password or a
token goes to the OS keyring (:mod:`kfp_profiles.secrets`), never into the file. Run
again, it changes nothing: a profile with the same values is unchanged, one with other
values is skipped unless ``overwrite``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from .constants import SDK_ENDPOINT_ENV
from .editing import _NAME_MAX, add_profile, validate_name
from .errors import (
    ConfigError,
    ElyraAuthTypeError,
    ElyraRuntimeFormatError,
    ElyraRuntimeReadError,
    ImportOptionError,
    KeyringUnavailableError,
    KfpContextFileError,
    KfpContextHostError,
    KfpProfilesError,
    ProfileNameError,
)
from .files import ProfilesConfig, load_config
from .models import validate_profile
from .secrets import PASSWORD_SERVICE, get_password, set_password
from .tomlsplice import render_profile

#: Elyra's ``auth_type`` -> the kind of profile it becomes.
ELYRA_KINDS = {
    "NO_AUTHENTICATION": "standalone-in-cluster",
    "DEX_STATIC_PASSWORDS": "platform-dex",
    "DEX_LEGACY": "platform-dex",
    "DEX_LDAP": "platform-dex",
    "KUBERNETES_SERVICE_ACCOUNT_TOKEN": "platform-in-cluster",
    "EXISTING_BEARER_TOKEN": "platform-token",
}
#: The ``schema_name`` of Elyra's Kubeflow Pipelines runtimes (Airflow's is "airflow").
ELYRA_KFP_SCHEMA = "kfp"
#: What the SDK's context.json holds that is never imported: a session, not a setting.
CONTEXT_SESSION_KEYS = (
    "client_authentication_cookie",
    "client_authentication_header_name",
    "client_authentication_header_value",
)
DEFAULT_CONTEXT_PROFILE = "kfp-context"
#: Larger than any runtime or context file; a bigger one is not read.
MAX_SOURCE_BYTES = 1 << 20

Status = Literal["added", "replaced", "updated", "unchanged", "skipped", "failed"]
Source = Literal["elyra", "kfp-context"]


@dataclass(frozen=True)
class Found:
    """One file read: the profile it maps to, or why it is not imported."""

    source: Path
    name: str | None = None
    values: Mapping[str, Any] | None = None
    secret: SecretStr | None = None
    #: What the secret is called in messages: "password" or "token".
    secret_kind: str = "password"
    notes: tuple[str, ...] = ()
    skipped: str | None = None
    error: KfpProfilesError | None = None


@dataclass(frozen=True)
class ImportResult:
    """What became of one file read: ``status``, the profile, and what was said about it."""

    source: Path
    status: Status
    profile: str | None = None
    #: The profile's table as written (or, in a dry run, as it would be).
    toml: str | None = None
    #: "password" or "token" when one is (or would be) in the keyring for the profile.
    secret: str | None = None
    notes: tuple[str, ...] = ()
    #: Why it was skipped.
    reason: str | None = None
    #: Skipped because the profile exists with other values (``overwrite`` replaces it).
    conflict: bool = False
    error: KfpProfilesError | None = None


@dataclass(frozen=True)
class ImportReport:
    """Every file read, in order, and where the profiles went."""

    source: Source
    results: tuple[ImportResult, ...]
    #: The folders (Elyra) or the file (context.json) that were read.
    looked_in: tuple[Path, ...]
    profiles_file: Path
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> tuple[ImportResult, ...]:
        return tuple(result for result in self.results if result.status == "failed")


# --- where Elyra keeps its runtimes --------------------------------------------------------


def jupyter_data_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Jupyter's data folder, by jupyter_core's rule (without importing Jupyter)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if env.get("JUPYTER_DATA_DIR"):
        return Path(env["JUPYTER_DATA_DIR"])
    home = Path(env.get("HOME") or Path.home())
    if platform == "darwin":
        return home / "Library" / "Jupyter"
    if platform == "win32":
        appdata = env.get("APPDATA")
        config = Path(env.get("JUPYTER_CONFIG_DIR") or home / ".jupyter")
        return Path(appdata) / "jupyter" if appdata else config / "data"
    return Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "jupyter"


def elyra_runtime_folders(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """Where Elyra reads runtimes, first first: each ELYRA_METADATA_PATH folder, then
    Jupyter's data folder, each with ``metadata/runtimes`` (as Elyra's metadata store)."""
    env = os.environ if env is None else env
    roots = [Path(p) for p in env.get("ELYRA_METADATA_PATH", "").split(os.pathsep) if p]
    roots.append(jupyter_data_dir(env))
    return tuple(dict.fromkeys(root / "metadata" / "runtimes" for root in roots))


def read_elyra_runtimes(folders: Sequence[Path]) -> list[Found]:
    """Every ``*.json`` of ``folders``, mapped; a name found in an earlier folder wins."""
    found: list[Found] = []
    first: dict[str, Path] = {}
    taken: set[str] = set()
    for folder in folders:
        try:
            paths = sorted(p for p in folder.iterdir() if p.suffix == ".json")
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            found.append(Found(folder, error=ElyraRuntimeReadError(path=folder, reason=_os(exc))))
            continue
        for path in paths:
            if path.stem in first:
                found.append(Found(path, skipped=f"Elyra uses {first[path.stem]} instead"))
                continue
            first[path.stem] = path
            found.append(_elyra_runtime(path, taken))
    return found


def _elyra_runtime(path: Path, taken: set[str]) -> Found:
    try:
        data = _read_json(path)
    except OSError as exc:
        return Found(path, error=ElyraRuntimeReadError(path=path, reason=_os(exc)))
    except ValueError as exc:
        return Found(path, error=ElyraRuntimeFormatError(path=path, problem=str(exc)))
    schema = data.get("schema_name")
    if schema != ELYRA_KFP_SCHEMA:
        if schema == "airflow":
            return Found(path, skipped="an Airflow runtime, not Kubeflow Pipelines")
        return Found(path, skipped=f"schema_name {schema!r} is not a Kubeflow Pipelines runtime")
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        problem = "it has no `metadata` object"
        return Found(path, error=ElyraRuntimeFormatError(path=path, problem=problem))
    name, notes = _profile_name(path.stem, taken)
    auth = metadata.get("auth_type")
    username, password = metadata.get("api_username"), metadata.get("api_password")
    if auth is None:  # written before Elyra 3.3
        auth = "DEX_LEGACY" if username and password else "NO_AUTHENTICATION"
    kind = ELYRA_KINDS.get(auth) if isinstance(auth, str) else None
    if kind is None:
        known = ", ".join(ELYRA_KINDS)
        return Found(path, name, error=ElyraAuthTypeError(path=path, auth_type=auth, known=known))
    values: dict[str, Any] = {"kind": kind, "host": metadata.get("api_endpoint")}
    values["namespace"] = metadata.get("user_namespace") or None
    if kind == "platform-dex":
        values["username"] = username
        values["connector"] = "ldap" if auth == "DEX_LDAP" else None
    display = data.get("display_name")
    values["description"] = display if isinstance(display, str) and display else None
    secret_kind = "token" if kind == "platform-token" else "password"
    keeps_secret = kind in ("platform-dex", "platform-token")
    secret = (
        SecretStr(password) if keeps_secret and isinstance(password, str) and password else None
    )
    return _checked(
        Found(path, name, values, secret, secret_kind, notes), source=f"Elyra runtime {path}"
    )


def _profile_name(stem: str, taken: set[str]) -> tuple[str, tuple[str, ...]]:
    """The profile name for a runtime file's stem: itself when usable and not yet taken."""
    try:
        name = validate_name(stem)
    except ProfileNameError:
        name = re.sub(r"[^A-Za-z0-9_.@-]+", "-", stem).lstrip("_.@-")[:_NAME_MAX] or "elyra"
    base, number = name, 2
    while name in taken:
        name = f"{base[: _NAME_MAX - 4]}-{number}"
        number += 1
    taken.add(name)
    if name == stem:
        return name, ()
    why = "is taken" if base == stem else "is not a usable profile name"
    return name, (f"renamed from {stem!r}, which {why}",)


# --- the SDK's context.json ----------------------------------------------------------------


def kfp_context_file() -> Path:
    """Where the KFP SDK keeps its context: ``~/.config/kfp/context.json`` (not XDG's)."""
    return Path.home() / ".config" / "kfp" / "context.json"


def read_kfp_context(
    path: Path,
    *,
    host: str | None = None,
    username: str | None = None,
    namespace: str | None = None,
    name: str = DEFAULT_CONTEXT_PROFILE,
) -> Found:
    """The profile ``path`` and the options make: platform-dex with a username, else
    standalone-in-cluster; the host from ``host`` or KF_PIPELINES_ENDPOINT."""
    validate_name(name)
    try:
        data = _read_json(path)
    except OSError as exc:
        raise KfpContextFileError(path=path, reason=_os(exc)) from None
    except ValueError as exc:
        raise KfpContextFileError(path=path, reason=str(exc)) from None
    host = host or os.environ.get(SDK_ENDPOINT_ENV) or None
    if host is None:
        raise KfpContextHostError(path=path)
    kind = "platform-dex" if username else "standalone-in-cluster"
    stored_namespace = data.get("namespace")
    values = {"kind": kind, "host": host, "namespace": namespace or stored_namespace or None}
    values["username"] = username or None
    notes: tuple[str, ...] = ()
    if any(data.get(key) for key in CONTEXT_SESSION_KEYS):
        notes = ("its cookies and headers were not imported: a login makes a new session",)
    found = _checked(Found(path, name, values, notes=notes), source=str(path))
    if found.error is not None:
        raise found.error
    return found


# --- reading, checking ---------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, read once, never changed; ValueError says what is wrong."""
    with path.open("rb") as stream:
        raw = stream.read(MAX_SOURCE_BYTES + 1)
    if len(raw) > MAX_SOURCE_BYTES:
        raise ValueError(f"it is larger than {MAX_SOURCE_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:  # its message shows where, never the text
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ValueError(f"it holds a JSON {type(data).__name__}, not an object")
    return data


def _checked(found: Found, *, source: str) -> Found:
    """``found`` without its empty values, validated as its kind (the error names ``source``)."""
    assert found.name is not None and found.values is not None
    values = {key: value for key, value in found.values.items() if value is not None}
    try:
        validate_profile(found.name, values, source)
    except ConfigError as exc:
        return Found(found.source, found.name, values, notes=found.notes, error=exc)
    return Found(found.source, found.name, values, found.secret, found.secret_kind, found.notes)


def _os(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


# --- writing -------------------------------------------------------------------------------


def import_profiles(
    source: Source = "elyra",
    *,
    host: str | None = None,
    username: str | None = None,
    namespace: str | None = None,
    name: str | None = None,
    runtime_folders: Sequence[Path] | None = None,
    context_file: Path | None = None,
    dry_run: bool = False,
    overwrite: bool = False,
    config: ProfilesConfig | None = None,
) -> ImportReport:
    """Write a profile for each Elyra KFP runtime (``source="elyra"``), or for the SDK's
    context.json (``source="kfp-context"``, with ``host``, ``username``, ``namespace``
    and the profile's ``name``); with ``dry_run``, write nothing and say what would be.
    """
    files = (config if config is not None else load_config()).files
    if source == "kfp-context":
        context_file = context_file if context_file is not None else kfp_context_file()
        looked_in: tuple[Path, ...] = (context_file,)
        options = {"host": host, "username": username, "namespace": namespace}
        context = {key: value for key, value in options.items() if value}
        found = [read_kfp_context(context_file, name=name or DEFAULT_CONTEXT_PROFILE, **context)]
    else:
        given = {"host": host, "username": username, "namespace": namespace, "name": name}
        for option, value in given.items():
            if value is not None:
                raise ImportOptionError(option=option)
        folders = runtime_folders if runtime_folders is not None else elyra_runtime_folders()
        looked_in = tuple(folders)
        found = read_elyra_runtimes(looked_in)
    results = tuple(_apply(one, files, dry_run=dry_run, overwrite=overwrite) for one in found)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return ImportReport(source, results, looked_in, files[0], dry_run, counts)


def _apply(
    found: Found, files: tuple[Path, ...], *, dry_run: bool, overwrite: bool
) -> ImportResult:
    if found.skipped is not None:
        return ImportResult(found.source, "skipped", found.name, reason=found.skipped)
    if found.error is not None or found.name is None or found.values is None:
        return ImportResult(
            found.source, "failed", found.name, notes=found.notes, error=found.error
        )
    name, values = found.name, dict(found.values)
    config = load_config(files)  # again each time: the last profile may have made the default
    entry = config.profiles.get(name)
    stored, keyring_down = _stored(name) if found.secret is not None else (None, None)
    same_values = entry is not None and dict(entry.data) == values
    new_secret = found.secret is not None and stored != found.secret.get_secret_value()
    secret = found.secret_kind if found.secret is not None else None
    shown = render_profile(name, values)
    result = ImportResult(found.source, "unchanged", name, shown, secret, found.notes)
    if entry is not None and (not same_values or (new_secret and stored is not None)):
        if not overwrite:
            what = "other values" if not same_values else f"another {found.secret_kind}"
            reason = f"profile '{name}' in {entry.file} has {what}"
            return replace(result, status="skipped", reason=reason, conflict=True)
        result = replace(result, status="replaced")
    elif entry is None:
        result = replace(result, status="added")
    elif new_secret and keyring_down is None:
        result = replace(result, status="updated")
    elif new_secret and keyring_down is not None:
        return replace(
            result, notes=(*found.notes, _not_stored(name, found.secret_kind, keyring_down))
        )
    else:
        return result
    notes = list(found.notes)
    if not same_values and not dry_run:
        try:
            added = add_profile(name, values, replace=entry is not None, config=config)
        except ConfigError as exc:
            return ImportResult(found.source, "failed", name, notes=found.notes, error=exc)
        if added.default_in is not None:
            notes.append("made the default")
    if new_secret and found.secret is not None:
        notes.append(_keep(name, found.secret, found.secret_kind, dry_run=dry_run))
    return replace(result, notes=tuple(notes))


def _stored(profile: str) -> tuple[str | None, KeyringUnavailableError | None]:
    """The secret the keyring holds for ``profile`` (None when none), or why none answers."""
    try:
        stored = get_password(profile)
    except KeyringUnavailableError as exc:
        return None, exc
    return (stored.get_secret_value() if stored is not None else None), None


def _keep(profile: str, secret: SecretStr, kind: str, *, dry_run: bool) -> str:
    """Put ``secret`` in the keyring; what became of it, in words (never the secret)."""
    where = f"the keyring (service {PASSWORD_SERVICE}, user {profile})"
    if dry_run:
        return f"its {kind} would go to {where}"
    try:
        set_password(profile, secret)
    except KeyringUnavailableError as exc:
        return _not_stored(profile, kind, exc)
    return f"its {kind} is in {where}"


def _not_stored(profile: str, kind: str, problem: KeyringUnavailableError) -> str:
    reason = getattr(problem, "reason", type(problem).__name__)
    return f"its {kind} is not stored ({reason}): store it with `kfp-profiles secret set {profile}`"
