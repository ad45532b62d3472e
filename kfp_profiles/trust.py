"""Whether a file is this user's to trust, as ssh's StrictModes decides it.

A file is trusted when it, every folder above it and every symlink on the way
to it belong to this user or to root, and no one else can change them: the
file is not writable by group or others, and no folder is writable by them
unless it has the sticky bit (as ``/tmp`` has). The walk up stops at the first
folder root owns that no one else can write: what lies above it is the
system's. A symlink is followed one component at a time, so one made by
another user (say in ``/tmp``) is caught even when it points at a good file.

Nothing can be written through a read-only mount (a Kubernetes ConfigMap or a
projected token, mounted root-owned 0644 behind ``..data`` symlinks), so
there a mode is no reason for distrust, and no advice to ``chmod`` is given
where this user could not follow it (:attr:`Inspection.can_chmod`).

The answer is an :class:`Inspection` whose ``untrusted`` says what is wrong
and the fix; each caller turns it into the error of its own area.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["Inspection", "Untrusted", "inspect", "read_only", "untrusted"]

#: As the kernel's limit on symlinks followed in one lookup.
_MAX_LINKS = 40
#: What to do about a folder others can change, unless a caller words it for its file.
MOVE_IT = "move it to a folder only you can write"


@dataclass(frozen=True)
class Untrusted:
    """Why a path is not trusted, worded to follow the path: ``f"{path} {problem}"``."""

    path: Path
    #: e.g. "is inside /srv/shared, which other users can write (mode 0777, no sticky bit)".
    problem: str
    #: e.g. "run `chmod go-w /srv/shared`, or move it to a folder only you can write".
    fix: str


@dataclass(frozen=True)
class Inspection:
    """What :func:`inspect` found: the real file, its mode and owner, and any distrust."""

    real: Path
    mode: int
    uid: int
    #: On a read-only mount: nobody changes it through this path.
    read_only: bool
    untrusted: Untrusted | None = None

    @property
    def can_chmod(self) -> bool:
        """True when this user could change its mode: theirs (or root is asking), and writable."""
        return _may_chmod(self.uid) and not self.read_only


def read_only(path: Path) -> bool:
    """True when ``path`` is on a read-only mount."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def inspect(path: str | Path, *, chmod_to: str = "go-w", elsewhere: str = MOVE_IT) -> Inspection:
    """Look at ``path`` (a file or a folder) and everything its trust rests on.

    ``chmod_to`` is the mode a fix should give a writable file (``600`` for the
    profiles file), ``elsewhere`` how to move the file out of a bad folder in the
    caller's words. A missing or unreachable path raises the :class:`OSError`
    opening it would, for the caller to tell as it tells that.
    """
    path = Path(path)
    if os.name != "posix":  # pragma: no cover - modes and owners are POSIX's
        mode = stat.S_IMODE(os.stat(path).st_mode)
        return Inspection(real=Path(os.path.realpath(path)), mode=mode, uid=0, read_only=False)
    given = Path(os.path.abspath(path))  # for the wording only
    real, link = _follow(path)
    info = os.lstat(real)
    mode = stat.S_IMODE(info.st_mode)
    found = Inspection(real=real, mode=mode, uid=info.st_uid, read_only=read_only(real))
    is_dir = stat.S_ISDIR(info.st_mode)
    problem: Untrusted | None
    if link is not None:
        at, owner = link
        where = "is a symlink" if at == given else f"is reached through the symlink {at},"
        problem = Untrusted(
            path,
            f"{where} made by {_who(owner)}, not by you or root",
            f"replace it with a link of your own, or {_chown_fix(at, link=True)}",
        )
    elif is_dir:
        problem = _folder_problem(path, given, real, (real, *real.parents), elsewhere)
    else:
        problem = _file_problem(path, given, found, chmod_to) or _folder_problem(
            path, given, real, real.parents, elsewhere
        )
    return replace(found, untrusted=problem)


