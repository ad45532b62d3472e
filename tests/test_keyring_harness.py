"""The Secret Service harness and the pytest fixtures built on it, against the real daemons."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService

from kfp_profiles.testing.keyring import (
    APT_INSTALL_COMMAND,
    KEYRING_BACKEND,
    KeyringHarnessError,
    SecretServiceKeyring,
    missing_packages,
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def ring(secret_service: SecretServiceKeyring) -> Iterator[SecretServiceKeyring]:
    """A harness of the test's own, for breaking on purpose.

    It depends on the session harness only so that it is skipped, or fails
    under CI, exactly when that one cannot start.
    """
    with SecretServiceKeyring() as harness:
        yield harness


# --- through the session fixture, as other tests use it -----------------------


@pytest.mark.keyring
def test_keyring_api_stores_reads_and_deletes_through_secret_service(
    keyring_backend: KeyringBackend, secret_service: SecretServiceKeyring
) -> None:
    assert isinstance(keyring.get_keyring(), SecretService.Keyring)
    assert os.environ["PYTHON_KEYRING_BACKEND"] == KEYRING_BACKEND
    assert os.environ["DBUS_SESSION_BUS_ADDRESS"] == secret_service.bus_address

    keyring.set_password("kfp-profiles", "prod", "pw-for-prod")
    keyring.set_password("kfp-profiles", "dev", "pw-for-dev")

    assert keyring.get_password("kfp-profiles", "prod") == "pw-for-prod"
    assert keyring.get_password("kfp-profiles", "dev") == "pw-for-dev"
    assert keyring.get_password("kfp-profiles", "staging") is None
    stored = sorted(a["username"] for a in secret_service.item_attributes("kfp-profiles"))
    assert stored == ["dev", "prod"]

    keyring.delete_password("kfp-profiles", "prod")
    assert keyring.get_password("kfp-profiles", "prod") is None
    assert keyring.get_password("kfp-profiles", "dev") == "pw-for-dev"
    with pytest.raises(keyring.errors.PasswordDeleteError):
        keyring.delete_password("kfp-profiles", "prod")


@pytest.mark.keyring
def test_secrets_are_kept_in_the_private_folder_not_in_home(
    keyring_backend: KeyringBackend, secret_service: SecretServiceKeyring
) -> None:
    keyring.set_password("kfp-profiles", "prod", "pw-for-prod")

    assert stat.S_IMODE(secret_service.dir.stat().st_mode) == 0o700
    assert (secret_service.dir / "data" / "keyrings" / "login.keyring").is_file()
    home = Path(os.environ["HOME"])
    assert list(home.rglob("*")) == []
    # gnome-keyring encrypts its file: the password is not in it as text.
    keyring_file = (secret_service.dir / "data" / "keyrings" / "login.keyring").read_bytes()
    assert b"pw-for-prod" not in keyring_file


# --- a private harness, broken on purpose ---------------------------------------


@pytest.mark.keyring
def test_env_points_at_the_harness_and_restore_puts_back_the_previous_values(
    ring: SecretServiceKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/before/data")
    session_bus = os.environ["DBUS_SESSION_BUS_ADDRESS"]

    env = ring.env
    assert set(env) == {
        "DBUS_SESSION_BUS_ADDRESS",
        "PYTHON_KEYRING_BACKEND",
        "XDG_RUNTIME_DIR",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
    }
    assert env["DBUS_SESSION_BUS_ADDRESS"].startswith(f"unix:path={ring.dir}/bus")
    assert env["DBUS_SESSION_BUS_ADDRESS"] != session_bus
    for name in ("XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        assert Path(env[name]).parent == ring.dir

    ring.apply_env()
    assert {name: os.environ[name] for name in env} == env
    keyring.set_password("kfp-profiles", "private", "only-here")
    ring.restore_env()

    assert os.environ["DBUS_SESSION_BUS_ADDRESS"] == session_bus
    assert os.environ["XDG_DATA_HOME"] == "/before/data"
    # Back on the session keyring, which never saw the private item.
    assert keyring.get_password("kfp-profiles", "private") is None
    assert [a["username"] for a in ring.item_attributes("kfp-profiles")] == ["private"]


@pytest.mark.keyring
def test_lock_makes_get_password_raise_keyring_locked(ring: SecretServiceKeyring) -> None:
    ring.apply_env()
    keyring.set_password("kfp-profiles", "prod", "pw-for-prod")

    ring.lock()

    assert ring.is_locked()
    with pytest.raises(keyring.errors.KeyringLocked):
        keyring.get_password("kfp-profiles", "prod")
    ring.ensure_ready()
    assert keyring.get_password("kfp-profiles", "prod") == "pw-for-prod"


@pytest.mark.keyring
def test_killed_daemon_makes_keyring_raise_init_error(ring: SecretServiceKeyring) -> None:
    ring.apply_env()
    keyring.set_password("kfp-profiles", "prod", "pw-for-prod")
    daemon_pid = ring.daemon_pid
    assert daemon_pid is not None

    ring.kill_daemon()

    assert not _alive(daemon_pid)
    assert not ring.is_ready()
    with pytest.raises(keyring.errors.InitError):
        keyring.get_password("kfp-profiles", "prod")
    ring.restart_daemon()
    assert keyring.get_password("kfp-profiles", "prod") == "pw-for-prod"


@pytest.mark.keyring
def test_stop_ends_both_daemons_and_removes_the_folder(ring: SecretServiceKeyring) -> None:
    ring.apply_env()
    pids = [ring.dbus_pid, ring.daemon_pid]
    folder = ring.dir
    assert all(pid is not None and _alive(pid) for pid in pids)

    ring.stop()

    assert not any(_alive(pid) for pid in pids if pid is not None)
    assert not folder.exists()
    assert ring.dbus_pid is None and ring.daemon_pid is None
    with pytest.raises(KeyringHarnessError, match="not started"):
        _ = ring.env


# --- missing binaries --------------------------------------------------------


def test_missing_binaries_name_the_debian_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    assert missing_packages() == ["gnome-keyring", "dbus-daemon", "dbus-bin"]
    with pytest.raises(KeyringHarnessError) as raised:
        SecretServiceKeyring().start()
    message = str(raised.value)
    for binary in ("gnome-keyring-daemon", "dbus-daemon", "dbus-send"):
        assert binary in message
    assert APT_INSTALL_COMMAND in message
    assert isinstance(raised.value, RuntimeError)


def test_one_missing_binary_is_named_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    partial = tmp_path / "partial-bin"
    partial.mkdir()
    for binary in ("dbus-daemon", "dbus-send"):
        fake = partial / binary
        fake.write_text("#!/bin/sh\nexit 1\n")
        fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(partial))

    assert missing_packages() == ["gnome-keyring"]
    with pytest.raises(KeyringHarnessError, match=r"gnome-keyring-daemon not found") as raised:
        SecretServiceKeyring().start()
    message = str(raised.value)
    assert "dbus-send" not in message
    assert "install the Debian package(s) gnome-keyring (" in message


# --- the pytest plugin, as a user's test suite gets it ---------------------------

_USER_TESTS = """
    import keyring
    import pytest

    def test_1_stores_and_breaks_the_keyring(keyring_backend, secret_service):
        keyring.set_password("kfp-profiles", "prod", "a")
        keyring.set_password("kfp-profiles-session", "prod", "b")
        keyring.set_password("someone-else", "user", "c")
        secret_service.lock()

    def test_2_starts_clean_and_unlocked(keyring_backend, secret_service):
        assert keyring.get_password("kfp-profiles", "prod") is None
        assert keyring.get_password("kfp-profiles-session", "prod") is None
        assert keyring.get_password("someone-else", "user") == "c"
        secret_service.kill_daemon()

    def test_3_has_a_daemon_again(keyring_backend):
        keyring.set_password("kfp-profiles", "dev", "d")
        assert keyring.get_password("kfp-profiles", "dev") == "d"
