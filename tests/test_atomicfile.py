"""Atomic writes and the edit lock: modes, symlinks, failures, concurrency, crashes.

Everything here uses real files, real permissions and real processes: the
concurrency test runs 20 `kfp-profiles add` processes at once, and the crash
test SIGKILLs a writer at the moment between its temp file and its rename.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles import atomicfile, editing
from kfp_profiles.errors import ProfilesFileLockedError
from kfp_profiles.files import load_config
from tests.handwritten import ORIGINAL, mode_of, text_of, write_original

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@pytest.fixture
def profiles_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_original(tmp_path / "conf" / "profiles.toml")
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


# --- files and folders: modes, symlinks, failures ------------------------------------------


def test_a_new_file_is_0600_and_an_existing_one_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "file.toml"
    old_umask = os.umask(0)  # the worst case: nothing masked by the process
    try:
        atomicfile.write_atomic(path, "new\r\n")
        assert mode_of(path) == 0o600
        assert path.read_bytes() == b"new\r\n"  # line endings untouched
        path.chmod(0o640)
        atomicfile.write_atomic(path, b"again")
        assert mode_of(path) == 0o640  # the user's mode is theirs
        atomicfile.write_atomic(path, "forced", mode=atomicfile.FILE_MODE)
        assert mode_of(path) == 0o600
    finally:
        os.umask(old_umask)
    assert path.read_text() == "forced"
    assert leftovers(tmp_path) == []


def test_a_symlink_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "file.toml"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    atomicfile.write_atomic(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"
    assert atomicfile.lock_path(link) == real.parent  # the real file's folder, not the link's


def test_a_cache_write_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("not ours to change")
    link = tmp_path / "session.json"
    link.symlink_to(elsewhere)
    atomicfile.write_atomic(link, "new", follow_symlinks=False)
    assert not link.is_symlink()
    assert link.read_text() == "new"
    assert elsewhere.read_text() == "not ours to change"


def test_a_failed_rename_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file.toml"
    path.write_text("old")

    def crash(src: Any, dst: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", crash)
        with pytest.raises(OSError, match="No space left on device"):
            atomicfile.write_atomic(path, "new")
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_a_missing_folder_is_made_0700_and_an_existing_one_is_tightened_only_when_asked(
    tmp_path: Path,
) -> None:
    made = tmp_path / "new" / "deeper"
    atomicfile.ensure_folder(made)
    assert mode_of(made) == 0o700
    shared = tmp_path / "sdk-folder"
    shared.mkdir()
    shared.chmod(0o755)  # e.g. the SDK's own ~/.config/kfp/
    atomicfile.ensure_folder(shared)
    assert mode_of(shared) == 0o755
    atomicfile.ensure_folder(shared, tighten=True)
    assert mode_of(shared) == 0o700


def test_stale_temp_files_of_that_file_only_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    for name in (".file.toml.abc123.tmp", ".other.toml.abc123.tmp", "file.toml"):
        (folder / name).write_text("x")
    atomicfile.remove_stale_temp_files(folder / "file.toml")
    assert sorted(p.name for p in folder.iterdir()) == [".other.toml.abc123.tmp", "file.toml"]


def test_a_folder_that_cannot_be_synced_does_not_fail_the_edit(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def open_files_only(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(os, "open", open_files_only)
        editing.add_profile("x", {"kind": "standalone-in-cluster"})  # the rename happened
    assert "x" in load_config().profiles


# --- locking, concurrency, crashes ---------------------------------------------------------


def test_a_held_lock_makes_a_writer_give_up_instead_of_hanging(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomicfile, "LOCK_TIMEOUT_SECONDS", 0.3)
    with atomicfile.locked(profiles_file):
        started = time.monotonic()
        with pytest.raises(ProfilesFileLockedError):
            editing.add_profile("x", {"kind": "standalone-in-cluster"})
        assert time.monotonic() - started < 10  # generous: it gave up rather than hang
    assert text_of(profiles_file) == ORIGINAL


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "kfp_profiles", *args]


def test_twenty_concurrent_adds_leave_twenty_profiles(profiles_file: Path) -> None:
    profiles_file.write_text("# concurrent writers\n")
    profiles_file.chmod(0o600)
    writers = [
        subprocess.Popen(
            _cli("add", f"p{n:02d}", "--kind", "standalone-in-cluster", "--no-input"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(20)
    ]
    outcomes = [(writer.wait(timeout=120), writer.communicate()) for writer in writers]
    assert [status for status, _ in outcomes] == [0] * 20, [err for _, (_, err) in outcomes]
    data = tomllib.loads(profiles_file.read_text())
    assert sorted(data["profiles"]) == [f"p{n:02d}" for n in range(20)]
    assert profiles_file.read_text().startswith("# concurrent writers\n")
    assert mode_of(profiles_file) == 0o600


#: The writer of the crash test: the command line, with an ``os.replace`` that first
#: names the temp file it was given in the marker file (argv[1]) and then waits for the
#: marker to go, which it never does: the test kills the writer there.
PAUSED_WRITER = """
import os, sys, time

marker = sys.argv[1]
real_replace = os.replace

def paused_replace(src, dst, **kwargs):
    with open(marker + ".new", "w", encoding="utf-8") as handle:
        handle.write(os.fspath(src))
    real_replace(marker + ".new", marker)
    while os.path.exists(marker):
        time.sleep(0.01)
    real_replace(src, dst, **kwargs)

os.replace = paused_replace
from kfp_profiles.cli import main
main(sys.argv[2:])
"""


ADD_VICTIM = ("add", "victim", "--kind", "standalone-in-cluster", "--no-input")


def test_a_writer_killed_between_temp_file_and_rename_leaves_the_old_file(
    profiles_file: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "paused"
    writer = subprocess.Popen(
        [sys.executable, "-c", PAUSED_WRITER, str(marker), *ADD_VICTIM],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert writer.poll() is None, "the writer exited before reaching the rename"
            assert time.monotonic() < deadline, "the writer never reached the rename"
            time.sleep(0.01)
        temp_file = Path(marker.read_text())
        assert temp_file.parent == profiles_file.parent
        assert "victim" in temp_file.read_text()  # the new text was fully written ...
        writer.send_signal(signal.SIGKILL)  # ... and the writer dies before renaming it
        assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
    assert text_of(profiles_file) == ORIGINAL
    tomllib.loads(text_of(profiles_file))

    # The dead writer's lock went with it, and the next writer clears its leftovers.
    editing.add_profile("after", {"kind": "standalone-in-cluster"})
    assert not temp_file.exists()
    assert text_of(profiles_file).startswith(ORIGINAL)
    assert "victim" not in tomllib.loads(text_of(profiles_file))["profiles"]


def test_an_edit_leaves_no_lock_file_beside_the_profiles_file(profiles_file: Path) -> None:
    editing.add_profile("x", {"kind": "standalone-in-cluster"})
    editing.add_profile("y", {"kind": "standalone-in-cluster"})
    assert sorted(p.name for p in profiles_file.parent.iterdir()) == [profiles_file.name]
