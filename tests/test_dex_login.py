"""The Dex login and DexAuth against the emulated Kubeflow over real HTTP on loopback."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pydantic import SecretStr

from kfp_profiles.auth.dex import DexAuth
from kfp_profiles.auth.dex_flow import DexLoginSettings, LoginOutcome, dex_login
from kfp_profiles.auth.http import run_flow
from kfp_profiles.errors import (
    ConnectionFailedError,
    DeadlineExceededError,
    InvalidCredentialsError,
    TooManyRedirectsError,
    UnknownConnectorError,
)
from kfp_profiles.session import FileSessionStore, SessionCache
from kfp_profiles.testing import Blackhole, Emulator

from .helpers import free_port

USER = "user@example.com"
PASSWORD = "12341234"
HEALTHZ = "/apis/v2beta1/healthz"

#: Requests of a cold login per Kubeflow release (the table in dex_flow's docstring).
COLD_LOGIN_REQUESTS = {
    "1.5": 6,  # old Dex paths: the connector shortcut is refused, then /dex/auth; approval
    "1.6": 5,  # + approval (auto-approved)
    "1.7": 5,
    "1.8": 5,
    "1.9.0": 5,  # + the approval page Dex v2.39 shows to oauth2-proxy's first config
    "1.9.1": 4,  # start, connector, password, callback
    "1.10": 4,
    "1.11": 4,
}


def settings_for(emu: Emulator, **changes: Any) -> DexLoginSettings:
    values: dict[str, Any] = {"profile": "prod", "api_url": emu.api_url, "username": USER}
    values.update(changes)
    return DexLoginSettings(**values)


def log_in(emu: Emulator, password: str = PASSWORD, **changes: Any) -> LoginOutcome:
    settings = settings_for(emu, **changes)
    return run_flow(dex_login(settings, SecretStr(password)), settings)


def api_status(emu: Emulator, cookie_header: str, verify: Any = True) -> int:
    """What the KFP API behind the door answers with this session."""
    answer = requests.get(
        emu.api_url + HEALTHZ,
        headers={"Cookie": cookie_header} if cookie_header else {},
        allow_redirects=False,
        timeout=10,
        verify=verify,
    )
    return answer.status_code


def file_cache(tmp_path: Path) -> SessionCache:
    return SessionCache([FileSessionStore(tmp_path / "sessions")])


def password_of(value: str = PASSWORD) -> SecretStr:
    return SecretStr(value)


# --- every door -------------------------------------------------------------------------------


@pytest.mark.parametrize("release", Emulator.RELEASES)
def test_every_release_logs_in_with_the_fewest_requests(release: str) -> None:
    assert set(COLD_LOGIN_REQUESTS) == set(Emulator.RELEASES)
    with Emulator.for_release(release) as emu:
        assert api_status(emu, "") in (302, 401, 403)
        emu.reset_counts()
        outcome = log_in(emu)
        assert emu.total_requests == outcome.requests == COLD_LOGIN_REQUESTS[release]
        assert api_status(emu, outcome.cookie_header()) == 200
        expected_door = "oidc-authservice" if emu.door == "oidc-authservice" else "oauth2-proxy"
        assert outcome.door == expected_door
        # The session lives as long as the door says (24 h here), not "forever".
        assert outcome.expires_at is not None
        assert abs(outcome.expires_at - (time.time() + 86400)) < 60


@pytest.mark.parametrize("release", ["1.9.1", "1.10", "1.11"])
def test_the_current_door_costs_four_requests_and_never_fetches_a_page_it_does_not_need(
    release: str, tmp_path: Path
) -> None:
    with Emulator.for_release(release) as emu:
        auth = DexAuth(settings_for(emu), password_of, file_cache(tmp_path))
        auth.cookie_header()
        assert auth.last_login_requests == emu.total_requests == 4
        counts = emu.counts
        assert counts["GET /oauth2/start"] == 1
        assert counts["POST /dex/auth/local/login"] == 1
        assert counts["GET /oauth2/callback"] == 1
        assert counts["GET /pipeline"] == 0  # the page after the callback, and the probe
        assert counts["GET /dex/auth/local/login"] == 0  # the form itself


def test_a_renewal_through_a_known_authservice_door_asks_the_api_url_first(
    tmp_path: Path,
) -> None:
    with Emulator.for_release("1.8") as emu:
        auth = DexAuth(settings_for(emu), password_of, file_cache(tmp_path))
        stale = auth.cookie_header()
        emu.expire_sessions()
        emu.reset_counts()
        fresh = auth.renew(stale)
        assert fresh != stale
        assert emu.requests[0].path == "/pipeline"
        assert emu.counts["GET /oauth2/start"] == 0
        assert auth.last_login_requests == 5
        assert api_status(emu, fresh) == 200


def test_old_dex_paths_with_two_connectors_pick_ldap_from_the_list_page() -> None:
    with Emulator(door="oidc-authservice", dex="v2.28", connectors=("local", "ldap")) as emu:
        outcome = log_in(emu, connector="ldap")
        counts = emu.counts
        assert counts["GET /dex/auth"] == 1
        assert counts["POST /dex/auth/ldap"] == 1
        assert counts["POST /dex/auth/local"] == 0
        assert api_status(emu, outcome.cookie_header()) == 200


@pytest.mark.parametrize("connector", ["local", "ldap"])
def test_either_of_two_connectors_is_reached_directly(connector: str) -> None:
    with Emulator.for_release("1.11", connectors=("local", "ldap")) as emu:
        outcome = log_in(emu, connector=connector)
        assert outcome.requests == 4
        assert emu.counts[f"POST /dex/auth/{connector}/login"] == 1
        assert emu.counts["GET /dex/auth"] == 0  # the list page is skipped
        assert api_status(emu, outcome.cookie_header()) == 200


@pytest.mark.parametrize(
    ("connectors", "offered"), [(("local",), "'local'"), (("local", "ldap"), "'local', 'ldap'")]
)
def test_an_unknown_connector_lists_what_dex_offers(
    connectors: tuple[str, ...], offered: str
) -> None:
    with Emulator.for_release("1.11", connectors=connectors) as emu:
        with pytest.raises(UnknownConnectorError) as caught:
            log_in(emu, connector="github")
        assert f"offers {offered}" in str(caught.value)
        assert "'github'" in str(caught.value) and "prod" in str(caught.value)
        assert not any(key.startswith("POST") for key in emu.counts)


def test_the_approval_page_is_granted_in_one_request() -> None:
    with Emulator.for_release("1.11", approval_screen=True) as emu:
        outcome = log_in(emu)
        assert outcome.requests == 5
        assert emu.counts["POST /dex/approval"] == 1
        assert emu.counts["GET /dex/approval"] == 0
        assert api_status(emu, outcome.cookie_header()) == 200


def test_split_session_cookies_are_all_sent_back() -> None:
    with Emulator.for_release("1.11", pad_session_cookie=9000) as emu:
        outcome = log_in(emu)
        names = [name for name, _ in outcome.cookies]
        assert names == [f"oauth2_proxy_kubeflow_{i}" for i in range(len(names))]
        assert len(names) >= 3
        assert api_status(emu, outcome.cookie_header()) == 200
        # Any part missing and the door refuses the session.
        assert api_status(emu, "; ".join(f"{n}={v}" for n, v in outcome.cookies[:-1])) == 401


def test_a_host_without_a_door_needs_no_login() -> None:
    with Emulator(door="none") as emu:
        outcome = log_in(emu)
        assert not outcome.login_needed and outcome.cookies == ()
        assert api_status(emu, "") == 200


# --- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "release", ["1.11", "1.8", "1.7"], ids=["dex-2.44-401", "dex-2.36-401", "dex-2.31-200"]
)
def test_a_wrong_password_raises_invalid_credentials(release: str) -> None:
    with Emulator.for_release(release) as emu:
        with pytest.raises(InvalidCredentialsError) as caught:
            log_in(emu, password="not-the-password")
        message = str(caught.value)
        assert "prod" in message and USER in message and "'local'" in message
        assert "not-the-password" not in message


def test_tls_with_the_profiles_ca_bundle_wins_over_the_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kfp_profiles.testing.tls import write_tls_files

    (tmp_path / "unrelated").mkdir()
    unrelated = write_tls_files(tmp_path / "unrelated").ca_path
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(unrelated))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(unrelated))
    with Emulator.for_release("1.11", tls=True) as emu:
        assert emu.url.startswith("https://") and emu.ca_path is not None
        outcome = log_in(emu, ca_bundle=str(emu.ca_path))
        assert outcome.requests == 4
        assert api_status(emu, outcome.cookie_header(), verify=str(emu.ca_path)) == 200

        with pytest.raises(ConnectionFailedError) as caught:
            log_in(emu)  # no ca_bundle: the environment's unrelated CA is used, and fails
        message = str(caught.value)
        assert "TLS certificate" in message and emu.url in message and "ca_bundle" in message
        assert "state=" not in message


def test_a_refused_port_fails_at_once_naming_the_host() -> None:
    port = free_port()
    settings = DexLoginSettings(
        profile="prod", api_url=f"http://127.0.0.1:{port}/pipeline", username=USER
    )
    with pytest.raises(ConnectionFailedError, match="refused") as caught:
        run_flow(dex_login(settings, SecretStr(PASSWORD)), settings)
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_a_server_that_never_answers_fails_after_the_timeout_instead_of_hanging() -> None:
    with Blackhole() as url:
        settings = DexLoginSettings(
            profile="prod", api_url=f"{url}/pipeline", username=USER, timeout=0.5
        )
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError) as caught:
            run_flow(dex_login(settings, SecretStr(PASSWORD)), settings)
        assert str(caught.value) == (
            f"{url} did not finish the login (at its start step, GET /oauth2/start) for "
            "profile 'prod' within the 0.5 s `timeout`: no answer came (not even its whole "
            "status line); check the server, or raise `timeout` in the profile."
        )
        assert time.monotonic() - started < 20  # generous: fails instead of hanging


def test_a_door_that_needs_too_many_requests_is_stopped_naming_the_host() -> None:
    with Emulator.for_release("1.11") as emu:
        settings = settings_for(emu)
        with pytest.raises(TooManyRedirectsError) as caught:
            run_flow(dex_login(settings, SecretStr(PASSWORD)), settings, max_requests=3)
        assert emu.url in str(caught.value)
        assert emu.total_requests == 3


def test_environment_proxies_are_honoured_and_the_profiles_proxy_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    with Emulator.for_release("1.11") as emu:
        monkeypatch.setenv("HTTP_PROXY", dead_proxy)
        with pytest.raises(ConnectionFailedError, match="proxy"):
            log_in(emu)
        assert emu.total_requests == 0

        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert log_in(emu).requests == 4

        with pytest.raises(ConnectionFailedError, match="proxy"):
            log_in(emu, proxy=dead_proxy)


# --- DexAuth: cache, renewal, logout --------------------------------------------------------


def test_a_cached_session_is_reused_by_a_new_dexauth_with_no_request(tmp_path: Path) -> None:
    with Emulator.for_release("1.11") as emu:
        first = DexAuth(settings_for(emu), password_of, file_cache(tmp_path))
        header = first.cookie_header()
        emu.reset_counts()

        def no_password() -> SecretStr:
            raise AssertionError("a live cached session needs no password")

        second = DexAuth(settings_for(emu), no_password, file_cache(tmp_path))
        assert second.cookie_header() == header
        assert emu.total_requests == 0 and second.logins == 0
        assert second.door == "oauth2-proxy"


def test_a_cached_session_of_another_user_or_host_is_not_used(tmp_path: Path) -> None:
    with Emulator.for_release("1.11", users={USER: PASSWORD, "b@example.com": "pw-b"}) as emu:
        DexAuth(settings_for(emu), password_of, file_cache(tmp_path)).cookie_header()
        emu.reset_counts()
        other_user = DexAuth(
            settings_for(emu, username="b@example.com"),
            lambda: SecretStr("pw-b"),
            file_cache(tmp_path),
        )
        other_user.cookie_header()
        assert other_user.logins == 1 and emu.total_requests == 4

    with Emulator.for_release("1.11") as other_host:
        auth = DexAuth(settings_for(other_host), password_of, file_cache(tmp_path))
        auth.cookie_header()
        assert auth.logins == 1 and other_host.total_requests == 4


def test_an_expired_cached_session_is_replaced_and_its_door_skips_the_probe(tmp_path: Path) -> None:
    with Emulator.for_release("1.8", session_lifetime=3600) as emu:
        DexAuth(settings_for(emu), password_of, file_cache(tmp_path)).cookie_header()
        emu.reset_counts()
        later = time.time() + 7200
        auth = DexAuth(settings_for(emu), password_of, file_cache(tmp_path), clock=lambda: later)
        auth.cookie_header()
        assert auth.logins == 1
        assert emu.requests[0].path == "/pipeline"  # the cached door said oidc-authservice


def test_eight_threads_renewing_the_same_stale_session_share_one_login(tmp_path: Path) -> None:
    with Emulator.for_release("1.11") as emu:
        auth = DexAuth(settings_for(emu), password_of, file_cache(tmp_path))
        stale = auth.cookie_header()
        emu.expire_sessions()
        assert api_status(emu, stale) == 401
        emu.reset_counts()
        barrier = threading.Barrier(8)
        results: list[str] = []

        def renew() -> None:
            barrier.wait()
            results.append(auth.renew(stale))

        threads = [threading.Thread(target=renew) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(results) == 8 and len(set(results)) == 1
        assert results[0] != stale
        assert auth.logins == 2
        assert emu.counts["POST /dex/auth/local/login"] == 1
        assert emu.total_requests == 4  # the door was known: no probe
        assert api_status(emu, results[0]) == 200


def test_renew_takes_a_session_another_process_cached_meanwhile(tmp_path: Path) -> None:
    with Emulator.for_release("1.11") as emu:
        mine = DexAuth(settings_for(emu), password_of, file_cache(tmp_path))
        stale = mine.cookie_header()
        other_process = DexAuth(settings_for(emu), password_of, file_cache(tmp_path))
        fresh = other_process.login()
        emu.reset_counts()
        assert mine.renew(stale) == fresh
        assert emu.total_requests == 0


def test_logout_forgets_the_session_everywhere(tmp_path: Path) -> None:
    with Emulator.for_release("1.11") as emu:
        cache = file_cache(tmp_path)
        auth = DexAuth(settings_for(emu), password_of, cache)
        auth.cookie_header()
        auth.logout()
        assert cache.load("prod") is None and auth.current_session() is None
        auth.cookie_header()
        assert auth.logins == 2


@pytest.mark.keyring
def test_the_session_is_cached_in_the_real_keyring_and_reused(keyring_backend: Any) -> None:
    with Emulator.for_release("1.11") as emu:
        header = DexAuth(settings_for(emu), password_of, SessionCache()).cookie_header()
        assert FileSessionStore().load("prod") is None  # it went to the keyring
        emu.reset_counts()
        again = DexAuth(settings_for(emu), password_of, SessionCache())
        assert again.cookie_header() == header
        assert emu.total_requests == 0


# --- secrets stay secret --------------------------------------------------------------------


@pytest.fixture
def all_debug_output() -> Iterator[None]:
    """Every log record at DEBUG also printed to stderr, as a user's basicConfig would."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    yield
    root.removeHandler(handler)


