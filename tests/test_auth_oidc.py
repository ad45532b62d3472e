"""platform-oidc end to end: a person signs in (device or browser), the ID token is the bearer.

Through the real kfp SDK over real HTTP to the emulator, whose Dex is a whole
OIDC provider: the device code is approved by the emulator's scripted person,
the browser sign-in is walked by ``browse`` (a scripted person at a browser).
The only stand-in is ``webbrowser.open``: there is no browser on a test
machine, so the test catches the URL it would have opened and hands it to
``browse``. Unless a test says otherwise no keyring works (the sign-in goes
to the 0600 file store).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from kfp_profiles import get_client
from kfp_profiles.auth.oidc_store import SignInStore
from kfp_profiles.errors import (
    OidcDeviceCodeExpiredError,
    OidcRefreshRefusedError,
    OidcSignInDeniedError,
    OidcSignInNeededError,
    OidcStateMismatchError,
)
from kfp_profiles.testing import Emulator, browse

from .tokens import CLIENT, NAMESPACE, oidc_profile

#: Kubeflow releases whose gateway takes a Dex ID token as a bearer (Istio, 1.9.1+), and
#: the redirect their Dex accepts for a public client (numeric loopback from Dex v2.42).
RELEASES = {
    "1.9.1": "http://localhost/callback",
    "1.10": "http://localhost/callback",
    "1.11": "http://127.0.0.1/callback",
}


@pytest.fixture
def emu(no_keyring: None, profiles_path: Path) -> Iterator[Emulator]:
    """Kubeflow 1.11 whose Dex asks no poll interval, approving each device code at once."""
    with Emulator.for_release("1.11", device_interval=0) as emulator:
        emulator.add_experiment("first", namespace=NAMESPACE)
        emulator.auto_approve_devices()
        oidc_profile(profiles_path, emulator)
        yield emulator


def names(client: Any) -> list[str]:
    return [e.display_name for e in client.list_experiments().experiments or []]


def stored(profile: str = "o") -> Any:
    sign_in = SignInStore(profile).load()
    assert sign_in is not None
    return sign_in


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``webbrowser.open`` replaced (no browser exists here): the URLs it was given."""
    opened: list[str] = []

    def record(url: str, *args: Any, **kwargs: Any) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", record)
    return opened


def person_at_browser(monkeypatch: pytest.MonkeyPatch, **how: Any) -> list[Any]:
    """``webbrowser.open`` replaced by a scripted person who walks the URL (``browse``)."""
    visits: list[Any] = []

    def walk(url: str, *args: Any, **kwargs: Any) -> bool:
        visits.append(browse(url, **how))
        return True

    monkeypatch.setattr(webbrowser, "open", walk)
    return visits


# --- the device flow ------------------------------------------------------------------------


