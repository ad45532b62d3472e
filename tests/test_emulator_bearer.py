"""The emulated gateways take bearer JWTs as each release does (kfp_profiles/testing/bearer.py).

Istio on 1.9.1+ (Envoy's refusal texts, no audience check unless configured,
the m2m rule for ServiceAccount tokens), oauth2-proxy's JWT path on 1.9.0
(audience checked, no cause given), oidc-authservice's authenticators up to
1.8, and the KFP API's own TokenReview without a door. The tokens are real
RS256 JWTs (jwt.py, kube.py) checked against the issuers' JWKS, which are
fetched here over HTTP too.

Everything runs over real HTTP on loopback, driven with ``requests`` and
``http.client`` (tests/browser.py); nothing here is mocked.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests

from kfp_profiles.testing import Emulator
from kfp_profiles.testing.jwt import claims_of

from .browser import API, NAMESPACE, TIMEOUT, USER, error_of, raw

LIST = f"/pipeline{API}/experiments?namespace={NAMESPACE}"
KUBE_ISSUER = "https://kubernetes.default.svc.cluster.local"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def header_of(token: str) -> dict[str, object]:
    head = token.split(".")[0]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return decoded


def rsa_verifies(jwk: dict[str, str], token: str) -> bool:
    """Check a signature against a published JWK with ``cryptography`` alone."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    def number(field: str) -> int:
        value = jwk[field]
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

    key = rsa.RSAPublicNumbers(number("e"), number("n")).public_key()
    head, payload, signature = token.split(".")
    raw_signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    try:
        key.verify(raw_signature, f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


# --- real signed tokens and the JWKS that verify them --------------------------------------


def test_dex_signs_id_tokens_with_a_key_its_jwks_publishes() -> None:
    with Emulator.for_release("1.11") as emu:
        token = emu.issue_id_token(USER)
        jwks = requests.get(f"{emu.url}/dex/keys", timeout=TIMEOUT).json()
    (key,) = jwks["keys"]
    assert header_of(token) == {"alg": "RS256", "kid": key["kid"]}
    assert (key["kty"], key["alg"], key["use"], key["e"]) == ("RSA", "RS256", "sig", "AQAB")
    assert rsa_verifies(key, token)
    claims = claims_of(token)
    assert claims["iss"] == "http://dex.auth.svc.cluster.local:5556/dex"
    assert (claims["aud"], claims["email"]) == ("kubeflow-oidc-authservice", USER)
    assert claims["exp"] - claims["iat"] == 86400  # Dex's 24 h, the session_lifetime default


def test_the_cluster_signs_service_account_tokens_with_its_published_keys() -> None:
    with Emulator.for_release("1.11") as emu:
        token = emu.service_account_token(NAMESPACE, "default-editor", lifetime=600)
        discovery = requests.get(
            f"{emu.kube_url}/.well-known/openid-configuration", timeout=TIMEOUT
        ).json()
        jwks = requests.get(discovery["jwks_uri"], timeout=TIMEOUT).json()
    claims = claims_of(token)
    assert discovery["issuer"] == claims["iss"] == KUBE_ISSUER
    assert claims["sub"] == f"system:serviceaccount:{NAMESPACE}:default-editor"
    assert claims["aud"] == [KUBE_ISSUER]  # the API server's default audience
    assert claims["kubernetes.io"]["namespace"] == NAMESPACE
    assert claims["exp"] - claims["iat"] == 600
    assert rsa_verifies(jwks["keys"][0], token)


def test_rotated_keys_sign_new_tokens_and_old_ones_verify_until_dropped() -> None:
    with Emulator.for_release("1.11") as emu:
        old = emu.issue_id_token(USER)
        old_kid = emu.keys("dex").kids[0]
        new_kid = emu.rotate_keys("dex")
        new = emu.issue_id_token(USER)
        both = requests.get(f"{emu.url}/dex/keys", timeout=TIMEOUT).json()
        old_kept = raw(emu, "GET", LIST, headers=bearer(old))
        emu.keys("dex").drop(old_kid)
        old_dropped = raw(emu, "GET", LIST, headers=bearer(old))
        new_works = raw(emu, "GET", LIST, headers=bearer(new))
        emu.rotate_keys("dex", keep_old=False)
        new_dropped = raw(emu, "GET", LIST, headers=bearer(new))
    assert new_kid != old_kid and header_of(new)["kid"] == new_kid
    assert [k["kid"] for k in both["keys"]] == [new_kid, old_kid]
    assert (old_kept.status, new_works.status) == (200, 200)
    refusal = b"Jwks doesn't have key to match kid or alg from Jwt"
    assert (old_dropped.status, old_dropped.body) == (401, refusal)
    assert (new_dropped.status, new_dropped.body) == (401, refusal)


# --- Istio on 1.9.1+ ----------------------------------------------------------------------


@pytest.mark.parametrize("release", ["1.9.1", "1.10", "1.11"])
def test_istio_takes_dex_and_service_account_tokens_by_their_claims(release: str) -> None:
    with Emulator.for_release(release) as emu:
        emu.add_experiment("mine", namespace=NAMESPACE)
        emu.add_experiment("theirs", namespace="kubeflow-someone-else")
        dex = raw(emu, "GET", LIST, headers=bearer(emu.issue_id_token(USER, client_id="other")))
        editor = emu.service_account_token(NAMESPACE, "default-editor")
        sa_own = raw(emu, "GET", LIST, headers=bearer(editor))
        sa_other = raw(
            emu,
            "GET",
            f"/pipeline{API}/experiments?namespace=kubeflow-someone-else",
            headers=bearer(editor),
        )
    assert dex.status == 200 and [e["display_name"] for e in dex.json()["experiments"]] == ["mine"]
    assert sa_own.status == 200
    status, code, message = error_of(sa_other)
    assert (status, code) == (403, 7)
    assert f"User 'system:serviceaccount:{NAMESPACE}:default-editor' is not authorized" in message


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("expired", "Jwt is expired"),
        ("not yet valid", "Jwt not yet valid"),
        ("another issuer", "Jwt issuer is not configured"),
        ("wrong signature", "Jwt verification fails"),
        (
            "garbage",
            "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
        ),
        ("bad header", "Jwt header is an invalid Base64url encoded"),
        ("alg none", "Jwt header [alg] is not supported"),
        ("wrong audience", "Audiences in Jwt are not allowed"),
    ],
)
def test_istio_refuses_with_envoys_words(case: str, body: str) -> None:
    with Emulator.for_release("1.11", audiences=["kfp-profiles"]) as emu:
        good = {"aud": "kfp-profiles"}
        tokens = {
            "expired": emu.mint_token({**good}, lifetime=-3600),
            "not yet valid": emu.mint_token({**good, "nbf": int(time.time()) + 3600}),
            "another issuer": emu.mint_token(good, issuer="https://accounts.example.com"),
            "wrong signature": emu.mint_token(good, foreign_signature=True),
            "garbage": "garbage",
            "bad header": "e30+.e30.c2ln",
            "alg none": "eyJhbGciOiJub25lIn0.e30.c2ln",
            "wrong audience": emu.mint_token({"aud": "kubeflow-oidc-authservice"}),
        }
        answer = raw(emu, "GET", LIST, headers=bearer(tokens[case]))
        accepted = raw(emu, "GET", LIST, headers=bearer(emu.mint_token(good)))
        url = emu.url
    assert accepted.status == 200
    assert answer.status == 401
    assert answer.body.decode() == body
    assert answer.headers["Content-Type"] == "text/plain"
    realm = f'Bearer realm="{url}/pipeline{API}/experiments", error="invalid_token"'
    assert answer.headers["www-authenticate"] == realm


