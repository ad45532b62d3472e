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
from kfp_profiles.auth.bearer_token import BearerToken, TokenCache, command_fingerprint
from kfp_profiles.auth.oidc_store import OidcSignIn, SignInStore
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


# --- the token kinds: a token, a client secret, a cached command token, a sign-in ---------

TOKEN = "a-stored-bearer-token-for-the-test"
CLIENT_SECRET = "a-client-secret-for-the-test"
COMMAND_TOKEN = BearerToken("a-command-token-for-the-test", None, 0.0)
SIGN_IN = OidcSignIn(
    origin="https://kf.example.com",
    client_id="kfp-profiles",
    id_token="an-id-token-for-the-test",
    expires_at=2e9,
    issued_at=1e9,
    refresh_token="a-refresh-token-for-the-test",
)
ORIGIN = "https://kf.example.com"
FINGERPRINT = command_fingerprint(["print-token"])
TOKEN_KINDS = """
[profiles.t]
kind = "platform-token"
host = "https://kf.example.com"
namespace = "n"
token_command = ["print-token"]
[profiles.o]
kind = "platform-oidc"
host = "https://kf.example.com"
namespace = "n"
client_id = "kfp-profiles"
"""
EVERY_SECRET = (TOKEN, CLIENT_SECRET, COMMAND_TOKEN.text, SIGN_IN.id_token, "a-refresh-token")


@pytest.fixture
def token_kinds(profiles_path: Path) -> Path:
    return write_profiles(profiles_path, TOKEN_KINDS)


def keep_everything(keyring: Any) -> None:
    """What `secret set t --token`, `login t`, `secret set o --client-secret`, `login o` keep."""
    keyring.set_password("kfp-profiles", "t", TOKEN)
    TokenCache().save("t", COMMAND_TOKEN, ORIGIN, FINGERPRINT)
    keyring.set_password("kfp-profiles", "o#client_secret", CLIENT_SECRET)
    SignInStore("o").save(SIGN_IN)


@pytest.mark.keyring
def test_rename_and_remove_carry_what_the_token_kinds_keep(
    token_kinds: Path, keyring_backend: Any
) -> None:
    keep_everything(keyring_backend)
    renamed = profile_ops.rename_profile("t", "ci")
    assert (renamed.kind, renamed.password, renamed.cached_token) == (
        "platform-token",
        "moved",
        "moved",
    )
    assert (renamed.client_secret, renamed.sign_in, renamed.left_behind) == (None, None, None)
    assert keyring_backend.get_password("kfp-profiles", "t") is None
    assert keyring_backend.get_password("kfp-profiles", "ci") == TOKEN
    assert keyring_backend.get_password("kfp-profiles-session", "t#token") is None
    moved = TokenCache().load("ci", ORIGIN, FINGERPRINT)
    assert moved is not None and moved.text == COMMAND_TOKEN.text

    renamed = profile_ops.rename_profile("o", "sso")
    assert (renamed.client_secret, renamed.sign_in, renamed.password) == ("moved", "moved", None)
    assert keyring_backend.get_password("kfp-profiles", "o#client_secret") is None
    assert keyring_backend.get_password("kfp-profiles", "sso#client_secret") == CLIENT_SECRET
    assert SignInStore("o").load() is None
    assert SignInStore("sso").load() == SIGN_IN

    removed = profile_ops.remove_profile("ci")
    assert (removed.password, removed.cached_token, removed.left_behind) == (
        "deleted",
        "deleted",
        None,
    )
    assert keyring_backend.get_password("kfp-profiles", "ci") is None
    assert TokenCache().load("ci", ORIGIN, FINGERPRINT) is None
    removed = profile_ops.remove_profile("sso")
    assert (removed.client_secret, removed.sign_in) == ("deleted", "deleted")
    assert keyring_backend.get_password("kfp-profiles", "sso#client_secret") is None
    assert SignInStore("sso").load() is None
    for secret in EVERY_SECRET:
        assert secret not in repr(renamed) + repr(removed)


