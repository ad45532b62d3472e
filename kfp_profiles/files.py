"""Find the profiles file(s), check their permissions, parse and merge them.

Read side only (edits live in :mod:`kfp_profiles.editing`). Loading is a pure
pipeline, as in botocore's config loader: paths -> parsed tables -> one merged
map in which the first file that defines a profile supplies all of it.
Profiles are kept as raw tables here; each is validated only when used, so one
broken profile never hides the others.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import (
    ConfigError,
    ProfileNotFoundError,
    ProfilesFileNotFoundError,
    ProfilesFileParseError,
    ProfilesFilePermissionError,
)
from .models import did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

log = logging.getLogger("kfp_profiles")

FILE_ENV = "KFP_PROFILES_FILE"
TOP_LEVEL_KEYS = ("version", "default", "profiles")


@dataclass(frozen=True)
class ProfileEntry:
    """One profile's raw table, and the file that defined it."""

    name: str
    data: Mapping[str, Any]
    file: Path


@dataclass(frozen=True)
class ProfilesConfig:
    """Every profile of every file in use, merged."""

    #: The files in use, in precedence order (some may not exist).
    files: tuple[Path, ...]
    profiles: dict[str, ProfileEntry] = field(default_factory=dict)
    default: str | None = None
    #: The file whose `default` line is in force.
    default_file: Path | None = None

    @property
    def existing_files(self) -> tuple[Path, ...]:
        return tuple(path for path in self.files if path.exists())

    def profile_not_found(self, name: str, why: str = "arg") -> ConfigError:
        """The error for a name no file defines: the names that exist, the closest one,
        and where the name came from when it was not an argument (KFP_PROFILE, `default`)."""
        if not self.existing_files:
            return ProfilesFileNotFoundError(path=self.describe_files())
        names = sorted(self.profiles)
        hint = did_you_mean(name, names)
        if names:
            hint += f"; the profiles are {', '.join(names)}"
        else:
            hint += "; the file defines no profiles yet: run `kfp-profiles add NAME`"
        if why != "arg":
            hint += f" (the name came from {why.removeprefix('env:').removeprefix('file:')})"
        return ProfileNotFoundError(profile=name, where=self.describe_files(), hint=hint)

    def describe_files(self) -> str:
        """The files for a message: one path, or the list."""
        if len(self.files) == 1:
            return str(self.files[0])
        return ", ".join(str(path) for path in self.files)


def default_file() -> Path:
    """``$XDG_CONFIG_HOME/kfp/profiles.toml``, beside the SDK's own ``~/.config/kfp/``."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "kfp" / "profiles.toml"


def profile_files() -> tuple[Path, ...]:
    """The files in use: ``KFP_PROFILES_FILE`` (``:``-separated, as KUBECONFIG) or the default."""
    listed = os.environ.get(FILE_ENV, "")
    paths = [Path(os.path.expanduser(part)) for part in listed.split(os.pathsep) if part.strip()]
    return tuple(paths) if paths else (default_file(),)


def check_permissions(path: Path) -> None:
    """Refuse a file others can write; warn, with the fix, about one others can read."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022:
        raise ProfilesFilePermissionError(
            path=path, problem="can be written by other users, so it is not used", mode=0o600
        )
    if mode & 0o044:
        log.warning("%s can be read by other users; run `chmod 600 %s`.", path, path)


_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_file(path: Path) -> dict[str, Any]:
    """Parse one file, turning TOML errors into file:line:column messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProfilesFileParseError(
            path=path, line=1, column=exc.start + 1, problem="the file is not UTF-8 text"
        ) from None
    except PermissionError:
        raise ConfigError(
            f"{path} cannot be read by this user; fix its owner or run `chmod 600 {path}`."
        ) from None
    try:
        document: dict[str, Any] = tomllib.loads(text)
        return document
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _POSITION.search(message)
        line, column = (found.group(1), found.group(2)) if found else ("?", "?")
        problem = _POSITION.sub("", message).strip().rstrip(".")
        raise ProfilesFileParseError(path=path, line=line, column=column, problem=problem) from None


def _check_top_level(path: Path, document: Mapping[str, Any]) -> None:
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            hint = did_you_mean(key, TOP_LEVEL_KEYS)
            raise ConfigError(
                f"{path}: unknown top-level key `{key}`{hint}; a profile goes in a "
                f"[profiles.NAME] table and the file may also set `default` and `version`."
            )
    if "default" in document and not isinstance(document["default"], str):
        raise ConfigError(f'{path}: `default` must be a profile name in quotes, like "prod".')
    if "profiles" in document and not isinstance(document["profiles"], Mapping):
        raise ConfigError(f"{path}: `profiles` must be a table of [profiles.NAME] tables.")
    if document.get("version", 1) != 1:
        raise ConfigError(
            f"{path}: `version = {document['version']}` is newer than this kfp-profiles "
            f"understands; upgrade kfp-profiles."
        )


def load_config(paths: tuple[Path, ...] | None = None) -> ProfilesConfig:
    """Read and merge the files in use; missing files are skipped, as KUBECONFIG does."""
    paths = paths if paths is not None else profile_files()
    profiles: dict[str, ProfileEntry] = {}
    default: str | None = None
    default_from: Path | None = None
    for path in paths:
        if not path.is_file():
            continue
        check_permissions(path)
        document = parse_file(path)
        _check_top_level(path, document)
        if default is None and isinstance(document.get("default"), str):
            default, default_from = document["default"], path
        for name, table in document.get("profiles", {}).items():
            profiles.setdefault(name, ProfileEntry(name=name, data=table, file=path))
    return ProfilesConfig(
        files=paths, profiles=profiles, default=default, default_file=default_from
    )
