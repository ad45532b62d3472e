"""Change a profiles file a person wrote without losing a byte of what they wrote.

Every edit is a read-modify-write under a lock (``fcntl.flock`` on a sibling
``.profiles.toml.lock``), so concurrent writers never lose each other's
profiles; the new text goes to a temp file in the same folder, is fsynced and
renamed over the old one, so a crash leaves either the old file or the new one,
whole. New files are 0600 in a 0700 folder; an existing file keeps its mode.

What an edit may touch is the edited profile (its ``[profiles.NAME]`` header,
its body, and the comment lines that sit directly on it) or the ``default``
line. Everything else survives byte for byte: comments, blank lines, ordering,
quoting, line endings. That rules out round-tripping the whole document
through a TOML library: tomlkit, like every style-keeping parser, files a
comment that stands above ``[profiles.prod]`` in the body of the table before
it, so deleting or moving that table through the library drops or misplaces a
comment that belongs to its neighbour. So edits here are splices of the
file's own lines, located by a small line classifier that knows TOML strings
and multi-line arrays; tomlkit edits the inside of one profile (``add
--replace``) and the ``default`` value, where it keeps inline comments, and
``tomli-w`` renders the tables the tool generates. Each result is parsed again
and compared with the data the edit should produce; a mismatch leaves the file
untouched and says so.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import (
    ConfigError,
    FileEditError,
    ProfileExistsError,
    ProfilesFileExistsError,
    ProfilesFileLockedError,
    ProfilesFileWriteError,
)
from .files import (
    BARE_KEY,
    ProfilesConfig,
    check_permissions,
    load_config,
    not_a_file_error,
    parse_text,
    read_file,
    render_key,
    tomllib,
)
from .models import validate_profile

#: A writer that finds this variable set stops between writing the temp file and
#: the rename, creates the file it names, and waits until that file is deleted:
#: lets tests kill a writer at the worst moment, deterministically.
PAUSE_BEFORE_RENAME_ENV = "KFP_PROFILES_TEST_PAUSE_BEFORE_RENAME"
#: How long a writer waits for another one to finish before giving up.
LOCK_TIMEOUT_SECONDS = 10.0
FILE_MODE = 0o600
FOLDER_MODE = 0o700

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")
_NAME_MAX = 128


def validate_name(name: str) -> str:
    """Refuse a profile name that would not survive TOML, shells and the keyring."""
    if len(name) > _NAME_MAX or not _NAME.fullmatch(name):
        raise ConfigError(
            f"'{name}' is not a usable profile name: use letters, digits, '-', '_', '.' "
            f"or '@', starting with a letter or digit (at most {_NAME_MAX} characters)."
        )
    return name


# --- the lines of a file ------------------------------------------------------------------

LineKind = Literal["blank", "comment", "header", "content"]


@dataclass(frozen=True)
class _Line:
    text: str  # with its line ending
    kind: LineKind
    #: The table a header line opens, e.g. ("profiles", "dev"); None for other lines.
    table: tuple[str, ...] | None = None
    array: bool = False  # [[...]]


def _classify(text: str) -> list[_Line]:
    """Each line of ``text`` and what it is; continuation lines of values are content."""
    lines: list[_Line] = []
    open_string: str | None = None  # '"""' or "'''" while inside a multi-line string
    depth = 0  # open [ and { of a value that spans lines
    for raw in text.splitlines(keepends=True):
        stripped = raw.strip()
        if open_string is not None or depth > 0:
            open_string, depth = _advance(raw, open_string, depth)
            lines.append(_Line(raw, "content"))
        elif not stripped:
            lines.append(_Line(raw, "blank"))
        elif stripped.startswith("#"):
            lines.append(_Line(raw, "comment"))
        elif stripped.startswith("["):
            table, array, _ = _parse_header(raw)
            lines.append(_Line(raw, "header", table, array))
        else:
            open_string, depth = _advance(raw, open_string, depth)
            lines.append(_Line(raw, "content"))
    return lines


def _advance(line: str, open_string: str | None, depth: int) -> tuple[str | None, int]:
    """The string and bracket state after ``line``, given the state before it."""
    i, n = 0, len(line)
    while i < n:
        if open_string is not None:
            if open_string == '"""' and line[i] == "\\":
                i += 2
                continue
            if line.startswith(open_string, i):
                run = len(line[i:]) - len(line[i:].lstrip(open_string[0]))
                i += run  # up to two quotes of content may precede the closing three
                open_string = None
                continue
            i += 1
            continue
        char = line[i]
        if char == "#":
            break
        if char in "\"'":
            triple = char * 3
            if line.startswith(triple, i):
                open_string = triple
                i += 3
                continue
            i += 1
            while i < n and line[i] != char and line[i] not in "\r\n":
                i += 2 if char == '"' and line[i] == "\\" else 1
            i += 1
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return open_string, depth


