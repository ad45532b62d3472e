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

from .constants import PROFILES_FILE_ENV
from .errors import (
    ConfigError,
    NewerFileVersionError,
    ProfileNotFoundError,
    ProfilesFileIsDirectoryError,
    ProfilesFileNotFoundError,
    ProfilesFileNotRegularError,
    ProfilesFileParseError,
    ProfilesFileReadError,
    ProfilesFileTrustError,
    ProfilesFileUnreadableError,
    TopLevelValueError,
    UnknownTopLevelKeyError,
    did_you_mean,
)

# Exported (hence the spelling): editing.py parses with the same module.
if sys.version_info >= (3, 11):
    import tomllib as tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli

    tomllib = tomli

log = logging.getLogger("kfp_profiles")

FILE_ENV = PROFILES_FILE_ENV  # the name other modules know it by
TOP_LEVEL_KEYS = ("version", "default", "profiles")


@dataclass(frozen=True)
class ProfileEntry:
    """One profile's raw table, and the file that defined it."""

    name: str
    data: Mapping[str, Any]
    file: Path

    @property
    def kind(self) -> str | None:
        """The kind the table names, when it is a table with a textual kind."""
        kind = self.data.get("kind") if isinstance(self.data, Mapping) else None
        return kind if isinstance(kind, str) else None


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
        return tuple(path for path in self.files if path.is_file())

    def require_files(self) -> None:
        """Refuse to go on when none of the files exists: say where one was looked for."""
        if not self.existing_files:
            raise ProfilesFileNotFoundError(path=self.describe_files())

    def profile_not_found(self, name: str, why: str = "arg") -> ConfigError:
        """The error for a name no file defines: the names that exist, the closest one,
        and where the name came from when it was not an argument (KFP_PROFILE, `default`).

        With no file at all, the missing file is the error, and it is raised here.
        """
        self.require_files()
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


def profile_files(listed: str | None = None) -> tuple[Path, ...]:
    """The files in use: ``listed`` (by default ``KFP_PROFILES_FILE``), ``:``-separated as
    KUBECONFIG, or the default file when it names none."""
    listed = os.environ.get(FILE_ENV, "") if listed is None else listed
    paths = [Path(os.path.expanduser(part)) for part in listed.split(os.pathsep) if part.strip()]
    return tuple(paths) if paths else (default_file(),)


def not_a_file_error(path: Path) -> ConfigError:
    """The error for a directory (or a device, a socket) where a profiles file should be."""
    if path.is_dir():
        return ProfilesFileIsDirectoryError(path=path, suggested=path / "profiles.toml")
    return ProfilesFileNotRegularError(path=path)


@dataclass(frozen=True)
class Permissions:
    """What :func:`check_permissions` found."""

    mode: int
    readable_by_others: bool
    #: On a read-only mount (a ConfigMap): its mode is set where it is mounted.
    read_only: bool = False
    #: This user may change its mode: their file (or root asking) on a writable mount.
    can_chmod: bool = True


#: Files already warned about as readable by others: one warning per file and process,
#: however many loads and edits a command (or a notebook) makes.
_warned_readable: set[Path] = set()

#: How a profiles file gets out of the reach of others, when its folder is not the user's.
ELSEWHERE = "move it to a folder only you can write and point KFP_PROFILES_FILE at it"


def check_permissions(path: Path, *, warn: bool = True) -> Permissions:
    """Refuse what is not a file, and a file that is not this user's to trust; warn about
    one others can read.

    Trust is ssh's (:mod:`kfp_profiles.trust`): the file, its folders and the symlinks on
    the way are this user's or root's, and no one else can write them. The warning, with
    the fix, is logged once per file and process, and only where this user can follow
    it (not on a read-only mount, not for root's file); a caller that reports it in its
    own words (the doctor) passes ``warn=False``, which also keeps the later loads of
    this process from logging it.
    """
    from . import trust

    status = path.stat()
    if not stat.S_ISREG(status.st_mode):
        raise not_a_file_error(path)
    mode = stat.S_IMODE(status.st_mode)
    if os.name != "posix":
        return Permissions(mode=mode, readable_by_others=False)
    try:
        found = trust.inspect(path, chmod_to="600", elsewhere=ELSEWHERE)
    except OSError:  # it changed under us between the two looks
        raise ProfilesFileUnreadableError(path=path) from None
    if found.untrusted is not None:
        untrusted = found.untrusted
        raise ProfilesFileTrustError(path=path, problem=untrusted.problem, fix=untrusted.fix)
    permissions = Permissions(
        mode=mode,
        readable_by_others=bool(mode & 0o044),
        read_only=found.read_only,
        can_chmod=found.can_chmod,
    )
    if permissions.readable_by_others and permissions.can_chmod and path not in _warned_readable:
        _warned_readable.add(path)
        if warn:
            log.warning("%s can be read by other users; run `chmod 600 %s`.", path, path)
    return permissions


BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def render_key(name: str) -> str:
    """A TOML key for ``name``: bare where TOML allows it, else a basic string."""
    import json

    return name if BARE_KEY.fullmatch(name) else json.dumps(name)


#: A profiles file of a thousand profiles is about 200 KiB; past this, it is not one.
_READ_LIMIT = 8 * 1024 * 1024


def read_file(path: Path) -> str:
    """The file's text exactly as stored, line endings kept (edits write them back as found)."""
    failure: ConfigError | None = None
    try:
        with path.open("rb") as handle:
            data = handle.read(_READ_LIMIT + 1)
    except PermissionError:
        failure = ProfilesFileUnreadableError(path=path)
    except OSError as exc:  # /proc/self/mem and the like: an I/O error, not a file
        failure = ProfilesFileReadError(path=path, reason=exc.strerror or type(exc).__name__)
    if failure is not None:
        raise failure
    if len(data) > _READ_LIMIT:
        raise ProfilesFileReadError(path=path, reason="it is larger than 8 MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")  # the bytes before the first bad one are good
        line, column = _line_and_column(before, len(before))
        raise _parse_error(
            path,
            line,
            column,
            f"byte 0x{data[exc.start]:02x} is not UTF-8",
            fix="save the file as UTF-8",
        ) from None


_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_DECLARED_TWICE = re.compile(r"Cannot declare (\(.*\)) twice")
_BARE_CR = re.compile(r"\r(?!\n)")


def parse_text(path: Path, text: str) -> dict[str, Any]:
    """Parse the text of ``path``, turning TOML errors into file:line:column messages."""
    try:
        document: dict[str, Any] = tomllib.loads(text)
        return document
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
    except RecursionError:  # arrays or tables nested hundreds deep: no profile is
        opener = re.search(r"[\[{]{50,}", text)
        line, column = _line_and_column(text, opener.start()) if opener else ("?", "?")
        problem = "values are nested too deeply to read"
        raise _parse_error(path, line, column, problem, fix="flatten them") from None
    bare_cr = _BARE_CR.search(text)
    if bare_cr:  # old Mac line endings: TOML allows LF and CRLF only
        line, column = _line_and_column(text, bare_cr.start())
        raise _parse_error(
            path,
            line,
            column,
            "the line ends in a bare CR, which TOML does not allow",
            fix="save the file with LF or CRLF line endings",
        )
    found = _POSITION.search(message)
    at_line, at_column = (found.group(1), found.group(2)) if found else ("?", "?")
    twice = _DECLARED_TWICE.search(message)
    if twice:
        import ast

        keys = ast.literal_eval(twice.group(1))
        table = ".".join(render_key(str(key)) for key in keys)
        raise _parse_error(
            path,
            at_line,
            at_column,
            f"[{table}] is defined twice",
            fix="merge the two tables or rename one",
        )
    problem = _POSITION.sub("", message).strip().rstrip(".")
    raise _parse_error(path, at_line, at_column, problem, fix="fix the TOML syntax there")


def _line_and_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``, counted as tomllib counts them."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _parse_error(
    path: Path, line: int | str, column: int | str, problem: str, *, fix: str
) -> ProfilesFileParseError:
    return ProfilesFileParseError(path=path, line=line, column=column, problem=problem, fix=fix)


def _check_top_level(path: Path, document: Mapping[str, Any]) -> None:
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            hint = did_you_mean(key, TOP_LEVEL_KEYS)
            raise UnknownTopLevelKeyError(path=path, key=key, hint=hint)
    if "default" in document and not isinstance(document["default"], str):
        problem = '`default` must be a profile name in quotes, like "prod"'
        raise TopLevelValueError(path=path, problem=problem)
    if "profiles" in document and not isinstance(document["profiles"], Mapping):
        problem = "`profiles` must be a table of [profiles.NAME] tables"
        raise TopLevelValueError(path=path, problem=problem)
    if document.get("version", 1) != 1:
        raise NewerFileVersionError(path=path, version=document["version"])


def load_config(paths: tuple[Path, ...] | None = None) -> ProfilesConfig:
    """Read and merge the files in use; missing files are skipped, as KUBECONFIG does.

    A directory where a file is named is refused, never read as a file with no profiles.
    """
    paths = paths if paths is not None else profile_files()
    profiles: dict[str, ProfileEntry] = {}
    default: str | None = None
    default_from: Path | None = None
    for path in paths:
        if not path.exists():
            continue
        check_permissions(path)
        document = parse_text(path, read_file(path))
        _check_top_level(path, document)
        if default is None and isinstance(document.get("default"), str):
            default, default_from = document["default"], path
        for name, table in document.get("profiles", {}).items():
            profiles.setdefault(name, ProfileEntry(name=name, data=table, file=path))
    return ProfilesConfig(
        files=paths, profiles=profiles, default=default, default_file=default_from
    )
