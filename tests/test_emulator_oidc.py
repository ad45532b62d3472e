"""The emulated Dex is an OIDC provider (kfp_profiles/testing/oidc.py, device.py, person.py).

Discovery with Kubeflow's in-cluster issuer (or a public one), the
authorization code flow with PKCE walked by a scripted person to a real
loopback callback, Dex's redirect rules version by version, refresh tokens
that rotate and revoke the sign-in when a used one comes back, the device
flow approved, refused, expired and polled too fast, and the controls a
test has over all of it.

Everything runs over real HTTP on loopback, driven with ``requests`` and
``http.client`` (tests/browser.py); nothing here is mocked.
"""

from __future__ import annotations

import hashlib
import html
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from kfp_profiles.testing import Emulator, StaticClient, browse
from kfp_profiles.testing.jwt import b64url, claims_of

from .browser import TIMEOUT, USER, query_of, raw

CLIENT = "kfp-profiles"
IN_CLUSTER = "http://dex.auth.svc.cluster.local:5556/dex"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "openid email profile offline_access"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def auth_url(emu: Emulator, redirect_uri: str, **extra: str) -> str:
    params = {
        "client_id": CLIENT,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": SCOPE,
        "state": "the-state",
        **extra,
    }
    return f"{emu.url}/dex/auth?{urlencode(params)}"


def token(emu: Emulator, **form: str) -> requests.Response:
    return requests.post(f"{emu.url}/dex/token", data=form, timeout=TIMEOUT)


def code_for(emu: Emulator, redirect_uri: str, **extra: str) -> str:
    visit = browse(auth_url(emu, redirect_uri, **extra), follow_callback=False)
    assert not visit.fetched and visit.url.startswith(redirect_uri), visit.history
    return visit.query["code"]


def exchange(emu: Emulator, code: str, redirect_uri: str, **form: str) -> requests.Response:
    """The authorization_code grant of the default public client."""
    return token(
        emu,
        **{
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": CLIENT,
            **form,
        },
    )