@pytest.mark.parametrize("release", list(RELEASES))
def test_device_flow_then_list_experiments(
    release: str, no_keyring: None, profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator.for_release(release, device_interval=0) as emu:
        emu.add_experiment("first", namespace=NAMESPACE)
        emu.auto_approve_devices()
        oidc_profile(profiles_path, emu)
        client = get_client("o", prompt=True)
        assert names(client) == ["first"]
        err = capsys.readouterr().err
        # Dex names its in-cluster URL; the person is sent to the gateway's /dex instead.
        assert f"open {emu.url}/dex/device and enter the code " in err
        assert "svc.cluster.local" not in err
        assert emu.grant_counts == {"urn:ietf:params:oauth:grant-type:device_code": 1}
        assert stored().refresh_token


def test_a_slow_down_answer_waits_longer_and_the_default_interval_is_five_seconds(
    no_keyring: None, profiles_path: Path
) -> None:
    from kfp_profiles.auth.oidc_discovery import discover
    from kfp_profiles.auth.oidc_flows import device_sign_in
    from kfp_profiles.auth.oidc_http import OidcConfig

    with Emulator.for_release("1.11", device_omit_interval=True) as emu:
        emu.auto_approve_devices()
        config = OidcConfig("o", emu.api_url, CLIENT, emu.url + "/dex", ("openid",), timeout=10)
        slept: list[float] = []
        tokens = device_sign_in(config, discover(config), say=lambda _: None, sleep=slept.append)
    assert "id_token" in tokens
    assert slept == [5.0]  # no interval given: RFC 8628's 5 s


def test_a_refused_approval_is_typed_with_its_fix(emu: Emulator) -> None:
    emu.auto_approve_devices(approve=False)
    with pytest.raises(OidcSignInDeniedError) as caught:
        get_client("o", prompt=True)
    assert "access_denied" in str(caught.value)
    assert "kfp-profiles login o" in str(caught.value)
    assert caught.value.exit_code == 6


def test_an_expired_device_code_is_typed_with_its_fix(emu: Emulator) -> None:
    emu.auto_approve_devices(None)
    emu.oidc.device_interval = 1

    def expire_when_asked() -> None:
        emu.wait_for_device_code(timeout=10)
        emu.expire_device_codes()

    threading.Thread(target=expire_when_asked, daemon=True).start()
    with pytest.raises(OidcDeviceCodeExpiredError) as caught:
        get_client("o", prompt=True)
    assert f"{emu.url}/dex/device" in str(caught.value)
    assert "kfp-profiles login o" in str(caught.value)


def test_no_sign_in_and_no_person_says_to_log_in(emu: Emulator) -> None:
    with pytest.raises(OidcSignInNeededError) as caught:
        get_client("o")
    assert "kfp-profiles login o" in str(caught.value)
    assert emu.total_requests == 0


# --- the browser flow -----------------------------------------------------------------------


@pytest.mark.parametrize("release", list(RELEASES))
def test_browser_flow_walked_by_a_person(
    release: str, no_keyring: None, profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    visits = person_at_browser(monkeypatch)
    with Emulator.for_release(release) as emu:
        emu.add_experiment("first", namespace=NAMESPACE)
        oidc_profile(profiles_path, emu, flow="browser", redirect_uri=RELEASES[release])
        client = get_client("o", prompt=True)
        assert names(client) == ["first"]
        assert emu.grant_counts == {"authorization_code": 1}
    (visit,) = visits
    first = parse_qs(urlsplit(visit.history[0]).query)
    assert first["code_challenge_method"] == ["S256"] and first["code_challenge"]
    assert first["prompt"] == ["consent"] and first["nonce"] and first["state"]
    assert first["redirect_uri"][0].startswith(RELEASES[release].replace("/callback", ":"))
    assert "Signed in" in visit.text
    assert stored().refresh_token


def test_auto_takes_the_browser_where_dex_offers_no_device_flow(
    no_keyring: None, profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    person_at_browser(monkeypatch)
    with Emulator.for_release("1.11", device_flow=False) as emu:
        oidc_profile(profiles_path, emu)
        get_client("o", prompt=True)
        assert emu.grant_counts == {"authorization_code": 1}


def test_a_wrong_state_is_refused(emu: Emulator, profiles_path: Path, browser: list[str]) -> None:
    oidc_profile(profiles_path, emu, flow="browser")

    def tamper() -> None:
        while not browser:
            time.sleep(0.02)
        visit = browse(browser[0], follow_callback=False)
        forged = visit.url.replace(f"state={visit.query['state']}", "state=forged")
        requests.get(forged, timeout=10)

    threading.Thread(target=tamper, daemon=True).start()
    with pytest.raises(OidcStateMismatchError) as caught:
        get_client("o", prompt=True)
    assert "`state`" in str(caught.value) and "kfp-profiles login o" in str(caught.value)
    assert emu.grant_counts == {}  # the code was never redeemed


def test_an_authorization_response_from_another_issuer_is_refused(
    no_keyring: None, profiles_path: Path, browser: list[str]
) -> None:
    with Emulator.for_release("1.11", authorization_response_iss=True) as emu:
        oidc_profile(profiles_path, emu, flow="browser")

        def mix_up() -> None:
            while not browser:
                time.sleep(0.02)
            visit = browse(browser[0], follow_callback=False)
            assert visit.query["iss"] == emu.dex_issuer  # RFC 9207: Dex sends it
            requests.get(visit.url.replace("iss=", "iss=https%3A%2F%2Fevil.example"), timeout=10)

        threading.Thread(target=mix_up, daemon=True).start()
        with pytest.raises(OidcStateMismatchError) as caught:
            get_client("o", prompt=True)
    assert "evil.example" in str(caught.value)


# --- renewal --------------------------------------------------------------------------------


def expire_by_clock(emu: Emulator) -> None:
    """Wait until the held ID token is past its ``exp`` (lifetime 2 s, margin 0)."""
    ends = stored().expires_at
    time.sleep(max(0.0, ends - time.time()) + 0.05)


@pytest.fixture
def short_lived(no_keyring: None, profiles_path: Path) -> Iterator[Emulator]:
    with Emulator.for_release("1.11", device_interval=0, id_token_lifetime=2) as emulator:
        emulator.add_experiment("first", namespace=NAMESPACE)
        emulator.auto_approve_devices()
        oidc_profile(profiles_path, emulator, refresh_margin=0)
        yield emulator


def test_an_expired_id_token_costs_one_token_request(short_lived: Emulator) -> None:
    emu = short_lived
    client = get_client("o", prompt=True)
    first = stored().refresh_token
    expire_by_clock(emu)
    emu.reset_counts()
    assert names(client) == ["first"]
    assert emu.counts == {"POST /dex/token": 1, "GET /pipeline/apis/v2beta1/experiments": 1}
    assert emu.grant_counts["refresh_token"] == 1
    assert stored().refresh_token != first  # rotated, and the new one saved


def test_eight_threads_on_an_expired_token_share_one_refresh(short_lived: Emulator) -> None:
    emu = short_lived
    client = get_client("o", prompt=True)
    expire_by_clock(emu)
    barrier = threading.Barrier(8)
    results: list[list[str]] = []

    def call() -> None:
        barrier.wait()
        results.append(names(client))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [["first"]] * 8
    assert emu.grant_counts["refresh_token"] == 1


def test_a_token_the_gateway_refuses_is_renewed_once(emu: Emulator) -> None:
    client = get_client("o", prompt=True)
    emu.expire_sessions()  # every Dex token so far now fails at the gateway as expired
    emu.reset_counts()
    assert names(client) == ["first"]
    assert emu.grant_counts["refresh_token"] == 1
    assert emu.counts["GET /pipeline/apis/v2beta1/experiments"] == 2  # refused, then served


def test_a_new_process_with_a_stored_sign_in_costs_one_request(emu: Emulator) -> None:
    get_client("o", prompt=True)
    emu.reset_counts()
    script = (
        "from kfp_profiles import get_client\n"
        "print([e.display_name for e in get_client('o').list_experiments().experiments])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['first']"
    assert emu.total_requests == 1


def test_a_new_process_refreshes_what_another_stored(short_lived: Emulator) -> None:
    emu = short_lived
    get_client("o", prompt=True)
    expire_by_clock(emu)
    emu.reset_counts()
    script = "from kfp_profiles import get_client\nget_client('o').list_experiments()\n"
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
    assert emu.grant_counts["refresh_token"] == 1  # the second process used the first's


def test_a_rotated_signing_key_costs_one_key_fetch(short_lived: Emulator) -> None:
    emu = short_lived
    client = get_client("o", prompt=True)
    emu.rotate_keys()
    expire_by_clock(emu)
    emu.reset_counts()
    names(client)
    assert emu.counts["GET /dex/keys"] == 1
    names(client)
    assert emu.counts["GET /dex/keys"] == 1


def test_a_revoked_sign_in_says_to_log_in_again(emu: Emulator) -> None:
    get_client("o", prompt=True)
    emu.revoke_sign_ins()
    emu.expire_sessions()
    client = get_client("o")  # the stored ID token is still within its life
    with pytest.raises(OidcRefreshRefusedError) as caught:
        names(client)
    message = str(caught.value)
    assert "invalid_request" in message and "kfp-profiles login o" in message
    assert caught.value.exit_code == 6


def test_a_revoked_sign_in_falls_back_to_a_sign_in_where_a_person_is_there(
    emu: Emulator,
) -> None:
    client = get_client("o", prompt=True)
    emu.revoke_sign_ins()
    emu.expire_sessions()
    assert names(client) == ["first"]
    assert emu.grant_counts["urn:ietf:params:oauth:grant-type:device_code"] == 2


def test_a_sign_in_is_kept_for_its_own_host_only(emu: Emulator, profiles_path: Path) -> None:
    get_client("o", prompt=True)
    emu.reset_counts()
    with pytest.raises(OidcSignInNeededError):
        get_client("o", host=emu.url.replace("127.0.0.1", "localhost") + "/pipeline")
    assert emu.total_requests == 0


# --- the keyring, and no secret anywhere ----------------------------------------------------


@pytest.mark.keyring
def test_the_refresh_token_goes_to_the_keyring_not_a_file(
    keyring_backend: Any, profiles_path: Path, isolated_home: Path
) -> None:
    import keyring

    with Emulator.for_release("1.11", device_interval=0) as emu:
        emu.auto_approve_devices()
        oidc_profile(profiles_path, emu)
        get_client("o", prompt=True)
        value = keyring.get_password("kfp-profiles-session", "o#oidc")
    assert value is not None
    refresh = json.loads(value)["refresh_token"]
    assert refresh
    for path in isolated_home.rglob("*"):
        if path.is_file():
            assert refresh not in path.read_text(errors="replace"), path


def test_no_token_in_any_output_log_repr_or_error(
    emu: Emulator,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    client = get_client("o", prompt=True)
    secrets = {stored().id_token, stored().refresh_token}
    credentials = client._credentials
    emu.revoke_sign_ins()
    emu.expire_sessions()
    with pytest.raises(OidcRefreshRefusedError) as caught:
        names(get_client("o"))
    secrets |= {stored().id_token, stored().refresh_token}
    captured = capsys.readouterr()
    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    texts = [captured.out, captured.err, caplog.text, repr(credentials), repr(stored())]
    texts += [str(e) for e in chain] + [repr(e.args) for e in chain]
    texts += [repr(record.args) for record in caplog.records]
    assert len(chain) == 1
    for secret in secrets:
        assert secret and not any(secret in text for text in texts)


def test_the_file_store_is_private(emu: Emulator, isolated_home: Path) -> None:
    get_client("o", prompt=True)
    (path,) = (isolated_home / ".cache" / "kfp-profiles").glob("session-*.json")
    assert path.name == "session-o%23oidc.json"
    assert path.stat().st_mode & 0o777 == 0o600
