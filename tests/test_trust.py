"""The permission matrix: which profiles files, token files and session caches are trusted
(ssh's StrictModes, kfp_profiles/trust.py), and what each refusal says.

Real files, real owners, real modes. These tests run as root here: "another user" is
a file given away with ``chown`` to an unused uid (12345), and a reader who is not root
is a real process run as that uid. Where the tests do not run as root nothing can be
given away, and those tests skip saying so. The read-only mount is a real tmpfs,
mounted read-only in a private mount namespace (``unshare --mount``, which dies with
its process): that needs root as well.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles.atomicfile import ensure_folder
from kfp_profiles.auth.token import read_token
from kfp_profiles.doctor.findings import Finding
from kfp_profiles.doctor.machine import check_files
from kfp_profiles.errors import (
    ProfilesFilePermissionError,
    ProfilesFileTrustError,
    SessionCacheTrustError,
    TokenFileTrustError,
)
from kfp_profiles.files import load_config
from kfp_profiles.session import CachedSession, FileSessionStore, SessionCache
from kfp_profiles.trust import inspect
from tests.helpers import SCRIPT, cli, write_profiles

OTHER_UID = 12345
ROOT = os.getuid() == 0
ME = "root"  # who the fixes name: these tests give files away as root
needs_root = pytest.mark.skipif(
    not ROOT,
    reason="not root: only root can chown a file to another user (uid 12345); run as root",
)

PROFILES = '[profiles.dev]\nkind = "standalone-in-cluster"\n'
TOKEN = "header.payload.signature"
SESSION = CachedSession(
    host="https://kf.example.com",
    username="u@example.com",
    cookies=(("oauth2_proxy_kubeflow", "cookie-for-the-test"),),
    expires_at=None,
)

#: How each consumer says "move it": its own words (files.py, session.py, trust.py).
PROFILES_ELSEWHERE = "move it to a folder only you can write and point KFP_PROFILES_FILE at it"
CACHE_ELSEWHERE = "point XDG_CACHE_HOME at a folder only you can write"
TOKEN_ELSEWHERE = "move it to a folder only you can write"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def give_away(path: Path) -> None:
    os.chown(path, OTHER_UID, OTHER_UID, follow_symlinks=False)


# --- the matrix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What a refusal says about ``path``: the problem, and the fix in a consumer's words."""

    problem: str
    #: With ``{chmod}`` (the mode a consumer's files should have) and ``{elsewhere}``.
    fix: str


@dataclass(frozen=True)
class Case:
    """One row: a layout made under a folder, and what the checks say about it."""

    name: str
    #: Makes the file ``name`` holding ``text`` (0600) and returns the path a user names.
    build: Callable[[Path, str, str], tuple[Path, Expected | None]]
    root_only: bool = False


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def _mine(base: Path, name: str, text: str) -> tuple[Path, Expected | None]:
    return _write(base / "conf" / name, text), None


def _other_owner(base: Path, name: str, text: str) -> tuple[Path, Expected | None]:
    path = _write(base / "conf" / name, text)
    give_away(path)
    fix = f"run `chown {ME} {path}` if it is meant to be yours, or copy it to a file of your own"
    return path, Expected(f"is owned by uid {OTHER_UID}, not by you or root", fix)


def _writable(mode: int) -> Callable[[Path, str, str], tuple[Path, Expected | None]]:
    def build(base: Path, name: str, text: str) -> tuple[Path, Expected | None]:
        path = _write(base / "conf" / name, text, mode)
        return path, Expected("can be written by other users", f"run `chmod {{chmod}} {path}`")

    return build


def _open_folder(sticky: bool) -> Callable[[Path, str, str], tuple[Path, Expected | None]]:
    def build(base: Path, name: str, text: str) -> tuple[Path, Expected | None]:
        folder = base / "shared"
        folder.mkdir()
        folder.chmod(0o1777 if sticky else 0o777)
        path = _write(folder / name, text)
        if sticky:  # as /tmp: others may add files there, not replace this one
            return path, None
        return path, Expected(
            f"is inside {folder}, which other users can write (mode 0777, no sticky bit)",
            f"run `chmod go-w {folder}`, or {{elsewhere}}",
        )

    return build