def signed_in(emu: Emulator, **extra: str) -> dict[str, Any]:
    """A browser sign-in with PKCE and its code exchange: the token endpoint's JSON."""
    verifier, challenge = pkce()
    redirect_uri = "http://localhost:8085/callback"
    code = code_for(
        emu, redirect_uri, code_challenge=challenge, code_challenge_method="S256", **extra
    )
    answer = exchange(emu, code, redirect_uri, code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def refresh(emu: Emulator, refresh_token: str) -> requests.Response:
    return token(emu, grant_type="refresh_token", refresh_token=refresh_token, client_id=CLIENT)


@contextmanager
def loopback_callback() -> Iterator[tuple[str, list[str]]]:
    """A real one-shot HTTP listener on 127.0.0.1, as the code under test would run."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = b"You can close this window."
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/callback", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- discovery ----------------------------------------------------------------------------------


def test_discovery_names_the_in_cluster_issuer_as_stock_kubeflow_does() -> None:
    with Emulator.for_release("1.11") as emu:
        document = requests.get(
            f"{emu.url}/dex/.well-known/openid-configuration", timeout=TIMEOUT
        ).json()
    assert document["issuer"] == IN_CLUSTER == emu.dex_issuer
    assert document["authorization_endpoint"] == f"{IN_CLUSTER}/auth"
    assert document["token_endpoint"] == f"{IN_CLUSTER}/token"
    assert document["jwks_uri"] == f"{IN_CLUSTER}/keys"
    assert document["device_authorization_endpoint"] == f"{IN_CLUSTER}/device/code"
    assert document["code_challenge_methods_supported"] == ["S256", "plain"]
    assert DEVICE_GRANT in document["grant_types_supported"]
    assert "offline_access" in document["scopes_supported"]


def test_a_public_dex_names_urls_the_laptop_reaches_and_signs_with_that_issuer() -> None:
    with Emulator.for_release("1.11", public_issuer=True) as emu:
        document = requests.get(
            f"{emu.url}/dex/.well-known/openid-configuration", timeout=TIMEOUT
        ).json()
        id_token = emu.issue_id_token(USER)
        accepted = raw(
            emu,
            "GET",
            "/pipeline/apis/v2beta1/healthz",
            headers={"Authorization": f"Bearer {id_token}"},
        )
        device = requests.post(f"{emu.url}/dex/device/code", data={"client_id": CLIENT}).json()
        url = emu.url
    assert document["issuer"] == claims_of(id_token)["iss"] == f"{url}/dex"
    assert accepted.status == 200  # the gateway's rule names the same issuer
    assert document["token_endpoint"] == f"{url}/dex/token"
    assert device["verification_uri"] == f"{url}/dex/device"


def test_without_the_device_flow_discovery_offers_none() -> None:
    with Emulator.for_release("1.11", device_flow=False) as emu:
        document = requests.get(
            f"{emu.url}/dex/.well-known/openid-configuration", timeout=TIMEOUT
        ).json()
        device = raw(emu, "POST", "/dex/device/code", body=b"client_id=kfp-profiles")
    assert "device_authorization_endpoint" not in document
    assert DEVICE_GRANT not in document["grant_types_supported"]
    assert device.status == 404


# --- the authorization code flow with PKCE ------------------------------------------------------


def test_a_scripted_person_signs_in_and_the_loopback_callback_gets_the_code() -> None:
    verifier, challenge = pkce()
    with Emulator.for_release("1.11") as emu, loopback_callback() as (redirect_uri, seen):
        visit = browse(
            auth_url(
                emu,
                redirect_uri,
                nonce="n-0S6",
                code_challenge=challenge,
                code_challenge_method="S256",
                prompt="consent",
            )
        )
        (callback,) = seen
        query = query_of(callback)
        answer = exchange(emu, query["code"], redirect_uri, code_verifier=verifier)
        counts = emu.counts
    assert visit.status == 200 and visit.text == "You can close this window."
    assert query["state"] == "the-state" and "iss" not in query  # Dex sends no iss
    assert counts["POST /dex/approval"] == 1  # prompt=consent shows the approval page
    body = answer.json()
    assert answer.status_code == 200 and body["token_type"] == "bearer"
    claims = claims_of(body["id_token"])
    assert (claims["iss"], claims["aud"], claims["email"]) == (IN_CLUSTER, CLIENT, USER)
    assert claims["nonce"] == "n-0S6" and "at_hash" in claims
    assert body["refresh_token"] and 86390 < body["expires_in"] <= 86400


def test_an_out_of_band_code_is_shown_for_the_person_to_paste() -> None:
    with Emulator.for_release("1.11") as emu:
        visit = browse(auth_url(emu, "urn:ietf:wg:oauth:2.0:oob"))
        page_code = visit.text.split('value="')[-1].split('"')[0]
        answer = exchange(emu, page_code, "urn:ietf:wg:oauth:2.0:oob")
    assert visit.status == 200 and "Please copy this code" in visit.text
    assert answer.status_code == 200


def test_the_authorization_response_carries_iss_when_asked() -> None:
    with Emulator.for_release("1.11", authorization_response_iss=True) as emu:
        visit = browse(auth_url(emu, "http://localhost:9/cb"), follow_callback=False)
    assert visit.query["iss"] == IN_CLUSTER


def test_plain_pkce_works_too() -> None:
    with Emulator.for_release("1.11") as emu:
        code = code_for(emu, "http://localhost:1/cb", code_challenge="plain-verifier")
        answer = exchange(emu, code, "http://localhost:1/cb", code_verifier="plain-verifier")
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("case", "status", "error", "description"),
    [
        ("wrong verifier", 400, "invalid_grant", "Invalid code_verifier."),
        ("no verifier", 400, "invalid_grant", "Expecting parameter code_verifier in PKCE flow."),
        (
            "other redirect",
            400,
            "invalid_request",
            "redirect_uri did not match URI from initial request.",
        ),
        ("used code", 400, "invalid_grant", "Invalid or expired code parameter."),
        ("unknown client", 401, "invalid_client", "Invalid client credentials."),
        ("wrong secret", 401, "invalid_client", "Invalid client credentials."),
    ],
)
def test_the_token_endpoint_refuses_as_dex_does(
    case: str, status: int, error: str, description: str
) -> None:
    verifier, challenge = pkce()
    redirect_uri = "http://localhost:1/cb"
    with Emulator.for_release("1.11") as emu:
        code = code_for(emu, redirect_uri, code_challenge=challenge, code_challenge_method="S256")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": CLIENT,
            "code_verifier": verifier,
        }
        changes = {
            "wrong verifier": {"code_verifier": "x" * 43},
            "no verifier": {"code_verifier": ""},
            "other redirect": {"redirect_uri": "http://localhost:2/cb"},
            "used code": {},
            "unknown client": {"client_id": "nobody"},
            "wrong secret": {"client_secret": "guess"},
        }
        if case == "used code":
            assert token(emu, **form).status_code == 200
        answer = token(emu, **{**form, **changes[case]})
    assert answer.status_code == status
    assert answer.json() == {"error": error, "error_description": description}


def test_a_verifier_without_a_challenge_is_refused() -> None:
    with Emulator.for_release("1.11") as emu:
        code = code_for(emu, "http://localhost:1/cb")
        answer = exchange(emu, code, "http://localhost:1/cb", code_verifier="v" * 43)
    assert answer.status_code == 400
    assert answer.json()["error_description"] == "No PKCE flow started. Cannot check code_verifier."


@pytest.mark.parametrize(
    ("dex", "redirect_uri", "accepted"),
    [
        ("v2.41", "http://localhost:8085/callback", True),
        ("v2.41", "http://localhost/anywhere", True),
        ("v2.41", "http://127.0.0.1:8085/callback", False),  # old Dex: only the name
        ("v2.41", "http://[::1]:8085/callback", False),
        ("v2.44", "http://127.0.0.1:8085/callback", True),
        ("v2.44", "http://[::1]:8085/callback", True),
        ("v2.44", "urn:ietf:wg:oauth:2.0:oob", True),
        ("v2.44", "https://localhost:8085/callback", False),
        ("v2.44", "http://example.com/callback", False),
    ],
)
def test_a_public_client_without_redirect_uris_gets_the_loopback_rules(
    dex: str, redirect_uri: str, accepted: bool
) -> None:
    with Emulator(door="oauth2-proxy", dex=dex) as emu:
        answer = raw(emu, "GET", connector_path(CLIENT, redirect_uri))
    if accepted:
        assert answer.status == 302 and "/dex/auth/local/login?" in answer.location
    else:
        assert answer.status == 400
        refusal = f'Unregistered redirect_uri ("{redirect_uri}").'
        assert refusal in html.unescape(answer.body.decode())


def connector_path(client_id: str, redirect_uri: str) -> str:
    """The authorization request as Dex's connector page takes it (where Dex checks it)."""
    query = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid",
    }
    return f"/dex/auth/local?{urlencode(query)}"