def untrusted(path: str | Path, **wording: str) -> Untrusted | None:
    """What is wrong with ``path``, or None: also None when it cannot be looked at, so the
    caller's own open reports that (a missing file, a folder it may not enter)."""
    try:
        return inspect(path, **wording).untrusted
    except OSError:
        return None


# --- the parts -----------------------------------------------------------------------------


def _trusted_owner(uid: int) -> bool:
    return uid in (os.getuid(), 0)


def _may_chmod(uid: int) -> bool:
    return os.name == "posix" and (uid == os.getuid() or os.getuid() == 0)


def _who(uid: int) -> str:
    import pwd

    try:
        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _me() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _chown_fix(path: Path, *, link: bool = False) -> str:
    sudo = "" if os.getuid() == 0 else "sudo "
    option = "-h " if link else ""
    return f"run `{sudo}chown {option}{_me()} {path}` if it is meant to be yours"


def _follow(path: Path) -> tuple[Path, tuple[Path, int] | None]:
    """The real path of ``path``, resolving one component at a time, and the first symlink
    on the way that belongs to neither this user nor root (with its owner)."""
    whole = Path(os.getcwd(), path)  # an absolute path wins over the working directory
    todo = list(reversed(whole.parts[1:]))
    real = Path(whole.anchor)
    links = 0
    while todo:
        part = todo.pop()
        if part == "..":
            real = real.parent
            continue
        candidate = real / part
        info = os.lstat(candidate)
        if not stat.S_ISLNK(info.st_mode):
            real = candidate
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
        if not _trusted_owner(info.st_uid):
            return Path(os.path.realpath(whole)), (candidate, info.st_uid)
        target = Path(os.readlink(candidate))
        if target.is_absolute():
            real = Path(target.anchor)
            todo.extend(reversed(target.parts[1:]))
        else:
            todo.extend(reversed(target.parts))
    return real, None


def _file_problem(path: Path, given: Path, found: Inspection, chmod_to: str) -> Untrusted | None:
    """Another user's file, or one others can write (unless nothing can be written there)."""
    which = "" if found.real == given else f"links to {found.real}, which "
    if not _trusted_owner(found.uid):
        return Untrusted(
            path,
            f"{which}is owned by {_who(found.uid)}, not by you or root",
            f"{_chown_fix(found.real)}, or copy it to a file of your own",
        )
    if found.mode & 0o022 and not found.read_only:
        if found.can_chmod:
            fix = f"run `chmod {chmod_to} {found.real}`"
        else:
            fix = f"ask {_who(found.uid)} to run `chmod go-w {found.real}`, or copy it to a file"
            fix += " of your own"
        return Untrusted(path, f"{which}can be written by other users", fix)
    return None


def _folder_problem(
    path: Path, given: Path, real: Path, folders: Sequence[Path], elsewhere: str
) -> Untrusted | None:
    """The first of ``folders`` (``real``'s, upwards) that others own or can write."""
    for folder in folders:
        info = os.lstat(folder)
        mode = stat.S_IMODE(info.st_mode)
        if not _trusted_owner(info.st_uid):
            owned = _which(given, real, folder, "is owned by", "is owned by")
            return Untrusted(path, f"{owned} {_who(info.st_uid)}, not by you or root", elsewhere)
        if mode & 0o022 and not mode & stat.S_ISVTX and not read_only(folder):
            writable = _which(given, real, folder, "can be written by", "other users can write")
            if writable.endswith(" by"):
                writable += " other users"
            fix = (
                f"run `chmod go-w {folder}`, or {elsewhere}"
                if _may_chmod(info.st_uid)
                else elsewhere
            )
            return Untrusted(path, f"{writable} (mode {mode:04o}, no sticky bit)", fix)
        if info.st_uid == 0 and not mode & 0o022:
            return None  # root's and closed to others: the system's from here up
    return None


def _which(given: Path, real: Path, folder: Path, itself: str, other: str) -> str:
    """How a problem of ``folder`` reads after the path the user gave."""
    if folder == real == given:
        return itself
    if folder == real:
        return f"links to {real}, which {other}"
    if real == given:
        return f"is inside {folder}, which {other}"
    return f"links into {folder}, which {other}"