def _folder_of_another(base: Path, name: str, text: str) -> tuple[Path, Expected | None]:
    path = _write(base / "theirs" / name, text)
    path.parent.chmod(0o755)
    give_away(path.parent)
    return path, Expected(
        f"is inside {path.parent}, which is owned by uid {OTHER_UID}, not by you or root",
        "{elsewhere}",
    )


def _link_of_another(base: Path, name: str, text: str) -> tuple[Path, Expected | None]:
    real = _write(base / "conf" / f"real-{name}", text)
    drop = base / "drop"  # a sticky folder, like /tmp, where anyone may leave a link
    drop.mkdir()
    drop.chmod(0o1777)
    link = drop / name
    link.symlink_to(real)
    give_away(link)
    return link, Expected(
        f"is a symlink made by uid {OTHER_UID}, not by you or root",
        f"replace it with a link of your own, or run `chown -h {ME} {link}` if it is meant "
        "to be yours",
    )


def _link_of_mine(base: Path, name: str, text: str) -> tuple[Path, Expected | None]:
    real = _write(base / "dotfiles" / name, text)
    link = base / "conf" / name
    link.parent.mkdir()
    link.symlink_to(real)
    return link, None


def _config_map(base: Path, name: str, text: str) -> tuple[Path, Expected | None]:
    # The kubelet's layout: the file behind `..data`, a link to the current timestamped
    # folder, so that one rename swaps every file at once. Root's, 0644.
    stamp = base / "volume" / "..2024_06_01_12_00_00.000000001"
    _write(stamp / name, text, 0o644)
    (base / "volume" / "..data").symlink_to(stamp.name)
    (base / "volume" / name).symlink_to(f"..data/{name}")
    return base / "volume" / name, None


CASES = [
    Case("the user's own file", _mine),
    Case("another user's file", _other_owner, root_only=True),
    Case("a group-writable file", _writable(0o620)),
    Case("an other-writable file", _writable(0o602)),
    Case("an other-writable folder without the sticky bit", _open_folder(sticky=False)),
    Case("an other-writable folder with the sticky bit", _open_folder(sticky=True)),
    Case("a folder of another user", _folder_of_another, root_only=True),
    Case("a symlink made by another user", _link_of_another, root_only=True),
    Case("a symlink made by the user", _link_of_mine),
    Case("a ConfigMap layout behind ..data symlinks", _config_map),
]


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    found: Case = request.param
    if found.root_only and not ROOT:
        pytest.skip("not root: only root can chown a file to another user (uid 12345)")
    return found


def test_the_profiles_file(case: Case, tmp_path: Path) -> None:
    path, expected = case.build(tmp_path, "profiles.toml", PROFILES)
    doctor_says = check_files((path,), "from KFP_PROFILES_FILE")[0][0]
    if expected is None:
        assert list(load_config((path,)).profiles) == ["dev"]
        # The ConfigMap's 0644 on a writable disk, its owner asking: chmod advice they can follow.
        assert doctor_says.status == ("warn" if case.build is _config_map else "ok")
        return
    with pytest.raises(ProfilesFileTrustError) as caught:
        load_config((path,))
    fix = expected.fix.format(chmod="600", elsewhere=PROFILES_ELSEWHERE)
    assert str(caught.value) == f"{path} {expected.problem}, so it is not used; {fix}."
    assert isinstance(caught.value, ProfilesFilePermissionError)
    assert caught.value.exit_code == 2
    assert doctor_says == Finding("file", "fail", str(caught.value))