def test_a_client_with_redirect_uris_gets_exactly_those() -> None:
    listed = "http://127.0.0.1:8085/callback"
    client = StaticClient("pinned", public=True, redirect_uris=(listed,))
    with Emulator.for_release("1.11", clients=[client]) as emu:
        statuses = [
            raw(emu, "GET", connector_path("pinned", uri)).status
            for uri in (listed, "http://127.0.0.1:9999/callback", "urn:ietf:wg:oauth:2.0:oob")
        ]
        default_client = raw(emu, "GET", connector_path(CLIENT, listed))
    assert statuses == [302, 400, 400]
    assert default_client.status == 400  # only the clients given: the default one is gone


def test_bad_authorization_requests_go_back_to_the_client_with_an_error() -> None:
    with Emulator.for_release("1.11") as emu:
        no_openid = browse(
            auth_url(emu, "http://localhost:1/cb", scope="email"), follow_callback=False
        )
        bad_method = browse(
            auth_url(
                emu, "http://localhost:1/cb", code_challenge="c", code_challenge_method="S512"
            ),
            follow_callback=False,
        )
    assert no_openid.query == {
        "error": "invalid_scope",
        "error_description": 'Missing required scope(s) ["openid"].',
        "state": "the-state",
    }
    assert bad_method.query["error_description"] == 'Unsupported PKCE challenge method ("S512").'