def _parse_header(line: str) -> tuple[tuple[str, ...] | None, bool, int]:
    """(key path, is-array, index just past the closing bracket) of a table header line."""
    i = len(line) - len(line.lstrip())
    array = line.startswith("[[", i)
    i += 2 if array else 1
    keys: list[str] = []
    while True:
        while i < len(line) and line[i] in " \t":
            i += 1
        if i >= len(line):
            return None, array, i
        char = line[i]
        if char in "\"'":
            end = i + 1
            while end < len(line) and line[end] != char:
                end += 2 if char == '"' and line[end] == "\\" else 1
            raw = line[i : end + 1]
            try:
                keys.append(str(tomllib.loads(f"k = {raw}")["k"]))
            except tomllib.TOMLDecodeError:
                return None, array, end
            i = end + 1
        else:
            found = BARE_KEY.match(line, i)
            if not found:
                return None, array, i
            keys.append(found.group())
            i = found.end()
        while i < len(line) and line[i] in " \t":
            i += 1
        if line.startswith(".", i):
            i += 1
            continue
        closing = "]]" if array else "]"
        if line.startswith(closing, i):
            return tuple(keys), array, i + len(closing)
        return None, array, i


def render_profile(name: str, values: Mapping[str, Any]) -> str:
    """The ``[profiles.NAME]`` table for a new profile, rendered by tomli-w."""
    import tomli_w

    body = tomli_w.dumps(dict(values))
    return f"[profiles.{render_key(name)}]\n{body}"


@dataclass(frozen=True)
class _Span:
    """Where one profile sits: [lead, header) attached comments, the header, body to end."""

    lead: int
    header: int
    body_end: int  # one past its last key/value line
    end: int  # one past the comment lines attached below it


class _Layout:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = _classify(text)
        self.newline = "\r\n" if "\r\n" in text else "\n"

    def join(self, lines: list[_Line] | list[str]) -> str:
        return "".join(line if isinstance(line, str) else line.text for line in lines)

    def headers(self) -> list[int]:
        return [i for i, line in enumerate(self.lines) if line.kind == "header"]

    def span_of(self, name: str) -> _Span | None:
        """The profile's lines, or None when it is not written as a [profiles.NAME] table."""
        own = ("profiles", name)
        starts = [
            i
            for i, line in enumerate(self.lines)
            if line.kind == "header" and line.table == own and not line.array
        ]
        nested = [
            i
            for i, line in enumerate(self.lines)
            if line.kind == "header" and line.table and line.table[:2] == own and line.table != own
        ]
        if len(starts) != 1 or nested:
            return None
        header = starts[0]
        following = [i for i in self.headers() if i > header]
        next_header = following[0] if following else len(self.lines)
        body_end = header + 1
        for i in range(header + 1, next_header):
            if self.lines[i].kind == "content":
                body_end = i + 1
        end = body_end
        while end < next_header and self.lines[end].kind == "comment":
            end += 1
        if end == next_header and following:
            end = body_end  # comments touching the next header are that table's own
        lead = header
        while lead > 0 and self.lines[lead - 1].kind == "comment":
            lead -= 1
        run = self.lines[lead:header]
        # The file's opening comment, and `#:schema`-style directives, are the file's.
        if lead == 0 or any(line.text.lstrip().startswith("#:") for line in run):
            lead = header
        return _Span(lead=lead, header=header, body_end=body_end, end=end)

    def top_level_end(self) -> int:
        """One past the last key/value line before the first table."""
        first = self.headers()[0] if self.headers() else len(self.lines)
        last = 0
        for i in range(first):
            if self.lines[i].kind == "content":
                last = i + 1
        return last


def _with_final_newline(text: str, newline: str) -> str:
    return text if not text or text.endswith(("\n", "\r")) else text + newline


def _to_newline(text: str, newline: str) -> str:
    return text.replace("\n", newline) if newline != "\n" else text


def add_profile_text(text: str, name: str, values: Mapping[str, Any]) -> str:
    """``text`` with a new ``[profiles.NAME]`` table appended, after a blank line."""
    layout = _Layout(text)
    block = _to_newline(render_profile(name, values), layout.newline)
    result = _with_final_newline(text, layout.newline)
    if result.strip() and not result.endswith(layout.newline * 2):
        result += layout.newline
    return result + block


def replace_profile_text(text: str, name: str, values: Mapping[str, Any]) -> str:
    """``text`` with the body of profile ``name`` set to exactly ``values``.

    tomlkit edits the body in place, so the comments inside the profile and the
    position of the keys that stay are kept.
    """
    import tomlkit

    layout = _Layout(text)
    span = _require_span(layout, name)
    body = layout.join(layout.lines[span.header + 1 : span.body_end])
    document = tomlkit.parse(body)
    for key in [key for key in document if key not in values]:
        del document[key]
    for key, value in values.items():
        if key not in document or document[key] != value:
            document[key] = value
    new_body = _with_final_newline(document.as_string(), layout.newline)
    before = layout.join(layout.lines[: span.header + 1])
    after = layout.join(layout.lines[span.body_end :])
    return before + new_body + after