def test_the_token_file(case: Case, tmp_path: Path) -> None:
    path, expected = case.build(tmp_path, "token", TOKEN)
    if expected is None:
        assert read_token("pod", str(path)) == TOKEN
        return
    with pytest.raises(TokenFileTrustError) as caught:
        read_token("pod", str(path))
    fix = expected.fix.format(chmod="go-w", elsewhere=TOKEN_ELSEWHERE)
    assert str(caught.value) == (
        f"Profile 'pod': the ServiceAccount token file {path} {expected.problem}, so it is "
        f"not used; {fix}."
    )
    assert caught.value.exit_code == 4
    assert TOKEN not in str(caught.value)


def test_the_cached_session(case: Case, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path, expected = case.build(tmp_path, "session-prod.json", SESSION.to_json())
    if case.build is _config_map:  # trusted, but 0644: others could read the cookies
        expected = Expected(
            "has mode 0644, which lets others read it",
            "the next login replaces it with a 0600 file",
        )
    store = FileSessionStore(path.parent)
    assert store.path_for("prod") == path
    with caplog.at_level(logging.WARNING, logger="kfp_profiles"):
        loaded = store.load("prod")
    if expected is None:
        assert loaded == SESSION.to_json()
        assert caplog.text == ""
        return
    assert loaded is None
    fix = expected.fix.format(chmod="600", elsewhere=CACHE_ELSEWHERE)
    assert [record.getMessage() for record in caplog.records] == [
        f"The cached session {path} {expected.problem}, so it is not used; {fix}."
    ]


@needs_root
def test_the_command_line_refuses_another_users_file_with_exit_status_2(
    profiles_path: Path,
) -> None:
    write_profiles(profiles_path, PROFILES)
    give_away(profiles_path)
    done = cli("list")
    assert done.returncode == 2
    assert done.stderr == (
        f"kfp-profiles: error: {profiles_path} is owned by uid {OTHER_UID}, not by you or "
        f"root, so it is not used; run `chown {ME} {profiles_path}` if it is meant to be "
        "yours, or copy it to a file of your own.\n"
    )


def test_a_new_profiles_file_is_not_written_in_a_folder_others_can_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kfp_profiles.editing import add_profile

    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    path = folder / "profiles.toml"
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    with pytest.raises(ProfilesFileTrustError) as caught:
        add_profile("dev", {"kind": "standalone-in-cluster"})
    assert str(caught.value) == (
        f"{folder} can be written by other users (mode 0777, no sticky bit), so {path} is "
        f"not written there; run `chmod go-w {folder}`, or {PROFILES_ELSEWHERE}."
    )
    assert not path.exists()


# --- the session cache's folder: never chmod through a symlink ------------------------------


def test_a_symlinked_cache_folder_is_used_and_its_target_never_chmoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "big-disk" / "cache"
    target.mkdir(parents=True)
    target.chmod(0o755)
    cache_home = tmp_path / "cache-home"
    cache_home.mkdir(mode=0o700)
    (cache_home / "kfp-profiles").symlink_to(target)  # the user's own link
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    assert SessionCache([FileSessionStore()]).save("prod", SESSION) == "file"
    assert mode_of(target) == 0o755  # the target's mode is not ours to set
    assert mode_of(target / "session-prod.json") == 0o600
    assert SessionCache([FileSessionStore()]).load("prod") == SESSION


@pytest.mark.parametrize("owner", ["user", "another user"])
def test_a_cache_folder_others_can_write_is_refused_and_left_alone(
    owner: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if owner == "another user" and not ROOT:
        pytest.skip("not root: only root can chown a symlink to another user (uid 12345)")
    target = tmp_path / "open"
    target.mkdir()
    target.chmod(0o777)
    cache_home = tmp_path / "cache-home"
    cache_home.mkdir(mode=0o700)
    link = cache_home / "kfp-profiles"
    link.symlink_to(target)
    if owner == "another user":
        give_away(link)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    with pytest.raises(SessionCacheTrustError) as caught:
        SessionCache([FileSessionStore()]).save("prod", SESSION)
    if owner == "user":
        problem = f"links to {target}, which other users can write (mode 0777, no sticky bit)"
        fix = f"run `chmod go-w {target}`, or {CACHE_ELSEWHERE}"
    else:
        problem = f"is a symlink made by uid {OTHER_UID}, not by you or root"
        fix = (
            f"replace it with a link of your own, or run `chown -h {ME} {link}` if it is "
            "meant to be yours"
        )
    assert str(caught.value) == (
        f"The session of profile 'prod' could not be cached (file: {link} {problem}); it is "
        f"used for this process only: {fix}, or start a keyring."
    )
    assert mode_of(target) == 0o777  # refused, and never chmod'ed through the link
    assert list(target.iterdir()) == []
    assert "cookie-for-the-test" not in str(caught.value)


def test_ensure_folder_tightens_a_folder_but_never_a_link_or_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    target.chmod(0o755)
    link = tmp_path / "link"
    link.symlink_to(target)
    ensure_folder(link, tighten=True)
    assert mode_of(target) == 0o755
    ensure_folder(target, tighten=True)
    assert mode_of(target) == 0o700


def test_folders_made_for_the_cache_are_never_open_to_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_home = tmp_path / "new" / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    old_umask = os.umask(0)  # the worst case: mkdir -p would make 0777 folders
    try:
        SessionCache([FileSessionStore()]).save("prod", SESSION)
    finally:
        os.umask(old_umask)
    assert [mode_of(p) for p in (tmp_path / "new", cache_home, cache_home / "kfp-profiles")] == [
        0o700,
        0o700,
        0o700,
    ]


# --- root's files, read by someone else ------------------------------------------------------


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A root-owned 0755 folder that uid 12345 can enter (tmp_path is root's 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="kfp-trust-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


#: Run as root, then as uid 12345: the interpreter lives under /root (0700), which that
#: user cannot enter, so the command runs once as root first (importing all it needs,
#: its output dropped), then again after the process has given up root for good.
_AS_OTHER_USER = """
import contextlib, io, os, sys
from kfp_profiles.cli import run

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    run(sys.argv[2:])
os.setgroups([])
os.setgid(int(sys.argv[1]))
os.setuid(int(sys.argv[1]))
assert os.getuid() == int(sys.argv[1]) and os.geteuid() == int(sys.argv[1])
sys.exit(run(sys.argv[2:]))
"""


def run_as_other_user(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _AS_OTHER_USER, str(OTHER_UID), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd="/",
    )


@needs_root
def test_roots_file_is_trusted_by_another_user_with_no_chmod_advice(shared_folder: Path) -> None:
    path = _write(shared_folder / "profiles.toml", PROFILES, 0o644)  # as /etc/kfp/...
    env = {"HOME": str(shared_folder), "KFP_PROFILES_FILE": str(path)}
    done = run_as_other_user("list", env=env)
    assert (done.returncode, done.stderr) == (0, "")  # readable by all, and nobody's to fix
    assert done.stdout.splitlines()[1].split()[:2] == ["dev", "standalone-in-cluster"]

    path.chmod(0o666)
    done = run_as_other_user("list", env=env)
    assert done.returncode == 2
    assert done.stderr == (
        f"kfp-profiles: error: {path} can be written by other users, so it is not used; ask "
        f"user root (uid 0) to run `chmod go-w {path}`, or copy it to a file of your own.\n"
    )


@needs_root
def test_another_users_file_is_refused_with_the_fix_for_a_non_root_reader(
    shared_folder: Path,
) -> None:
    path = _write(shared_folder / "profiles.toml", PROFILES, 0o644)
    os.chown(path, OTHER_UID + 1, OTHER_UID + 1)
    done = run_as_other_user("list", env={"KFP_PROFILES_FILE": str(path)})
    assert done.returncode == 2
    assert done.stderr == (
        f"kfp-profiles: error: {path} is owned by uid {OTHER_UID + 1}, not by you or root, so "
        f"it is not used; run `sudo chown {OTHER_UID} {path}` if it is meant to be yours, or "
        "copy it to a file of your own.\n"
    )


# --- a read-only mount: a ConfigMap and a projected token, for real ----------------------------

_IN_A_MOUNT_NAMESPACE = """
import json, os, subprocess, sys
from pathlib import Path
from typing import Any

volume = Path(sys.argv[1])
options = "mode=0755,size=1m"
subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(volume)], check=True)
stamp = volume / "..2024_06_01_12_00_00.000000001"
stamp.mkdir()
for name, text, mode in (("profiles.toml", sys.argv[2], 0o664), ("token", sys.argv[3], 0o644)):
    (stamp / name).write_text(text)
    (stamp / name).chmod(mode)  # 0664: group-writable, as an fsGroup can leave it
    (volume / name).symlink_to(f"..data/{name}")
(volume / "..data").symlink_to(stamp.name)
subprocess.run(["mount", "-o", "remount,ro", str(volume)], check=True)

from kfp_profiles.auth.token import read_token
from kfp_profiles.doctor.findings import Finding
from kfp_profiles.doctor.machine import check_files
from kfp_profiles.doctor.machine import check_files
from kfp_profiles.trust import inspect

listed = subprocess.run(
    [sys.argv[4], "list"], capture_output=True, text=True,
    env={**os.environ, "KFP_PROFILES_FILE": str(volume / "profiles.toml")},
)
found = inspect(volume / "profiles.toml")
findings, _ = check_files((volume / "profiles.toml",), "from KFP_PROFILES_FILE")
print(json.dumps({
    "list": [listed.returncode, listed.stdout, listed.stderr],
    "token": read_token("pod", str(volume / "token")),
    "read_only": found.read_only,
    "can_chmod": found.can_chmod,
    "doctor": [[f.status, f.text] for f in findings if f.topic == "file"],
}))
"""


@pytest.fixture
def read_only_volume(tmp_path: Path) -> Callable[[], dict[str, Any]]:
    if not ROOT or shutil.which("unshare") is None:
        pytest.skip("not root (or no unshare): a real read-only mount needs both")
    volume = tmp_path / "volume"
    volume.mkdir()
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(_IN_A_MOUNT_NAMESPACE))

    def run() -> dict[str, Any]:
        done = subprocess.run(
            [
                *("unshare", "--mount", "--propagation", "private", sys.executable),
                *(str(driver), str(volume), PROFILES, TOKEN, str(SCRIPT)),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0 and "mount" in done.stderr and "Traceback" not in done.stderr:
            pytest.skip(f"this machine cannot make a mount namespace: {done.stderr.strip()}")
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    return run


def test_a_config_map_on_a_read_only_mount_is_trusted_with_no_chmod_advice(
    read_only_volume: Callable[[], dict[str, Any]], tmp_path: Path
) -> None:
    found = read_only_volume()
    path = tmp_path / "volume" / "profiles.toml"
    assert (found["read_only"], found["can_chmod"]) == (True, False)
    status, listed, warned = found["list"]
    assert (status, warned) == (0, "")  # no chmod advice that nobody could follow
    assert listed.splitlines()[1].split()[:2] == ["dev", "standalone-in-cluster"]
    assert found["token"] == TOKEN
    assert found["doctor"] == [
        [
            "ok",
            f"{path} (from KFP_PROFILES_FILE), mode 0664, on a read-only mount (its mode is "
            "set where it is mounted)",
        ]
    ]
    assert os.listdir(tmp_path / "volume") == []  # the mount went with its namespace


def test_the_same_group_writable_file_off_a_read_only_mount_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "volume" / "profiles.toml", PROFILES, 0o664)
    assert not inspect(path).read_only
    with pytest.raises(ProfilesFileTrustError):
        load_config((path,))