def test_at_debug_no_output_contains_the_password_or_a_dex_code(
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    all_debug_output: None,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "Pw-" + "9f3kq-unique"
    with Emulator.for_release("1.11", users={USER: secret}) as emu:
        wrong = DexAuth(settings_for(emu), lambda: SecretStr(secret + "x"), file_cache(tmp_path))
        with pytest.raises(InvalidCredentialsError) as caught:
            wrong.cookie_header()
        auth = DexAuth(settings_for(emu), lambda: SecretStr(secret), file_cache(tmp_path))
        header = auth.cookie_header()
        texts = [str(caught.value), repr(caught.value), repr(auth), repr(auth.current_session())]
        codes = [
            parse_qs(r.raw_query)["code"][0] for r in emu.requests if r.path == "/oauth2/callback"
        ]
        gateway = emu.url
    captured = capsys.readouterr()
    everything = "\n".join([caplog.text, captured.out, captured.err, *texts])
    assert codes and header
    assert secret not in everything
    for code in codes:
        assert code not in everything
    cookie_value = header.partition("=")[2]
    assert cookie_value not in everything
    # The DEBUG trail is there, redacted: the test looked at real log lines.
    assert f"POST {gateway}/dex/auth/local/login?back=&state=REDACTED -> 303" in caplog.text
    assert "/oauth2/callback?code=REDACTED" in caplog.text
    assert urlsplit(gateway).netloc in captured.err


def test_the_login_names_an_unreadable_ca_bundle_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    with Emulator.for_release("1.11", tls=True) as emu:
        with pytest.raises(ConnectionFailedError) as caught:
            log_in(emu)
        assert emu.total_requests == 0
        assert str(caught.value) == (
            f"Cannot reach {emu.url} for profile 'prod': the CA bundle /nonexistent/ca.pem named "
            "by REQUESTS_CA_BUNDLE cannot be read; point REQUESTS_CA_BUNDLE at an existing PEM "
            "file, or unset it."
        )


def test_no_one_is_asked_for_a_password_before_the_host_shows_its_form() -> None:
    asked: list[str] = []

    def ask() -> SecretStr:
        asked.append("asked")
        return SecretStr(PASSWORD)

    down = DexLoginSettings(
        profile="prod", api_url=f"http://127.0.0.1:{free_port()}/pipeline", username=USER
    )
    with pytest.raises(ConnectionFailedError):
        DexAuth(down, ask, None).cookie_header()
    with Emulator(door="none") as standalone:  # no front door: no password at all
        DexAuth(settings_for(standalone), ask, None).cookie_header()
    assert asked == []
    with Emulator.for_release("1.10") as emu:
        DexAuth(settings_for(emu), ask, None).cookie_header()
    assert asked == ["asked"]