def remove_profile_text(text: str, name: str) -> str:
    """``text`` without profile ``name`` and the comment lines attached to it."""
    layout = _Layout(text)
    span = _require_span(layout, name)
    lines = layout.lines
    start, end = span.lead, span.end
    while end < len(lines) and lines[end].kind == "blank":
        end += 1
    if end == len(lines):  # last in the file: also drop the blank lines that led to it
        while start > 0 and lines[start - 1].kind == "blank":
            start -= 1
    return layout.join(lines[:start]) + layout.join(lines[end:])


def rename_profile_text(text: str, old: str, new: str) -> str:
    """``text`` with the header of profile ``old`` renamed; its body stays as it is."""
    layout = _Layout(text)
    span = _require_span(layout, old)
    line = layout.lines[span.header].text
    _, _, past = _parse_header(line)
    indent = line[: len(line) - len(line.lstrip())]
    renamed = f"{indent}[profiles.{render_key(new)}]{line[past:]}"
    lines = [entry.text for entry in layout.lines]
    lines[span.header] = renamed
    return "".join(lines)


def set_default_text(text: str, name: str | None) -> str:
    """``text`` with ``default = "NAME"`` set (or removed, for None), nothing else moved."""
    import tomlkit

    layout = _Layout(text)
    document = tomlkit.parse(text)
    if "default" in document:
        if name is None:
            del document["default"]
        else:
            document["default"] = name
        return document.as_string()
    if name is None:
        return text
    line = f"default = {json.dumps(name)}{layout.newline}"
    lines = [entry.text for entry in layout.lines]
    at = layout.top_level_end()
    if at == 0:  # no top-level keys: after the file's opening comment, before any table
        while at < len(lines) and layout.lines[at].kind == "comment":
            at += 1
        if at < len(lines) and layout.lines[at].kind != "blank":
            line += layout.newline
    if at > 0 and lines[at - 1] and not lines[at - 1].endswith(("\n", "\r")):
        lines[at - 1] += layout.newline
    return "".join(lines[:at]) + line + "".join(lines[at:])


class CannotEditError(Exception):
    """Internal: this edit cannot be made without touching lines outside the profile."""


def _require_span(layout: _Layout, name: str) -> _Span:
    span = layout.span_of(name)
    if span is None:
        raise CannotEditError(
            f"the profile is not written as one [profiles.{render_key(name)}] table"
        )
    return span


# --- locking and atomic writes ------------------------------------------------------------


def lock_path(path: Path) -> Path:
    """The sibling file whose lock guards ``path``'s read-modify-write.

    Beside the real file, not a symlink to it: two links to one file share one lock.
    """
    target = Path(os.path.realpath(path))
    return target.with_name(f".{target.name}.lock")


