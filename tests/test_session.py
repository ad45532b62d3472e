"""The session cache: one conformance suite for both stores, then the cache's own rules.

The keyring store runs against the real Secret Service (the ``keyring_backend``
fixture); the file store against real files. Only Windows' Credential
Manager size limit is played by a small stand-in backend, since that backend
cannot exist here.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles.errors import SessionCacheError
from kfp_profiles.session import (
    EXPIRY_MARGIN_SECONDS,
    CachedSession,
    FileSessionStore,
    KeyringSessionStore,
    SessionCache,
    SessionStore,
    default_cache_dir,
)

NOW = 1_800_000_000.0


def make_session(
    host: str = "https://kf.example.com",
    username: str = "user@example.com",
    expires_at: float | None = NOW + 3600,
    cookies: tuple[tuple[str, str], ...] = (("oauth2_proxy_kubeflow", "secret-cookie-value"),),
) -> CachedSession:
    return CachedSession(
        host=host, username=username, cookies=cookies, expires_at=expires_at, door="oauth2-proxy"
    )


# --- one contract, every store ----------------------------------------------------------------


class SessionStoreContract:
    """What every store must do; subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> SessionStore:
        raise NotImplementedError

    def test_a_missing_profile_loads_as_none(self, store: SessionStore) -> None:
        assert store.load("never-saved") is None

    def test_a_saved_value_loads_back_unchanged(self, store: SessionStore) -> None:
        value = make_session().to_json()
        store.save("prod", value)
        assert store.load("prod") == value

    def test_saving_again_replaces_the_value(self, store: SessionStore) -> None:
        store.save("prod", "first")
        store.save("prod", "second")
        assert store.load("prod") == "second"

    def test_profiles_are_kept_apart(self, store: SessionStore) -> None:
        store.save("prod", "for-prod")
        store.save("dev", "for-dev")
        assert (store.load("prod"), store.load("dev")) == ("for-prod", "for-dev")

    def test_delete_forgets_and_is_idempotent(self, store: SessionStore) -> None:
        store.save("prod", "value")
        store.delete("prod")
        assert store.load("prod") is None
        store.delete("prod")
        store.delete("never-saved")

    def test_names_with_slashes_spaces_and_unicode_work(self, store: SessionStore) -> None:
        name = "team/a b-ü"
        store.save(name, "odd")
        assert store.load(name) == "odd"
        assert store.load("team") is None

    def test_a_large_value_of_split_cookies_round_trips(self, store: SessionStore) -> None:
        cookies = tuple((f"oauth2_proxy_kubeflow_{i}", "x" * 3990) for i in range(3))
        value = make_session(cookies=cookies).to_json()
        store.save("big", value)
        assert store.load("big") == value


