"""A refused bearer token names its cause: wrong audience, expired, other issuer, garbage.

For both token kinds, through the real kfp SDK over HTTP against the emulator's
gateways (Istio on 1.11 says why in its 401; oauth2-proxy on 1.9.0 only
redirects into the login, and its redirect names the client it takes). The
platform-token tokens come from KFP_TOKEN or the stand-in `kubectl create token`
(tests/fakes/kubectl: there is no cluster here); the platform-oidc ones from a
device sign-in the emulator approves. Each test asserts the exact one-line
message and that no token text is anywhere in the error.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles import get_client
from kfp_profiles.auth.oidc_store import SignInStore
from kfp_profiles.auth.refusal import Refusal, refusal_cause
from kfp_profiles.errors import (
    BearerRefusedError,
    KfpProfilesError,
    OidcTokenInvalidError,
    TokenExpiredError,
)
from kfp_profiles.testing import Emulator
from kfp_profiles.testing.jwt import b64url_json

from .helpers import FAKES
from .tokens import (
    CLIENT,
    CREATE_TOKEN,
    NAMESPACE,
    emulator,
    exception_texts,
    oidc_profile,
    token_profile,
)

IN_CLUSTER_DEX = "http://dex.auth.svc.cluster.local:5556/dex"
KUBERNETES = "https://kubernetes.default.svc.cluster.local"
KFP_TOKEN_FIX = "set KFP_TOKEN to a current token (or unset it to use the profile's source)."


pytestmark = pytest.mark.usefixtures("fresh_token_sources")


def assert_no_token(error: BaseException, *tokens: str) -> None:
    text = exception_texts(error)
    for token in tokens:
        assert token and token not in text
        for piece in token.split("."):
            assert len(piece) < 12 or piece not in text


def listing_fails(profile: str, *, prompt: bool = False) -> KfpProfilesError:
    with pytest.raises(KfpProfilesError) as caught:
        get_client(profile, prompt=prompt).list_experiments()
    return caught.value


def stored_tokens(profile: str = "o") -> list[str]:
    """The ID and refresh tokens of the stored sign-in (to prove neither is in an error)."""
    sign_in = SignInStore(profile).load()
    assert sign_in is not None
    return [t for t in (sign_in.id_token, sign_in.refresh_token) if t]


# --- the cause, from the gateway's words or the token's claims -------------------------------


def unsigned(claims: dict[str, Any]) -> str:
    return f"{b64url_json({'alg': 'RS256'})}.{b64url_json(claims)}.c2ln"


@pytest.mark.parametrize(
    ("message", "claims", "door", "cause"),
    [
        ("Jwt is expired", {}, "oauth2-proxy", "the token has expired"),
        (
            "Jwt is expired",
            {"exp": 10**10},
            "oauth2-proxy",
            "the token has expired by the gateway's clock, though not by this machine's "
            "(check both clocks)",
        ),
        (
            "Audiences in Jwt are not allowed",
            {"aud": ["a", "b"]},
            "oauth2-proxy",
            "its audience (a, b) is not one the gateway accepts; ask for a token with the "
            "gateway's audience (`kubectl create token --audience AUDIENCE`)",
        ),
        (
            "Jwt issuer is not configured",
            {"iss": "https://x"},
            "oauth2-proxy",
            "its issuer (https://x) is not one the gateway trusts; use a token of the cluster "
            "behind this gateway",
        ),
        ("", {}, "oauth2-proxy", "it is not a JWT (the gateway gave no reason)"),
        ("", {"exp": 10}, "oauth2-proxy-first", "the token has expired"),
        (
            "",
            {"exp": 10**10, "iss": "i", "aud": "a"},
            "oauth2-proxy",
            "the gateway gave no reason (issuer i, audience a: check that the gateway trusts both)",
        ),
        (
            "",
            {"iss": "i", "aud": "a"},
            "oidc-authservice",
            "oidc-authservice (Kubeflow 1.8 and earlier) takes a ServiceAccount token only "
            "through its TokenReview authenticator, where enabled, for its own audience (issuer "
            "i, audience a was not taken; use a platform-dex profile)",
        ),
    ],
)
def test_a_refusal_is_named_from_the_gateways_words_else_the_door_and_the_claims(
    message: str, claims: dict[str, Any], door: Any, cause: str
) -> None:
    token = unsigned(claims) if claims else "opaque-token"
    refusal = Refusal("https://kf.example.com/pipeline", "401", message, door, CLIENT)
    named = refusal_cause(refusal, token, time.time())
    error = BearerRefusedError(
        url="u", why="w", profile="p", source="env:KFP_TOKEN", **named.fields()
    )
    assert error.cause == cause  # type: ignore[attr-defined]


# --- platform-token through the SDK ---------------------------------------------------------


def test_platform_token_wrong_audience_at_the_1_9_0_door(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator("1.9.0") as emu:
        token = emu.service_account_token(NAMESPACE, audiences=["pipelines.kubeflow.org"])
        monkeypatch.setenv("KFP_TOKEN", token)
        token_profile(profiles_path, emu)
        error = listing_fails("t")
        url = emu.url
    assert isinstance(error, BearerRefusedError) and error.exit_code == 4
    assert str(error) == (
        f"Profile 't': {url}/pipeline refused the token from KFP_TOKEN with a redirect to its "
        "login page (302): oauth2-proxy (Kubeflow 1.9.0) takes a token only for an "
        "`issuer=audience` pair in its `extra_jwt_issuers`, and issuer "
        f"{KUBERNETES} with audience pipelines.kubeflow.org is not one (ask the cluster "
        "admin for the audience it pairs with that issuer, then `kubectl create token "
        "--audience AUDIENCE`, or use a platform-dex profile); " + KFP_TOKEN_FIX
    )
    assert_no_token(error, token)


def test_platform_token_expired_is_named_before_it_is_sent(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator("1.11") as emu:
        token = emu.mint_token(issuer="kubernetes", lifetime=-300)
        monkeypatch.setenv("KFP_TOKEN", token)
        token_profile(profiles_path, emu)
        error = listing_fails("t")
        sent = emu.total_requests
    exp = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]
    when = datetime.fromtimestamp(exp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert isinstance(error, TokenExpiredError)
    assert str(error) == (
        f"Profile 't': the token from KFP_TOKEN expired at {when} (5 min ago), so it was not "
        "sent; " + KFP_TOKEN_FIX
    )
    assert sent == 0
    assert_no_token(error, token)


def test_platform_token_expired_by_the_gateways_clock_after_the_command_ran_twice(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "runs.jsonl"
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBECTL_TOKEN_LOG", str(log))
    # The gateway's clock runs 2 h ahead: every 1 h token is expired to it.
    with emulator("1.11", clock_offset=7200.0) as emu:
        monkeypatch.setenv("FAKE_KUBECTL_API", emu.kube_url)
        token_profile(profiles_path, emu, f"token_command = {json.dumps(CREATE_TOKEN)}")
        error = listing_fails("t")
        url = emu.url
        sent = [r.headers.get("authorization", "") for r in emu.requests]
    assert isinstance(error, BearerRefusedError)
    assert str(error) == (
        f"Profile 't': {url}/pipeline refused the token from the token command "
        f"`{' '.join(CREATE_TOKEN)}` with 401 (Jwt is expired), again after the command "
        "gave a new token: the token has expired by the gateway's clock, though not by this "
        f"machine's (check both clocks); run `{' '.join(CREATE_TOKEN)}` yourself to see what "
        "it prints, and fix `token_command` (`kfp-profiles set t token_command=...`)."
    )
    assert len(log.read_text().splitlines()) == 2
    assert_no_token(error, *(header.removeprefix("Bearer ") for header in sent))


def test_platform_token_of_another_issuer(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator("1.11") as emu:
        token = emu.mint_token(issuer="https://issuer.example.org")
        monkeypatch.setenv("KFP_TOKEN", token)
        token_profile(profiles_path, emu)
        error = listing_fails("t")
        url = emu.url
    assert isinstance(error, BearerRefusedError)
    assert str(error) == (
        f"Profile 't': {url}/pipeline refused the token from KFP_TOKEN with 401 (Jwt issuer "
        "is not configured): its issuer (https://issuer.example.org) is not one the gateway "
        "trusts; use a token of the cluster behind this gateway; " + KFP_TOKEN_FIX
    )
    assert_no_token(error, token)


def test_platform_token_garbage(profiles_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "opaque-token-0123456789abcdef"
    with emulator("1.11") as emu:
        monkeypatch.setenv("KFP_TOKEN", token)
        token_profile(profiles_path, emu)
        error = listing_fails("t")
        url = emu.url
    assert isinstance(error, BearerRefusedError)
    assert str(error) == (
        f"Profile 't': {url}/pipeline refused the token from KFP_TOKEN with 401 (Jwt is not "
        "in the form of Header.Payload.Signature with two dots and 3 sections): it is not a "
        "JWT, and the gateway takes only JWTs; " + KFP_TOKEN_FIX
    )
    assert_no_token(error, token)


# --- platform-oidc through the SDK ----------------------------------------------------------


def oidc_emulator(release: str, **options: Any) -> contextlib.AbstractContextManager[Emulator]:
    return emulator(release, device_interval=0, **options)


def test_platform_oidc_wrong_audience_at_the_1_9_0_door(
    profiles_path: Path, no_keyring: None
) -> None:
    with oidc_emulator("1.9.0") as emu:
        emu.auto_approve_devices()
        oidc_profile(profiles_path, emu, flow="device")
        error = listing_fails("o", prompt=True)
        url = emu.api_url
        tokens = stored_tokens()
    assert isinstance(error, OidcTokenInvalidError) and error.exit_code == 6
    assert str(error) == (
        f"Profile 'o': the ID token from {IN_CLUSTER_DEX} is for client 'kfp-profiles', an "
        f"audience the gateway does not admit ({url} refused it with a redirect to its login "
        "page (302), again after a refresh); the gateway admits only listed audiences: ask "
        "the cluster admin to add 'kfp-profiles' (`kfp-profiles manifest oidc-client "
        "--client-id kfp-profiles` shows the line), or set `client_id` to an admitted client."
    )
    assert_no_token(error, *tokens)


def test_platform_oidc_expired_by_the_gateways_clock(profiles_path: Path, no_keyring: None) -> None:
    with oidc_emulator("1.11", id_token_lifetime=600, clock_offset=3600.0) as emu:
        emu.auto_approve_devices()
        oidc_profile(profiles_path, emu, flow="device")
        error = listing_fails("o", prompt=True)
        url = emu.api_url
        tokens = stored_tokens()
    assert isinstance(error, OidcTokenInvalidError)
    assert str(error) == (
        f"Profile 'o': the ID token from {IN_CLUSTER_DEX} has expired by the gateway's clock, "
        f"though not by this machine's ({url} refused it with 401 (Jwt is expired), again "
        "after a refresh); check the clocks of this machine and of the cluster, then run "
        "`kfp-profiles login o`."
    )
    assert_no_token(error, *tokens)


def test_platform_oidc_expired_on_receipt_is_our_own_check(
    profiles_path: Path, no_keyring: None
) -> None:
    with oidc_emulator("1.11", id_token_lifetime=-120) as emu:
        emu.auto_approve_devices()
        oidc_profile(profiles_path, emu, flow="device")
        error = listing_fails("o", prompt=True)
        sent = emu.counts["GET /pipeline/apis/v2beta1/experiments"]
    assert isinstance(error, OidcTokenInvalidError)
    assert str(error) == (
        f"Profile 'o': the ID token from {IN_CLUSTER_DEX} has expired; run `kfp-profiles login o`."
    )
    assert sent == 0


def test_platform_oidc_of_another_issuer(profiles_path: Path, no_keyring: None) -> None:
    # The profile's `issuer` names a Dex (public issuer) the gateway of `emu` does not trust.
    with oidc_emulator("1.11") as emu, oidc_emulator("1.11", public_issuer=True) as other:
        other.auto_approve_devices()
        oidc_profile(profiles_path, emu, flow="device", issuer=other.url + "/dex")
        error = listing_fails("o", prompt=True)
        url, other_dex = emu.api_url, other.url + "/dex"
        tokens = stored_tokens()
    assert isinstance(error, OidcTokenInvalidError)
    assert str(error) == (
        f"Profile 'o': the ID token from {other_dex} comes from an issuer the gateway "
        f"does not trust ({url} refused it with 401 (Jwt issuer is not configured), again "
        "after a refresh); set the profile's `issuer` to the Dex the gateway trusts (the "
        "host's origin + /dex)."
    )
    assert_no_token(error, *tokens)


def test_platform_oidc_garbage_from_the_provider_is_our_own_check(
    profiles_path: Path, no_keyring: None
) -> None:
    with oidc_emulator("1.11", broken_id_tokens=True) as emu:
        emu.auto_approve_devices()
        oidc_profile(profiles_path, emu, flow="device")
        error = listing_fails("o", prompt=True)
        sent = emu.counts["GET /pipeline/apis/v2beta1/experiments"]
    assert isinstance(error, OidcTokenInvalidError)
    assert str(error) == (
        f"Profile 'o': the ID token from {IN_CLUSTER_DEX} is not a JWT (three base64url "
        "parts); run `kfp-profiles login o`."
    )
    assert "no-jwt-" not in exception_texts(error)
    assert sent == 0