"""


@pytest.mark.keyring
def test_plugin_fixtures_isolate_tests_and_repair_the_keyring(
    secret_service: SecretServiceKeyring, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_user=textwrap.dedent(_USER_TESTS))

    result = pytester.runpytest_subprocess("-p", "no:randomly", "-v")

    result.assert_outcomes(passed=3)


_NEEDS_KEYRING = """
    def test_needs_keyring(secret_service):
        pass
"""


def test_plugin_skips_without_the_daemons_outside_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester
) -> None:
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(test_user=textwrap.dedent(_NEEDS_KEYRING))

    result = pytester.runpytest_subprocess("-rs")

    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*Secret Service keyring unavailable*apt-get install*"])


def test_plugin_fails_without_the_daemons_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester
) -> None:
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(test_user=textwrap.dedent(_NEEDS_KEYRING))

    result = pytester.runpytest_subprocess()

    result.assert_outcomes(errors=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*CI=true and the Secret Service keyring cannot start*"])


# --- `make demo`, which runs on a developer's machine -------------------------


@pytest.mark.keyring
@pytest.mark.parametrize("private_keyring", [True, False], ids=["private", "no-private"])
def test_demo_leaves_the_users_keyring_and_cache_alone(
    keyring_backend: KeyringBackend,
    secret_service: SecretServiceKeyring,
    isolated_home: Path,
    tmp_path: Path,
    private_keyring: bool,
) -> None:
    # The session harness plays the user's own working keyring, with a "prod" of
    # their own; the demo's profile has the same name.
    keyring.set_password("kfp-profiles", "prod", "the-users-own-password")
    keyring.set_password("kfp-profiles-session", "prod", "the-users-own-session")
    env = dict(os.environ)
    if not private_keyring:
        # No daemons on PATH: the demo cannot start its own keyring.
        (tmp_path / "empty-bin").mkdir()
        python_bin = str(Path(sys.executable).parent)  # the stand-in kubectl's python3
        env["PATH"] = os.pathsep.join([str(tmp_path / "empty-bin"), python_bin])
    demo = Path(__file__).resolve().parents[1] / "examples" / "demo.py"

    result = subprocess.run(
        [sys.executable, str(demo)], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert keyring.get_password("kfp-profiles", "prod") == "the-users-own-password"
    assert keyring.get_password("kfp-profiles-session", "prod") == "the-users-own-session"
    stored = [
        (attributes["service"], attributes["username"])
        for service in ("kfp-profiles", "kfp-profiles-session")
        for attributes in secret_service.item_attributes(service)
    ]
    assert stored == [("kfp-profiles", "prod"), ("kfp-profiles-session", "prod")]
    assert sorted(path.name for path in isolated_home.rglob("*")) == []