def test_istio_checks_no_audience_by_default_and_allows_a_minute_of_clock_skew() -> None:
    with Emulator.for_release("1.11") as emu:
        any_audience = raw(emu, "GET", LIST, headers=bearer(emu.mint_token({"aud": "anyone"})))
        just_expired = raw(emu, "GET", LIST, headers=bearer(emu.mint_token(lifetime=-30)))
        long_expired = raw(emu, "GET", LIST, headers=bearer(emu.mint_token(lifetime=-90)))
        emu.gateway.clock_skew = 0
        strict = raw(emu, "GET", LIST, headers=bearer(emu.mint_token(lifetime=-2)))
    assert (any_audience.status, just_expired.status) == (200, 200)
    assert (long_expired.status, long_expired.body) == (401, b"Jwt is expired")
    assert (strict.status, strict.body) == (401, b"Jwt is expired")


def test_istio_without_the_m2m_overlay_does_not_know_the_cluster_issuer() -> None:
    with Emulator.for_release("1.11", m2m_issuers=()) as emu:
        answer = raw(emu, "GET", LIST, headers=bearer(emu.service_account_token(NAMESPACE)))
    assert (answer.status, answer.body) == (401, b"Jwt issuer is not configured")


def test_a_valid_token_without_the_users_claim_names_nobody() -> None:
    with Emulator.for_release("1.11") as emu:
        no_email = emu.issue_id_token(USER, scopes=("openid", "profile"))
        answer = raw(emu, "GET", LIST, headers=bearer(no_email))
        basic = raw(emu, "GET", LIST, headers={"Authorization": "Basic dXNlcjpwdw=="})
    # Istio lets both through with no kubeflow-userid: KFP itself says no identity.
    assert error_of(answer)[:2] == (401, 16)
    assert error_of(basic)[:2] == (401, 16)


def test_istio_checks_bearer_tokens_on_every_path_the_gateway_serves() -> None:
    with Emulator.for_release("1.11") as emu:
        dex = raw(emu, "GET", "/dex/.well-known/openid-configuration", headers=bearer("x"))
        plain = raw(emu, "GET", "/dex/.well-known/openid-configuration")
    assert dex.status == 401 and plain.status == 200


