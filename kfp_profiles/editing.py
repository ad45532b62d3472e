"""Change a profiles file a person wrote without losing a byte of what they wrote.

The verbs of the command line: add, remove, rename, set the default, init.
Every edit is a read-modify-write under the file's lock, written atomically
(:mod:`kfp_profiles.atomicfile`), so concurrent writers never lose each
other's profiles and a crash leaves either the old file or the new one, whole.
New files are 0600 in a 0700 folder; an existing file keeps its mode, except
that one others can read is tightened to 0600 (with a warning saying so). The new
text is a splice of the file's own lines (:mod:`kfp_profiles.tomlsplice`): it
is parsed again and compared with the data the edit should produce, and a
mismatch leaves the file untouched and says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import trust
from .atomicfile import (
    ensure_folder,
    locked,
    private_mode,
    remove_stale_temp_files,
    write_atomic,
)
from .errors import (
    CannotEditError,
    EditMismatchError,
    EditWouldNotParseError,
    FileEditError,
    ProfileExistsError,
    ProfileNameError,
    ProfilesFileExistsError,
    ProfilesFileTrustError,
    ProfilesFileWriteError,
    RenameTargetExistsError,
)
from .files import (
    ELSEWHERE,
    ProfilesConfig,
    check_permissions,
    load_config,
    not_a_file_error,
    parse_text,
    read_file,
    tomllib,
)
from .models import validate_profile
from .tomlsplice import (
    add_profile_text,
    remove_profile_text,
    rename_profile_text,
    replace_profile_text,
    set_default_text,
)

log = logging.getLogger("kfp_profiles")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")
_NAME_MAX = 128


def validate_name(name: str) -> str:
    """Refuse a profile name that would not survive TOML, shells and the keyring."""
    if len(name) > _NAME_MAX or not _NAME.fullmatch(name):
        raise ProfileNameError(name=name, limit=_NAME_MAX)
    return name


# --- writing, with failures told as the profiles file's errors ----------------------------


def _os_problem(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or type(exc).__name__}{where}"


@contextlib.contextmanager
def _told_as_write_error(path: Path) -> Iterator[None]:
    """An OSError inside becomes ProfilesFileWriteError about ``path``."""
    try:
        yield
    except OSError as exc:
        raise ProfilesFileWriteError(path=path, problem=_os_problem(exc)) from None


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Hold ``path``'s edit lock, its folder made 0700 first when missing; a new file is
    never made in a folder others can change (ssh's rule, as for reading)."""
    with _told_as_write_error(path.parent):
        ensure_folder(path.parent)
    if not os.path.lexists(path):
        _refuse_an_untrusted_folder(path)
    with contextlib.ExitStack() as held:
        with _told_as_write_error(path):
            held.enter_context(locked(path))
        yield


def _refuse_an_untrusted_folder(path: Path) -> None:
    untrusted = trust.untrusted(path.parent, elsewhere=ELSEWHERE)
    if untrusted is not None:
        raise ProfilesFileTrustError(
            path=path.parent,
            problem=untrusted.problem,
            refused=f"{path} is not written there",
            fix=untrusted.fix,
        )


def _write(path: Path, content: str | bytes) -> None:
    """Write ``path`` atomically; a file others could read is made private, and said so."""
    with _told_as_write_error(path):
        loosened = write_atomic(path, content, private=True)
    if loosened is not None:
        tight = private_mode(loosened)
        log.warning("tightened %s from %04o to %04o: others could read it.", path, loosened, tight)


# --- one edit -----------------------------------------------------------------------------


def read_document(path: Path) -> tuple[str, dict[str, Any]] | None:
    """The file's text exactly as stored (line endings kept) and its data, or None when
    there is no file.

    A directory, a file others can write and a broken file (reported with its line
    and column) are refused, never edited; a file others can read is warned about.
    """
    if not path.exists():
        return None
    check_permissions(path)
    text = read_file(path)
    return text, parse_text(path, text)


Change = Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]