@pytest.mark.keyring
def test_the_cli_says_what_became_of_a_token_and_a_sign_in(
    token_kinds: Path, keyring_backend: Any
) -> None:
    keep_everything(keyring_backend)
    outputs = [cli("rename", "t", "ci"), cli("rename", "o", "sso")]
    outputs += [cli("remove", "ci"), cli("remove", "sso")]
    assert [done.stdout.splitlines()[1:] for done in outputs] == [
        ["Moved its token in the keyring.", "Moved its cached token."],
        ["Moved its client secret in the keyring.", "Moved its sign-in."],
        ["Deleted its token from the keyring.", "Deleted its cached token."],
        ["Deleted its client secret from the keyring.", "Deleted its sign-in."],
    ]
    for done in outputs:
        assert done.stderr == ""
        for secret in EVERY_SECRET:
            assert secret not in done.stdout
    for secret in EVERY_SECRET:
        assert secret not in token_kinds.read_text()


@pytest.mark.keyring
@pytest.mark.parametrize(
    ("name", "kept", "commands"),
    [
        (
            "t",
            "a token, a cached token",
            (
                "kfp-profiles secret set ci --token",
                "kfp-profiles secret delete t --token",
                "kfp-profiles logout t",
            ),
        ),
        (
            "o",
            "a client secret, a sign-in",
            (
                "kfp-profiles secret set ci --client-secret",
                "kfp-profiles login ci",
                "kfp-profiles secret delete o --client-secret",
                "kfp-profiles logout o",
            ),
        ),
    ],
)
def test_a_locked_keyring_leaves_the_token_kinds_secrets_with_the_commands_that_fix_it(
    token_kinds: Path,
    keyring_backend: Any,
    secret_service: Any,
    name: str,
    kept: str,
    commands: tuple[str, ...],
) -> None:
    keep_everything(keyring_backend)
    secret_service.lock()
    renamed = profile_ops.rename_profile(name, "ci")
    left = renamed.left_behind
    assert left is not None and left.commands == commands
    run = ", then ".join(f"`{command}`" for command in commands)
    assert str(left) == (
        f"the keyring could not be reached ({left.reason}), so what it holds for '{name}', "
        f"if anything ({kept}), stays under that name: once it works, run {run}."
    )
    secret_service.ensure_ready()
    assert keyring_backend.get_password("kfp-profiles", "t") == TOKEN  # nothing lost
    assert keyring_backend.get_password("kfp-profiles", "o#client_secret") == CLIENT_SECRET
    # The commands it gives do what they say, for a profile no longer in the file too.
    delete = cli(*commands[-2].split()[1:])
    assert delete.returncode == 0, delete.stderr
    assert delete.stdout.startswith("Deleted the ")
    logout = cli(*commands[-1].split()[1:])
    assert logout.stdout == f"Deleted the cached session of '{name}'.\n"
    assert (
        keyring_backend.get_password("kfp-profiles", "t" if name == "t" else "o#client_secret")
        is None
    )


def test_without_a_keyring_a_cached_token_in_the_file_store_is_moved_then_deleted(
    token_kinds: Path, no_keyring: None
) -> None:
    files = FileSessionStore()
    TokenCache().save("t", COMMAND_TOKEN, ORIGIN, FINGERPRINT)
    SignInStore("o").save(SIGN_IN)
    assert files.path_for("t#token").exists() and files.path_for("o#oidc").exists()
    renamed = profile_ops.rename_profile("t", "ci")
    assert renamed.cached_token == "moved"
    assert not files.path_for("t#token").exists() and files.path_for("ci#token").exists()
    assert renamed.left_behind is not None and renamed.left_behind.reason == NO_KEYRING_REASON
    removed = profile_ops.remove_profile("o")
    assert removed.sign_in == "deleted" and not files.path_for("o#oidc").exists()