def test_expired_sessions_take_dex_tokens_issued_so_far_with_them() -> None:
    with Emulator.for_release("1.11") as emu:
        before = emu.issue_id_token(USER)
        emu.expire_sessions()
        after = emu.issue_id_token(USER, lifetime=600)
        old = raw(emu, "GET", LIST, headers=bearer(before))
        new = raw(emu, "GET", LIST, headers=bearer(after))
    assert (old.status, old.body) == (401, b"Jwt is expired")
    assert new.status == 200


# --- oauth2-proxy's JWT path on 1.9.0 -------------------------------------------------------


def test_oauth2_proxy_first_config_checks_the_audience_and_gives_no_cause() -> None:
    with Emulator.for_release("1.9.0") as emu:
        own_client = raw(emu, "GET", LIST, headers=bearer(emu.issue_id_token(USER)))
        other_client = emu.issue_id_token(USER, client_id="kfp-profiles")
        refused = raw(emu, "GET", LIST, headers=bearer(other_client))
        expired = raw(emu, "GET", LIST, headers=bearer(emu.mint_token(lifetime=-5)))
        garbage = raw(emu, "GET", LIST, headers=bearer("garbage"))
        emu.gateway.extra_jwt_issuers = {emu.dex_issuer: "kfp-profiles"}
        admitted = raw(emu, "GET", LIST, headers=bearer(other_client))
    assert own_client.status == 200 and admitted.status == 200
    for answer in (refused, expired, garbage):
        # No session: the first config sends every request without one to sign in.
        assert answer.status == 302 and answer.location.startswith("/dex/auth?")
        assert b"Jwt" not in answer.body


def test_oauth2_proxy_first_config_takes_service_accounts_of_its_extra_issuers() -> None:
    with Emulator.for_release("1.9.0") as emu:
        default_audience = emu.service_account_token(NAMESPACE)
        other_audience = emu.service_account_token(NAMESPACE, audiences=["pipelines.kubeflow.org"])
        accepted = raw(emu, "GET", LIST, headers=bearer(default_audience))
        refused = raw(emu, "GET", LIST, headers=bearer(other_audience))
    assert accepted.status == 200 and refused.status == 302


# --- oidc-authservice up to 1.8 ----------------------------------------------------------------


@pytest.mark.parametrize("release", ["1.7", "1.8"])
def test_authservice_takes_its_clients_id_tokens_and_reviewed_service_accounts(
    release: str,
) -> None:
    gateway_audience = "istio-ingressgateway.istio-system.svc.cluster.local"
    with Emulator.for_release(release) as emu:
        id_token = raw(emu, "GET", LIST, headers=bearer(emu.issue_id_token(USER)))
        other_client = emu.issue_id_token(USER, client_id="kfp-profiles")
        wrong_aud = raw(emu, "GET", LIST, headers=bearer(other_client))
        reviewed = emu.service_account_token(NAMESPACE, audiences=[gateway_audience])
        service_account = raw(emu, "GET", LIST, headers=bearer(reviewed))
        default_audience = emu.service_account_token(NAMESPACE)
        not_reviewed = raw(emu, "GET", LIST, headers=bearer(default_audience))
        emu.remove_service_account(NAMESPACE, "default-editor")
        deleted = raw(emu, "GET", LIST, headers=bearer(reviewed))
    assert id_token.status == 200 and service_account.status == 200
    for answer in (wrong_aud, not_reviewed, deleted):
        assert answer.status == 302 and answer.location.startswith("/dex/auth?")


# --- no door: the KFP API's TokenReview -------------------------------------------------------


def test_standalone_kfp_reviews_service_account_tokens_for_its_audience() -> None:
    opaque = {"sa-token": f"system:serviceaccount:{NAMESPACE}:default-editor"}
    with Emulator(door="none", multi_user=True, tokens=opaque) as emu:
        api = f"{API}/experiments?namespace={NAMESPACE}"
        kfp_audience = emu.service_account_token(NAMESPACE, audiences=["pipelines.kubeflow.org"])
        reviewed = raw(emu, "GET", api, headers=bearer(kfp_audience))
        registered = raw(emu, "GET", api, headers=bearer("sa-token"))
        wrong = raw(emu, "GET", api, headers=bearer(emu.service_account_token(NAMESPACE)))
        garbage = raw(emu, "GET", api, headers=bearer("garbage"))
    assert (reviewed.status, registered.status) == (200, 200)
    for answer in (wrong, garbage):
        status, code, message = error_of(answer)
        assert (status, code) == (401, 16) and "TokenReview" in message


# --- the settings ------------------------------------------------------------------------------


def test_settings_are_keywords_of_the_emulator_and_unknown_ones_are_refused() -> None:
    emu = Emulator.for_release("1.11", audiences=["kfp-profiles"], id_token_lifetime=5)
    assert list(emu.gateway.audiences) == ["kfp-profiles"] and emu.oidc.id_token_lifetime == 5
    with pytest.raises(TypeError, match="unknown keywords: audience"):
        Emulator(audience=["x"])
    with pytest.raises(RuntimeError, match="not running"):
        emu.kube_url  # noqa: B018 -- the property is what is tested