def _comparable(data: Mapping[str, Any]) -> dict[str, Any]:
    # An empty `profiles` table and none at all mean the same file.
    return {k: v for k, v in data.items() if not (k == "profiles" and v == {})}


def edit_file(path: Path, change: Change, *, action: str, profile: str) -> bool:
    """Apply ``change`` to ``path`` under its lock; True when the file was created.

    ``change(text, data)`` gets the current text and its parsed data and returns
    the new text and the data that text must parse to; any difference, like a
    text the edit could not splice cleanly, leaves the file as it was.
    """
    with _writing(path):
        remove_stale_temp_files(path)
        found = read_document(path)
        created = found is None
        old_text, old_data = found if found is not None else ("", {})
        try:
            new_text, expected = change(old_text, old_data)
            if new_text == old_text and not created:
                return False
            try:
                parsed = tomllib.loads(new_text)
            except tomllib.TOMLDecodeError as exc:
                raise EditWouldNotParseError(problem=str(exc)) from None
            if _comparable(parsed) != _comparable(expected):
                raise EditMismatchError()
        except CannotEditError as exc:
            raise FileEditError(action=action, profile=profile, path=path, why=str(exc)) from None
        _write(path, new_text)
    return created


# --- the edits the command line makes -----------------------------------------------------


@dataclass(frozen=True)
class AddResult:
    path: Path
    created_file: bool
    replaced: bool
    #: The file whose `default` now names the profile, if the add made it the default.
    default_in: Path | None


@dataclass(frozen=True)
class RemoveResult:
    path: Path
    #: Files whose `default` named the profile, and lost that line.
    default_removed_from: tuple[Path, ...]


@dataclass(frozen=True)
class RenameResult:
    path: Path
    #: Files whose `default` named the old name, now the new one.
    default_renamed_in: tuple[Path, ...]


def _profiles(data: Mapping[str, Any]) -> dict[str, Any]:
    profiles = data.get("profiles", {})
    return dict(profiles) if isinstance(profiles, Mapping) else {}