class TestFileSessionStore(SessionStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> SessionStore:
        return FileSessionStore(tmp_path / "cache" / "kfp-profiles")


@pytest.mark.keyring
class TestKeyringSessionStore(SessionStoreContract):
    @pytest.fixture
    def store(self, keyring_backend: Any) -> SessionStore:
        return KeyringSessionStore()

    def test_the_value_lives_under_the_session_service_and_profile_name(
        self, store: SessionStore, secret_service: Any
    ) -> None:
        store.save("prod", "value")
        attributes = secret_service.item_attributes("kfp-profiles-session")
        assert [a["username"] for a in attributes] == ["prod"]


# --- the file store's own promises ------------------------------------------------------------


def test_the_file_is_0600_in_a_0700_folder_under_xdg_cache_home(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # the worst case: nothing masked by the process
    try:
        store = FileSessionStore()
        store.save("prod", make_session().to_json())
    finally:
        os.umask(old_umask)
    path = store.path_for("prod")
    assert path.parent == Path(os.environ["XDG_CACHE_HOME"]) / "kfp-profiles"
    assert path.parent == default_cache_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_folder_left_open_to_others_is_closed_again(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    FileSessionStore(folder).save("prod", "v")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_saving_over_a_file_others_can_read_makes_it_0600_again(tmp_path: Path) -> None:
    # The shared atomic write keeps an existing file's mode unless told one: this store
    # tells 0600, so a loosened file, which load ignores, does not stay loose for good.
    store = FileSessionStore(tmp_path / "cache")
    store.save("prod", "old")
    store.path_for("prod").chmod(0o644)
    store.save("prod", make_session().to_json())
    assert stat.S_IMODE(store.path_for("prod").stat().st_mode) == 0o600
    assert store.load("prod") == make_session().to_json()
    assert sorted(p.name for p in store.folder.iterdir()) == ["session-prod.json"]


def test_a_file_others_can_read_is_not_trusted(tmp_path: Path) -> None:
    store = FileSessionStore(tmp_path / "cache")
    store.save("prod", make_session().to_json())
    store.path_for("prod").chmod(0o644)
    assert store.load("prod") is None


def test_a_failed_write_keeps_the_old_file_whole_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "cache"
    store = FileSessionStore(folder)
    store.save("prod", "old-value")

    def crash(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    cache = SessionCache([store])
    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", crash)
        with pytest.raises(SessionCacheError, match="No space left on device"):
            cache.save("prod", make_session())
    assert store.load("prod") == "old-value"
    assert sorted(p.name for p in folder.iterdir()) == ["session-prod.json"]


def test_readers_never_see_a_half_written_file(tmp_path: Path) -> None:
    store = FileSessionStore(tmp_path / "cache")
    small = make_session().to_json()
    large = make_session(cookies=tuple((f"c{i}", "y" * 5000) for i in range(8))).to_json()
    store.save("prod", small)
    stop = threading.Event()
    # Every read and every error is recorded and checked here: an assert in the
    # reader thread would only end that thread, never fail the test.
    seen: list[str | None] = []
    errors: list[BaseException] = []

    def read_continuously() -> None:
        try:
            while not stop.is_set():
                seen.append(store.load("prod"))
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        for i in range(150):
            store.save("prod", large if i % 2 else small)
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert seen
    assert all(text is not None for text in seen)
    assert all(text in (small, large) for text in seen)


# --- sessions ---------------------------------------------------------------------------------


def test_a_session_is_usable_only_for_its_host_and_user_until_just_before_expiry() -> None:
    session = make_session(expires_at=NOW + 3600)
    assert session.usable_for("https://KF.example.com", "user@example.com", now=NOW)
    assert not session.usable_for("https://other.example.com", "user@example.com", now=NOW)
    assert not session.usable_for("https://kf.example.com", "someone@example.com", now=NOW)
    inside_margin = NOW + 3600 - EXPIRY_MARGIN_SECONDS / 2
    assert not session.usable_for("https://kf.example.com", "user@example.com", now=inside_margin)
    assert make_session(expires_at=None).usable_for(
        "https://kf.example.com", "user@example.com", now=NOW
    )


def test_the_repr_masks_cookie_values() -> None:
    text = repr(make_session())
    assert "secret-cookie-value" not in text
    assert "oauth2_proxy_kubeflow=***" in text


def test_json_round_trip_and_corrupt_values() -> None:
    session = make_session()
    again = CachedSession.from_json(session.to_json())
    assert again == session
    assert set(json.loads(session.to_json())) == {
        "host",
        "username",
        "cookies",
        "expires_at",
        "door",
    }
    for broken in ("", "{", "[]", '{"host": "h"}', '{"host":"h","username":"u","cookies":5}'):
        assert CachedSession.from_json(broken) is None


# --- the cache: store order, fallback, rename ---------------------------------------------------


def test_a_corrupt_cached_value_is_treated_as_absent(tmp_path: Path) -> None:
    store = FileSessionStore(tmp_path / "cache")
    store.save("prod", "not json at all")
    assert SessionCache([store]).load("prod") is None


def test_without_a_working_keyring_the_file_store_is_used(no_keyring: None) -> None:
    cache = SessionCache()
    assert cache.save("prod", make_session()) == "file"
    assert FileSessionStore().load("prod") is not None
    assert cache.load("prod") == make_session()
    cache.delete("prod")
    cache.delete("prod")
    assert cache.load("prod") is None


def test_rename_moves_the_session_and_leaves_nothing_under_the_old_name(tmp_path: Path) -> None:
    cache = SessionCache([FileSessionStore(tmp_path / "cache")])
    cache.save("old", make_session())
    cache.rename("old", "new")
    assert cache.load("old") is None
    assert cache.load("new") == make_session()
    cache.rename("missing", "other")
    assert cache.load("other") is None
    cache.rename("new", "new")
    assert cache.load("new") == make_session()


def test_no_store_at_all_is_a_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(SessionCacheError, match="could not be cached") as caught:
        SessionCache([FileSessionStore(blocked)]).save("prod", make_session())
    assert "prod" in str(caught.value)
    assert "secret-cookie-value" not in str(caught.value)


@pytest.mark.keyring
def test_with_a_keyring_the_session_goes_there_and_a_stale_file_copy_is_removed(
    keyring_backend: Any,
) -> None:
    file_store = FileSessionStore()
    file_store.save("prod", make_session(username="stale@example.com").to_json())
    cache = SessionCache()
    assert cache.save("prod", make_session()) == "keyring"
    assert file_store.load("prod") is None
    assert cache.load("prod") == make_session()
    assert KeyringSessionStore().load("prod") == make_session().to_json()


@pytest.mark.keyring
def test_a_locked_keyring_falls_back_to_the_file_store(
    keyring_backend: Any, secret_service: Any
) -> None:
    secret_service.lock()
    cache = SessionCache()
    assert cache.save("prod", make_session()) == "file"
    assert cache.load("prod") == make_session()
    cache.delete("prod")
    assert FileSessionStore().load("prod") is None


@pytest.mark.keyring
def test_rename_and_delete_reach_the_keyring(keyring_backend: Any) -> None:
    cache = SessionCache()
    cache.save("old", make_session())
    cache.rename("old", "new")
    keyring_store = KeyringSessionStore()
    assert keyring_store.load("old") is None
    assert keyring_store.load("new") == make_session().to_json()
    cache.delete("new")
    assert keyring_store.load("new") is None


def test_a_value_too_large_for_the_keyring_goes_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for Windows' Credential Manager (about 2.5 KB a secret), which
    # cannot run here: it refuses large values the way that backend does.
    import keyring.core
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordSetError

    class SmallKeyring(KeyringBackend):
        priority = 1

        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self.items: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.items.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            if len(password.encode("utf-16-le")) > 2560:
                raise PasswordSetError("The stub received a credential too large to store")
            self.items[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.items.pop((service, username), None)

    small = SmallKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", small)
    cache = SessionCache([KeyringSessionStore(), FileSessionStore(tmp_path / "cache")])
    assert cache.save("prod", make_session()) == "keyring"
    split = tuple((f"oauth2_proxy_kubeflow_{i}", "z" * 3990) for i in range(2))
    assert cache.save("prod", make_session(cookies=split)) == "file"
    # The smaller copy left in the keyring would shadow the file's on load.
    assert small.items == {}
    loaded = cache.load("prod")
    assert loaded is not None and loaded.cookies == split


def test_belongs_to_ignores_expiry_and_the_case_of_the_host() -> None:
    expired = make_session(expires_at=NOW - 1)
    assert expired.belongs_to("https://KF.example.com", "user@example.com")
    assert not expired.belongs_to("https://kf.example.com", "someone@example.com")
    assert not expired.usable_for("https://kf.example.com", "user@example.com", now=NOW)


def test_delete_and_rename_tell_whether_a_store_held_a_session(tmp_path: Path) -> None:
    cache = SessionCache([FileSessionStore(tmp_path / "cache")])
    assert cache.delete("prod") is False
    assert cache.rename("prod", "live") is False
    cache.save("prod", make_session())
    assert cache.rename("prod", "live") is True
    assert cache.load("prod") is None
    assert cache.delete("live") is True
    assert cache.delete("live") is False


def test_remove_and_rename_carry_the_session_when_no_keyring_works(
    profiles_path: Path,
    no_keyring: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Without a keyring the session lives in the 0600 file store: it must follow
    # the profile all the same.
    from kfp_profiles.cli import run
    from kfp_profiles.testing import Emulator

    from .helpers import write_profiles

    sessions = default_cache_dir()
    with Emulator.for_release("1.11") as emu:
        write_profiles(
            profiles_path,
            f"""
            [profiles.dev]
            kind = "platform-dex"
            host = "{emu.api_url}"
            username = "user@example.com"
            namespace = "kubeflow-user-example-com"
            """,
        )
        monkeypatch.setenv("KFP_PASSWORD", "12341234")
        assert run(["login", "dev"]) == 0
        assert [p.name for p in sessions.iterdir()] == ["session-dev.json"]
        capsys.readouterr()

        assert run(["rename", "dev", "staging"]) == 0
        assert "Moved its cached session." in capsys.readouterr().out.splitlines()
        assert [p.name for p in sessions.iterdir()] == ["session-staging.json"]
        assert run(["logout", "staging"]) == 0
        assert capsys.readouterr().out == "Deleted the cached session of 'staging'.\n"

        assert run(["login", "staging"]) == 0
        capsys.readouterr()
        assert run(["remove", "staging"]) == 0
        assert "Deleted its cached session." in capsys.readouterr().out.splitlines()
        assert list(sessions.iterdir()) == []