def test_a_client_may_ask_for_a_peer_that_trusts_it_in_the_audience() -> None:
    trusting = StaticClient("kfp-profiles", public=True, trusted_peers=("ci",))
    with Emulator.for_release("1.11", clients=[trusting, StaticClient("ci", public=True)]) as emu:
        peer_scope = "openid email audience:server:client_id:kfp-profiles"
        code = code_for(emu, "http://localhost:1/cb", client_id="ci", scope=peer_scope)
        answer = exchange(emu, code, "http://localhost:1/cb", client_id="ci")
        untrusted = browse(
            auth_url(emu, "http://localhost:1/cb", scope="openid audience:server:client_id:ci"),
            follow_callback=False,
        )
    claims = claims_of(answer.json()["id_token"])
    assert (claims["aud"], claims["azp"]) == (["kfp-profiles", "ci"], "ci")
    assert untrusted.query["error"] == "invalid_scope"
    assert (
        untrusted.query["error_description"]
        == 'Client can\'t request scope(s) ["audience:server:client_id:ci"]'
    )


def test_a_wrong_password_leaves_the_person_on_the_form() -> None:
    with Emulator.for_release("1.11") as emu:
        visit = browse(auth_url(emu, "http://localhost:1/cb"), password="wrong")
    assert visit.status == 401 and 'name="password"' in visit.text


# --- refresh tokens -----------------------------------------------------------------------------


def test_refresh_tokens_rotate_and_a_reuse_within_the_window_gets_the_same_new_one() -> None:
    with Emulator.for_release("1.11") as emu:
        first = signed_in(emu)["refresh_token"]
        renewed = refresh(emu, first)
        again = refresh(emu, first)  # a second process with the same token, at once
        grants = emu.grant_counts
    assert renewed.status_code == 200 and again.status_code == 200
    second = renewed.json()["refresh_token"]
    assert second != first and again.json()["refresh_token"] == second
    assert claims_of(renewed.json()["id_token"])["email"] == USER
    assert grants == {"authorization_code": 1, "refresh_token": 2}


def test_a_used_refresh_token_after_the_window_revokes_the_whole_sign_in() -> None:
    with Emulator.for_release("1.11", refresh_reuse_interval=0.2) as emu:
        first = signed_in(emu)["refresh_token"]
        second = refresh(emu, first).json()["refresh_token"]
        time.sleep(0.3)
        reused = refresh(emu, first)
        current = refresh(emu, second)
        live = emu.sign_ins()
    assert reused.status_code == 400 and current.status_code == 400
    assert reused.json()["error"] == "invalid_request"
    assert (
        "is invalid or has already been claimed by another client."
        in reused.json()["error_description"]
    )
    assert live == 0


def test_dex_itself_only_refuses_the_reused_token() -> None:
    with Emulator.for_release(
        "1.11", refresh_reuse_interval=0.2, refresh_reuse_revokes=False
    ) as emu:
        first = signed_in(emu)["refresh_token"]
        second = refresh(emu, first).json()["refresh_token"]
        time.sleep(0.3)
        reused = refresh(emu, first)
        current = refresh(emu, second)
    assert (reused.status_code, current.status_code) == (400, 200)


def test_sign_ins_can_be_revoked_expired_or_outlived() -> None:
    with Emulator.for_release("1.11") as emu:
        revoked = signed_in(emu)["refresh_token"]
        assert (emu.sign_ins(USER), emu.revoke_sign_ins(USER), emu.sign_ins()) == (1, 1, 0)
        emu.oidc.refresh_lifetime = 0.5
        outlived = signed_in(emu)["refresh_token"]
        time.sleep(0.6)
        answers = [refresh(emu, revoked), refresh(emu, outlived)]
        emu.oidc.refresh_lifetime = None
        expired = signed_in(emu)["refresh_token"]
        emu.expire_refresh_tokens()
        answers.append(refresh(emu, expired))
    assert [a.status_code for a in answers] == [400, 400, 400]
    assert answers[0].json()["error"] == "invalid_request"
    assert "has already been claimed" in answers[0].json()["error_description"]
    assert [a.json() for a in answers[1:]] == [
        {"error": "invalid_request", "error_description": "Refresh token expired."}
    ] * 2