def add_profile(
    name: str,
    values: Mapping[str, Any],
    *,
    replace: bool = False,
    make_default: bool = False,
    config: ProfilesConfig | None = None,
) -> AddResult:
    """Add profile ``name`` to the first file, or with ``replace`` overwrite it where it is.

    The first profile of a set of files with no `default` becomes the default.
    """
    validate_name(name)
    values = dict(values)
    validate_profile(name, values, "the command line")
    config = config if config is not None else load_config()
    existing = config.profiles.get(name)
    if existing is not None and not replace:
        raise ProfileExistsError(profile=name, path=existing.file)
    path = existing.file if existing is not None else config.files[0]
    to_default = make_default or (not config.profiles and config.default is None)
    default_here = to_default and path == config.files[0]

    def change(text: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        profiles = _profiles(data)
        if name in profiles and not replace:
            raise ProfileExistsError(profile=name, path=path)
        if name in profiles:
            new_text = replace_profile_text(text, name, values)
        else:
            new_text = add_profile_text(text, name, values)
        profiles[name] = values
        data["profiles"] = profiles
        if default_here:
            new_text = _retarget_default(new_text, data, name)
        return new_text, data

    created = edit_file(path, change, action="add profile", profile=name)
    default_in: Path | None = path if default_here else None
    if to_default and not default_here:
        # Only a replaced profile lives outside the first file, so `config` already has it.
        default_in = set_default_profile(name, config=config)
    return AddResult(
        path=path, created_file=created, replaced=existing is not None, default_in=default_in
    )


def remove_profile(name: str, *, config: ProfilesConfig | None = None) -> RemoveResult:
    """Remove profile ``name`` from the file that defines it, and every `default` naming it.

    The file only: :mod:`kfp_profiles.profile_ops` deletes its password and session too.
    """
    config = config if config is not None else load_config()
    path, cleared = _remove_or_rename(name, None, config)
    return RemoveResult(path=path, default_removed_from=cleared)


def rename_profile(old: str, new: str, *, config: ProfilesConfig | None = None) -> RenameResult:
    """Rename profile ``old`` in the file that defines it; every `default` naming it follows.

    The file only: :mod:`kfp_profiles.profile_ops` moves its password and session too.
    """
    validate_name(new)
    config = config if config is not None else load_config()
    if new in config.profiles and old in config.profiles:  # an unknown `old` is told first
        raise RenameTargetExistsError(profile=new, path=config.profiles[new].file)
    path, renamed = _remove_or_rename(old, new, config)
    return RenameResult(path=path, default_renamed_in=renamed)


def _remove_or_rename(
    name: str, new: str | None, config: ProfilesConfig
) -> tuple[Path, tuple[Path, ...]]:
    """Remove profile ``name`` (``new`` None) or rename it to ``new``, where it is defined.

    Every `default` naming it follows, in every file. Returns the profile's file and
    the files whose `default` changed.
    """
    entry = config.profiles.get(name)
    if entry is None:
        raise config.profile_not_found(name)
    followed: list[Path] = []

    def change(text: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        profiles = _profiles(data)
        if name not in profiles:
            raise config.profile_not_found(name)
        if new is None:
            new_text = remove_profile_text(text, name)
            del profiles[name]
        else:
            new_text = rename_profile_text(text, name, new)
            profiles[new] = profiles.pop(name)
        data["profiles"] = profiles
        if data.get("default") == name:
            new_text = _retarget_default(new_text, data, new)
            followed.append(entry.file)
        return new_text, data

    action = "remove profile" if new is None else "rename profile"
    edit_file(entry.file, change, action=action, profile=name)
    for path in config.existing_files:
        if path != entry.file and _change_default(path, only_if=name, new=new):
            followed.append(path)
    return entry.file, tuple(followed)


def set_default_profile(name: str, *, config: ProfilesConfig | None = None) -> Path:
    """Make ``name`` the default, in the first file (whose `default` wins over the others')."""
    config = config if config is not None else load_config()
    if name not in config.profiles:
        raise config.profile_not_found(name)
    path = config.files[0]
    _change_default(path, only_if=None, new=name)
    return path


def clear_default(*, config: ProfilesConfig | None = None) -> Path | None:
    """Remove `default` from the file that sets it; that file, or None when none did."""
    config = config if config is not None else load_config()
    if config.default_file is None:
        return None
    _change_default(config.default_file, only_if=None, new=None)
    return config.default_file


def _change_default(path: Path, *, only_if: str | None, new: str | None) -> bool:
    """Set (or with None remove) `default` in ``path``; True when the file changed.

    With ``only_if``, only a `default` naming that profile is changed.
    """
    changed: list[bool] = []

    def change(text: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if only_if is not None and data.get("default") != only_if:
            return text, data
        new_text = _retarget_default(text, data, new)
        changed.append(new_text != text)
        return new_text, data

    if only_if is not None and not path.is_file():
        return False
    action = "remove the default" if new is None else "make the default"
    edit_file(path, change, action=action, profile=new or only_if or "?")
    return any(changed)


def _retarget_default(text: str, data: dict[str, Any], name: str | None) -> str:
    """``text`` with `default` naming ``name`` (removed for None); ``data`` follows."""
    if name is None:
        data.pop("default", None)
    else:
        data["default"] = name
    return set_default_text(text, name)


# --- a new file ---------------------------------------------------------------------------


def init_file(path: Path, *, force: bool = False) -> Path | None:
    """Write the commented starter file and the schema it names; returns where a replaced
    file was backed up."""
    from .starter import SCHEMA_FILE_NAME, schema_text, starter_file

    with _writing(path):
        backup: Path | None = None
        if path.exists():
            if not path.is_file():  # --force must not back up, then replace, a directory
                raise not_a_file_error(path)
            if not force:
                raise ProfilesFileExistsError(path=path)
            backup = path.with_name(path.name + ".bak")
            _write(backup, path.read_bytes())
        _write(path, starter_file())
        # Beside it, the schema its first line names, for editors that validate as you type.
        _write(path.with_name(SCHEMA_FILE_NAME), schema_text())
        return backup
