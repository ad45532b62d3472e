"""Remove and rename in the library carry the keyring password and the cached session
(profile_ops.py), and their results say what happened, also when the keyring is away.

The keyring is the real Secret Service of the ``keyring_backend`` fixture (locked for
real to be unreachable); without one, keyring's own "fail" backend (``no_keyring``).
Sessions go through the real session cache: the keyring, or the 0600 file store.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles import profile_ops
from kfp_profiles.files import tomllib
from kfp_profiles.session import CachedSession, FileSessionStore, SessionCache
from tests.helpers import DEX_FILE, cli, write_profiles

PASSWORD = "s3cret-for-the-test"
SESSION = CachedSession(
    host="https://kf.example.com",
    username="u@example.com",
    cookies=(("oauth2_proxy_kubeflow", "cookie-value-for-the-test"),),
    expires_at=None,
    door="oauth2-proxy",
)
NO_KEYRING_REASON = "NoKeyringError: No recommended backend was available"


@pytest.fixture
def dex_profile(profiles_path: Path) -> Path:
    """A platform-dex profile `prod`, the default."""
    return write_profiles(
        profiles_path, DEX_FILE.format(host="https://kf.example.com", user="u", namespace="n")
    )


def profiles_in(path: Path) -> set[str]:
    return set(tomllib.loads(path.read_text()).get("profiles", {}))


# --- with a keyring that works ------------------------------------------------------------


@pytest.mark.keyring
def test_rename_moves_the_password_and_the_session_and_says_so(
    dex_profile: Path, keyring_backend: Any
) -> None:
    keyring_backend.set_password("kfp-profiles", "prod", PASSWORD)
    SessionCache().save("prod", SESSION)
    renamed = profile_ops.rename_profile("prod", "live")
    assert (renamed.path, renamed.default_renamed_in) == (dex_profile, (dex_profile,))
    assert (renamed.password, renamed.session, renamed.left_behind) == ("moved", "moved", None)
    assert profiles_in(dex_profile) == {"live"}
    assert keyring_backend.get_password("kfp-profiles", "prod") is None
    assert keyring_backend.get_password("kfp-profiles", "live") == PASSWORD
    assert keyring_backend.get_password("kfp-profiles-session", "prod") is None
    assert SessionCache().load("live") == SESSION

    removed = profile_ops.remove_profile("live")
    assert (removed.password, removed.session, removed.left_behind) == ("deleted", "deleted", None)
    assert removed.default_removed_from == (dex_profile,)
    assert keyring_backend.get_password("kfp-profiles", "live") is None
    assert SessionCache().load("live") is None


@pytest.mark.keyring
def test_nothing_stored_is_nothing_carried(dex_profile: Path, keyring_backend: Any) -> None:
    renamed = profile_ops.rename_profile("prod", "live")
    assert (renamed.password, renamed.session, renamed.left_behind) == (None, None, None)
    removed = profile_ops.remove_profile("live")
    assert (removed.password, removed.session, removed.left_behind) == (None, None, None)


# --- a keyring that cannot be reached -----------------------------------------------------


@pytest.mark.keyring
def test_a_locked_keyring_leaves_the_password_and_says_how_to_remove_it_later(
    dex_profile: Path, keyring_backend: Any, secret_service: Any
) -> None:
    keyring_backend.set_password("kfp-profiles", "prod", PASSWORD)
    secret_service.lock()
    removed = profile_ops.remove_profile("prod")
    assert profiles_in(dex_profile) == set()  # the file's change is made all the same
    assert removed.password is None
    left = removed.left_behind
    assert left is not None and left.profile == "prod"
    assert left.commands == ("kfp-profiles secret delete prod", "kfp-profiles logout prod")
    assert str(left) == (
        f"the keyring could not be reached ({left.reason}), so what it holds for 'prod', "
        "if anything (a password, a cached session), was left in it: once it works, run "
        "`kfp-profiles secret delete prod`, then `kfp-profiles logout prod`."
    )
    assert left.reason.startswith("KeyringLocked")
    assert PASSWORD not in repr(removed) + str(left)

    secret_service.ensure_ready()  # unlocked again, with what it held
    assert keyring_backend.get_password("kfp-profiles", "prod") == PASSWORD
    done = cli("secret", "delete", "prod")  # the command the result gave
    assert (done.returncode, done.stdout) == (
        0,
        "Deleted the password of 'prod' from the keyring.\n",
    )
    assert keyring_backend.get_password("kfp-profiles", "prod") is None


@pytest.mark.keyring
def test_a_rename_with_a_locked_keyring_says_to_store_the_password_again(
    dex_profile: Path, keyring_backend: Any, secret_service: Any
) -> None:
    keyring_backend.set_password("kfp-profiles", "prod", PASSWORD)
    secret_service.lock()
    renamed = profile_ops.rename_profile("prod", "live")
    assert profiles_in(dex_profile) == {"live"}
    assert renamed.left_behind is not None
    assert renamed.left_behind.commands == (
        "kfp-profiles secret set live",
        "kfp-profiles secret delete prod",
        "kfp-profiles logout prod",
    )
    assert "stays under that name" in str(renamed.left_behind)
    secret_service.ensure_ready()
    assert keyring_backend.get_password("kfp-profiles", "prod") == PASSWORD  # not lost


@pytest.mark.keyring
def test_the_cli_prints_what_the_library_did(dex_profile: Path, keyring_backend: Any) -> None:
    keyring_backend.set_password("kfp-profiles", "prod", PASSWORD)
    SessionCache().save("prod", SESSION)
    done = cli("rename", "prod", "live")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        f"Renamed profile 'prod' to 'live' in {dex_profile}.",
        f"It is the default: `default` in {dex_profile} now names 'live'.",
        "Moved its password in the keyring.",
        "Moved its cached session.",
    ]


# --- no keyring at all --------------------------------------------------------------------


def test_without_a_keyring_the_file_session_is_carried_and_the_keyring_named(
    dex_profile: Path, no_keyring: None
) -> None:
    files = FileSessionStore()
    SessionCache().save("prod", SESSION)  # no keyring: the 0600 file store takes it
    assert files.load("prod") is not None
    renamed = profile_ops.rename_profile("prod", "live")
    assert (renamed.password, renamed.session) == (None, "moved")
    assert files.load("prod") is None
    assert CachedSession.from_json(files.load("live") or "") == SESSION
    assert renamed.left_behind is not None
    assert renamed.left_behind.reason == NO_KEYRING_REASON

    removed = profile_ops.remove_profile("live")
    assert (removed.password, removed.session) == (None, "deleted")
    assert not files.path_for("live").exists()
    assert str(removed.left_behind) == (
        f"the keyring could not be reached ({NO_KEYRING_REASON}), so what it holds for "
        "'live', if anything (a password, a cached session), was left in it: once it works, "
        "run `kfp-profiles secret delete live`, then `kfp-profiles logout live`."
    )


def test_without_a_keyring_the_cli_warns_once_with_the_commands(dex_profile: Path) -> None:
    done = cli("remove", "prod", env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == f"Removed profile 'prod' from {dex_profile}."
    assert done.stderr == (
        f"kfp-profiles: warning: the keyring could not be reached ({NO_KEYRING_REASON}), so "
        "what it holds for 'prod', if anything (a password, a cached session), was left in "
        "it: once it works, run `kfp-profiles secret delete prod`, then `kfp-profiles logout "
        "prod`.\n"
    )


def test_a_keyring_that_stores_nothing_by_design_has_nothing_to_carry_or_leave(
    dex_profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring.core
    from keyring.backends import null

    monkeypatch.setattr(keyring.core, "_keyring_backend", null.Keyring())  # type: ignore[no-untyped-call]
    removed = profile_ops.remove_profile("prod")  # its delete "succeeds" on nothing
    assert (removed.password, removed.session, removed.left_behind) == (None, None, None)


def test_a_kind_without_secrets_has_nothing_to_leave_behind(
    profiles_path: Path, no_keyring: None, caplog: pytest.LogCaptureFixture
) -> None:
    write_profiles(profiles_path, '[profiles.pod]\nkind = "standalone-in-cluster"\n')
    with caplog.at_level(logging.WARNING, logger="kfp_profiles"):
        removed = profile_ops.remove_profile("pod")
    assert (removed.password, removed.session, removed.left_behind) == (None, None, None)
    assert caplog.text == ""


def test_a_session_no_store_takes_is_dropped_and_the_rename_still_succeeds(
    dex_profile: Path, no_keyring: None, caplog: pytest.LogCaptureFixture
) -> None:
    files = FileSessionStore()
    SessionCache().save("prod", SESSION)
    files.path_for("live").mkdir()  # a folder where the new name's file must go
    with caplog.at_level(logging.WARNING, logger="kfp_profiles"):
        renamed = profile_ops.rename_profile("prod", "live")
    assert profiles_in(dex_profile) == {"live"}
    assert renamed.session == "deleted"  # not left under the old name either
    assert files.load("prod") is None
    assert "The session of profile 'live' could not be cached" in caplog.text
    assert "cookie-value-for-the-test" not in caplog.text