def test_no_refresh_token_without_offline_access_or_the_consent_a_strict_provider_wants() -> None:
    with Emulator.for_release("1.11", refresh_needs_consent=True) as emu:
        without_offline = signed_in(emu, scope="openid email")
        without_consent = signed_in(emu)
        with_consent = signed_in(emu, prompt="consent")
    assert "refresh_token" not in without_offline
    assert "refresh_token" not in without_consent
    assert with_consent["refresh_token"]


def test_short_id_token_lifetimes_are_what_the_token_endpoint_says() -> None:
    with Emulator.for_release("1.11", id_token_lifetime=120) as emu:
        body = signed_in(emu)
    claims = claims_of(body["id_token"])
    assert claims["exp"] - claims["iat"] == 120 and body["expires_in"] <= 120


def test_userinfo_answers_for_a_dex_token() -> None:
    with Emulator.for_release("1.11") as emu:
        body = signed_in(emu)
        info = requests.get(
            f"{emu.url}/dex/userinfo",
            headers={"Authorization": f"Bearer {body['access_token']}"},
            timeout=TIMEOUT,
        )
        anonymous = requests.get(f"{emu.url}/dex/userinfo", timeout=TIMEOUT)
    assert info.status_code == 200 and info.json()["email"] == USER
    assert anonymous.status_code == 401


# --- the device flow ----------------------------------------------------------------------------


def device_code(emu: Emulator) -> dict[str, Any]:
    answer = requests.post(
        f"{emu.url}/dex/device/code", data={"client_id": CLIENT, "scope": SCOPE}, timeout=TIMEOUT
    )
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def poll(emu: Emulator, code: dict[str, Any]) -> requests.Response:
    return token(emu, grant_type=DEVICE_GRANT, device_code=code["device_code"], client_id=CLIENT)


def reachable(emu: Emulator, url: str) -> str:
    """The in-cluster URL of Dex's page as the gateway serves it (what the product rewrites)."""
    return url.replace(IN_CLUSTER, f"{emu.url}/dex")


def test_the_device_flow_through_the_persons_browser() -> None:
    with Emulator.for_release("1.11", device_interval=0) as emu:
        code = device_code(emu)
        pending = poll(emu, code)
        visit = browse(reachable(emu, code["verification_uri"]), user_code=code["user_code"])
        done = poll(emu, code)
        again = poll(emu, code)
    assert code["verification_uri"] == f"{IN_CLUSTER}/device"
    assert code["verification_uri_complete"] == f"{IN_CLUSTER}/device?user_code={code['user_code']}"
    assert code["expires_in"] == 300 and code["interval"] == 0
    assert len(code["user_code"]) == 9 and code["user_code"][4] == "-"
    assert (pending.status_code, pending.json()) == (401, {"error": "authorization_pending"})
    assert visit.status == 200 and "Login Successful for kfp-profiles" in visit.text
    assert done.status_code == 200 and claims_of(done.json()["id_token"])["email"] == USER
    assert again.json() == done.json()  # Dex answers a finished request again


def test_the_device_flow_decided_directly_by_the_test() -> None:
    with Emulator.for_release("1.11", device_interval=0) as emu:
        approved, refused = device_code(emu), device_code(emu)
        assert emu.pending_device_codes() == [approved["user_code"], refused["user_code"]]
        emu.approve_device(approved["user_code"])
        emu.approve_device(refused["user_code"], approve=False)
        answers = [poll(emu, approved), poll(emu, refused)]
        with pytest.raises(LookupError):
            emu.approve_device(approved["user_code"])
    assert answers[0].status_code == 200 and "refresh_token" in answers[0].json()
    assert (answers[1].status_code, answers[1].json()) == (400, {"error": "access_denied"})


