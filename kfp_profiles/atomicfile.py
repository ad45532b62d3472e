"""Write a private file atomically (temp file, fsync, rename) under an advisory lock.

A crash leaves the old file or the new one, whole: the new bytes go to a temp
file in the same folder, are fsynced and renamed over the old file, and the
folder is fsynced so the rename lasts. New files are 0600 in a 0700 folder. A
read-modify-write holds :func:`locked` (``fcntl.flock`` on the file's folder:
no lock file beside it), so concurrent writers never lose each other's changes, and
may then :func:`remove_stale_temp_files` of writers that died before their
rename.

Failures are the :class:`OSError` that caused them, for the caller to tell in
its own words (:mod:`kfp_profiles.editing` for the profiles file,
:mod:`kfp_profiles.session` for cached sessions); only a lock held too long by
another writer is :class:`~kfp_profiles.errors.ProfilesFileLockedError`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import ProfilesFileLockedError

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "LOCK_TIMEOUT_SECONDS",
    "ensure_folder",
    "lock_path",
    "locked",
    "private_mode",
    "remove_stale_temp_files",
    "write_atomic",
]

#: How long a writer waits for another one to finish before giving up.
LOCK_TIMEOUT_SECONDS = 10.0
FILE_MODE = 0o600
FOLDER_MODE = 0o700


# --- the lock -----------------------------------------------------------------------------


def lock_path(path: Path) -> Path:
    """What is locked to guard ``path``'s read-modify-write: the folder of the real file.

    The folder itself, so no lock file is ever left beside the user's file (and none
    is deleted, which would let two writers each hold a lock of their own); the real
    file's folder, not a symlink's, so two links to one file share one lock. Where a
    folder cannot be locked (Windows, a folder this user cannot open), a lock file
    beside the real file serves, and stays.
    """
    return Path(os.path.realpath(path)).parent


@contextlib.contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the edit lock of ``path`` (waiting up to ``timeout`` for another writer)."""
    timeout = LOCK_TIMEOUT_SECONDS if timeout is None else timeout
    lock_file = lock_path(path)
    try:
        if sys.platform == "win32":
            raise PermissionError  # no folder locks there: the sibling file below
        fd = os.open(lock_file, os.O_RDONLY | os.O_DIRECTORY)
    except PermissionError:  # a folder this user may write to but not open (mode -wx)
        lock_file = Path(os.path.realpath(path)).with_name(f".{Path(path).name}.lock")
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, FILE_MODE)
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
                raise
        if time.monotonic() >= deadline:
            raise ProfilesFileLockedError(path=path, lock=lock_file, seconds=timeout)
        time.sleep(0.02)


# --- folders and files --------------------------------------------------------------------


def ensure_folder(folder: Path, *, tighten: bool = False) -> None:
    """Create ``folder`` 0700 when missing (missing folders above it too, 0700 at most).

    An existing folder keeps its mode (it may be the SDK's), unless ``tighten``: then
    one of this user's is made 0700 too (a cache only this tool uses). A symlink is
    never followed to change a mode: its target is not this tool's to set, so a
    symlinked folder is left as it is (whether to use it is :mod:`kfp_profiles.trust`'s
    question).
    """
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        _make_folders(folder)
        _set_folder_mode(folder)
        return
    if not os.path.isdir(folder):  # a file, or a link to none: as mkdir would say
        raise FileExistsError(errno.EEXIST, "Exists and is not a folder", str(folder))
    mine = stat.S_ISDIR(info.st_mode) and info.st_uid == _uid()
    if tighten and mine and stat.S_IMODE(info.st_mode) != FOLDER_MODE:
        _set_folder_mode(folder)


def _make_folders(folder: Path) -> None:
    # Path.mkdir(parents=True) makes the folders above with the umask's mode (0777 with
    # umask 0); made here, they are 0700 at most, so none is open to others.
    missing: list[Path] = []
    for above in (folder, *folder.parents):
        if os.path.lexists(above):
            break
        missing.append(above)
    for each in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by a concurrent writer meanwhile
            each.mkdir(mode=FOLDER_MODE)


def _set_folder_mode(folder: Path) -> None:
    """``chmod 700`` of the folder itself: O_NOFOLLOW refuses a symlink put in its place."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        if os.fstat(fd).st_uid == _uid():
            os.fchmod(fd, FOLDER_MODE)
    finally:
        os.close(fd)


def _uid() -> int:
    return os.getuid() if os.name == "posix" else 0


def private_mode(mode: int) -> int:
    """``mode`` with nothing for group and others: 0644 becomes 0600, 0755 becomes 0700."""
    return (mode & 0o700) | FILE_MODE


def write_atomic(
    path: Path,
    content: str | bytes,
    *,
    mode: int | None = None,
    follow_symlinks: bool = True,
    private: bool = False,
) -> int | None:
    """Replace ``path`` with ``content``: temp file in the same folder, fsync, rename.

    The file gets ``mode``; with None a new file is 0600 and an existing one keeps
    its mode, unless ``private``: then one others can read is tightened (0644 to
    0600) and the mode it had is returned, for the caller to say so (None when the
    mode was kept). A symlink is followed, so a dotfiles link keeps pointing at the
    file it names; with ``follow_symlinks=False`` the link itself is replaced (a
    cache file is ours alone, never a link to somewhere else). Text is written as
    UTF-8 with its line endings untouched. On failure the old file is as it was and
    no temp file is left.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    target = Path(os.path.realpath(path)) if follow_symlinks else path
    folder = target.parent
    loosened: int | None = None
    if mode is None:
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = FILE_MODE
        if private and mode & 0o077:
            loosened, mode = mode, private_mode(mode)
    # mkstemp creates the file 0600 from birth, in the same folder so os.replace is
    # an atomic rename: a reader sees the old file or the new one, whole.
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if os.name == "posix":
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_folder(folder)
    return loosened


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable, best effort: the rename has already happened, so
    # a folder that cannot be opened or synced is no reason to report a failed write.
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


def remove_stale_temp_files(path: Path) -> None:
    """Delete temp files of writers that died before their rename (hold the lock first)."""
    target = Path(os.path.realpath(path))
    for leftover in target.parent.glob(f".{target.name}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()