@contextlib.contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the edit lock of ``path`` (waiting up to ``timeout`` for another writer)."""
    timeout = LOCK_TIMEOUT_SECONDS if timeout is None else timeout
    lock_file = lock_path(path)
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise ProfilesFileWriteError(path=path, problem=_os_problem(exc)) from None
    try:
        _acquire(fd, path, lock_file, timeout)
        yield
    finally:
        os.close(fd)  # closing releases the lock, also when the process dies


def _acquire(fd: int, path: Path, lock_file: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise ProfilesFileWriteError(path=path, problem=_os_problem(exc)) from None
        if time.monotonic() >= deadline:
            raise ProfilesFileLockedError(path=path, lock=lock_file, seconds=timeout)
        time.sleep(0.02)


def _os_problem(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or type(exc).__name__}{where}"


def ensure_folder(folder: Path) -> None:
    """Create ``folder`` 0700 when missing; an existing one keeps its mode (it may be the SDK's)."""
    if folder.is_dir():
        return
    try:
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        os.chmod(folder, FOLDER_MODE)
    except OSError as exc:
        raise ProfilesFileWriteError(path=folder, problem=_os_problem(exc)) from None


def write_atomic(path: Path, content: str | bytes) -> None:
    """Replace ``path`` with ``content``: temp file in the same folder, fsync, rename.

    A new file is 0600; an existing one keeps its mode. A symlink is followed,
    so a dotfiles link keeps pointing at the file it names. Text is written as
    UTF-8 with its line endings untouched.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    target = Path(os.path.realpath(path))
    folder = target.parent
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = FILE_MODE
    try:
        fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ProfilesFileWriteError(path=path, problem=_os_problem(exc)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if os.name == "posix":
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        _pause_for_tests(temp_name)
        os.replace(temp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(exc, OSError):
            raise ProfilesFileWriteError(path=path, problem=_os_problem(exc)) from None
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable, best effort: the rename has already happened, so
    # a folder that cannot be opened or synced is no reason to report a failed edit.
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _pause_for_tests(temp_name: str) -> None:
    marker = os.environ.get(PAUSE_BEFORE_RENAME_ENV)
    if not marker:
        return
    Path(marker).write_text(temp_name, encoding="utf-8")
    while os.path.exists(marker):
        time.sleep(0.01)


def _remove_stale_temp_files(path: Path) -> None:
    """Delete temp files of writers that died before their rename (we hold the lock)."""
    target = Path(os.path.realpath(path))
    for leftover in target.parent.glob(f".{target.name}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


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
    ensure_folder(path.parent)
    with locked(path):
        _remove_stale_temp_files(path)
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
                raise CannotEditError(f"the result would not parse: {exc}") from None
            if _comparable(parsed) != _comparable(expected):
                raise CannotEditError("the result would not hold exactly this change")
        except CannotEditError as exc:
            raise FileEditError(action=action, profile=profile, path=path, why=str(exc)) from None
        write_atomic(path, new_text)
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
        raise ProfileExistsError(
            profile=name, path=existing.file, fix="pass --replace to overwrite it"
        )
    path = existing.file if existing is not None else config.files[0]
    to_default = make_default or (not config.profiles and config.default is None)
    default_here = to_default and path == config.files[0]

    def change(text: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        profiles = _profiles(data)
        if name in profiles and not replace:
            raise ProfileExistsError(profile=name, path=path, fix="pass --replace to overwrite it")
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
    """Remove profile ``name`` from the file that defines it, and every `default` naming it."""
    config = config if config is not None else load_config()
    path, cleared = _remove_or_rename(name, None, config)
    return RemoveResult(path=path, default_removed_from=cleared)


def rename_profile(old: str, new: str, *, config: ProfilesConfig | None = None) -> RenameResult:
    """Rename profile ``old`` in the file that defines it; every `default` naming it follows."""
    validate_name(new)
    config = config if config is not None else load_config()
    if new in config.profiles and old in config.profiles:  # an unknown `old` is told first
        raise ProfileExistsError(
            profile=new,
            path=config.profiles[new].file,
            fix=f"choose another name, or remove it first with `kfp-profiles remove {new}`",
        )
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

STARTER_FILE = """\
# Connection profiles for the Kubeflow Pipelines SDK (kfp-profiles).
#
#   from kfp_profiles import get_client
#   client = get_client("dev")        # or get_client() with KFP_PROFILE=dev
#
# Add profiles with `kfp-profiles add NAME --kind KIND ...` or by hand below;
# `kfp-profiles list` shows them and `kfp-profiles check NAME` tries one.
# Passwords never go in this file: `kfp-profiles secret set NAME` stores one
# in the OS keyring (or set KFP_PASSWORD for one process).
# Editors validate this file against `kfp-profiles schema` (save its output and
# name it in a `#:schema <path>` first line: Taplo, VS Code's Even Better TOML).

version = 1
# default = "dev"                   # used when no name is given and KFP_PROFILE is unset

# A laptop reaching a standalone KFP: kubectl port-forward is started for you.
# [profiles.dev]
# kind = "standalone-port-forward"
# k8s_namespace = "kubeflow"
# local_port = 3000
# kube_context = "kind-kfp"         # kubectl's current context when unset

# A laptop logging in to a Kubeflow Platform through Dex.
# [profiles.prod]
# kind = "platform-dex"
# host = "https://kubeflow.example.com/pipeline"
# username = "user@example.com"
# connector = "local"               # or "ldap"
# namespace = "kubeflow-user-example-com"
# ca_bundle = "~/certs/corp-ca.pem"

# A notebook or pipeline pod of a Kubeflow Platform (projected ServiceAccount token).
# [profiles.in-cluster]
# kind = "platform-in-cluster"
# namespace = "kubeflow-user-example-com"   # the pod's own namespace when unset

# A pod talking to a standalone KFP.
# [profiles.standalone]
# kind = "standalone-in-cluster"
# k8s_namespace = "kubeflow"
"""


def init_file(path: Path, *, force: bool = False) -> Path | None:
    """Write the commented starter file; returns where a replaced file was backed up."""
    ensure_folder(path.parent)
    with locked(path):
        backup: Path | None = None
        if path.exists():
            if not path.is_file():  # --force must not back up, then replace, a directory
                raise not_a_file_error(path)
            if not force:
                raise ProfilesFileExistsError(path=path)
            backup = path.with_name(path.name + ".bak")
            write_atomic(backup, path.read_bytes())
        write_atomic(path, STARTER_FILE)
        return backup