def test_a_confidential_client_sends_its_secret_in_the_device_request_form() -> None:
    """Dex keeps the form's client_secret with the request and compares it at the callback
    (a confidential client lists /device/callback among its redirectURIs to use the flow)."""
    confidential = StaticClient(
        "kfp-profiles",
        secret="the-secret",
        name="kfp-profiles",
        redirect_uris=("/device/callback",),
    )
    with Emulator.for_release("1.11", device_interval=0, clients=[confidential]) as emu:

        def ask(form: dict[str, str], auth: tuple[str, str] | None = None) -> dict[str, Any]:
            answer = requests.post(
                f"{emu.url}/dex/device/code", data=form, auth=auth, timeout=TIMEOUT
            )
            body: dict[str, Any] = answer.json()
            return body

        plain = {"client_id": CLIENT, "scope": SCOPE}
        without = ask(plain)
        basic = ask(plain, auth=(CLIENT, "the-secret"))  # Basic auth is not read
        right = ask({**plain, "client_secret": "the-secret"})
        visit = browse(reachable(emu, without["verification_uri"]), user_code=without["user_code"])
        emu.approve_device(right["user_code"])
        answers = [poll(emu, without).json(), poll(emu, right).status_code]
        emu.approve_device(basic["user_code"])
        still = poll(emu, basic).json()
    assert visit.status == 401 and "Invalid client credentials." in visit.text
    assert answers == [{"error": "authorization_pending"}, 200]
    assert still == {"error": "authorization_pending"}


def test_cancelling_on_the_approval_page_refuses_the_device() -> None:
    with Emulator.for_release("1.11", device_interval=0, approval_screen=True) as emu:
        code = device_code(emu)
        visit = browse(reachable(emu, code["verification_uri_complete"]), approve=False)
        answer = poll(emu, code)
    assert visit.status == 500 and "Approval rejected." in visit.text
    assert answer.json() == {"error": "access_denied"}


def test_device_codes_expire() -> None:
    with Emulator.for_release("1.11", device_interval=0, device_lifetime=0.3) as emu:
        natural, forced = device_code(emu), device_code(emu)
        emu.oidc.device_lifetime = 300
        forced = device_code(emu)
        emu.expire_device_codes()
        time.sleep(0.4)
        answers = [poll(emu, natural), poll(emu, forced)]
        late = browse(reachable(emu, f"{IN_CLUSTER}/device"), user_code=natural["user_code"])
    assert [a.json() for a in answers] == [{"error": "expired_token"}] * 2
    assert "Invalid or Expired User Code" in late.text


def test_polling_too_fast_slows_down_and_the_interval_may_be_left_out() -> None:
    with Emulator.for_release("1.11", device_interval=2) as emu:
        code = device_code(emu)
        answers = [poll(emu, code).json() for _ in range(3)]
        emu.oidc.device_omit_interval = True
        bare = device_code(emu)
    assert code["interval"] == 2 and "interval" not in bare
    assert answers == [
        {"error": "authorization_pending"},
        {"error": "slow_down"},
        {"error": "slow_down"},
    ]


def test_a_test_can_wait_for_a_device_request_or_approve_every_one() -> None:
    with Emulator.for_release("1.11", device_interval=0) as emu:
        with pytest.raises(TimeoutError):
            emu.wait_for_device_code(timeout=0.05)
        codes: list[dict[str, Any]] = []
        requester = threading.Timer(0.2, lambda: codes.append(device_code(emu)))
        requester.start()
        waited = emu.wait_for_device_code(timeout=TIMEOUT)
        requester.join()
        emu.approve_device()  # the only one pending
        approved = poll(emu, codes[0])
        emu.auto_approve_devices()
        automatic = poll(emu, device_code(emu))
        emu.auto_approve_devices(None)
        manual = poll(emu, device_code(emu))
    assert waited == codes[0]["user_code"]
    assert approved.status_code == 200 and automatic.status_code == 200
    assert manual.status_code == 401
