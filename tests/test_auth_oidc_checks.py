"""The checks of platform-oidc that need no person: discovery rewrites, ID-token checks,
the admin's manifest, and `login`/`logout` at the command line.

Real HTTP to the emulator's Dex; ID tokens minted by the emulator with the claims a
case needs (another audience, an expired one, another issuer) and a garbage one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfp_profiles.auth.oidc_discovery import (
    REWRITTEN_FROM,
    discover,
    fetch_jwks,
    rewrite,
    verify_id_token,
)
from kfp_profiles.auth.oidc_http import OidcConfig
from kfp_profiles.errors import ManifestValueError, OidcDiscoveryError, OidcTokenInvalidError
from kfp_profiles.manifests import oidc_client, oidc_client_yaml
from kfp_profiles.testing import Emulator, StaticClient
from kfp_profiles.testing.oidc import redirect_allowed

from .helpers import cli
from .tokens import oidc_profile

CLIENT = "kfp-profiles"
IN_CLUSTER = "http://dex.auth.svc.cluster.local:5556/dex"


def config_of(emu: Emulator, **changes: Any) -> OidcConfig:
    fields: dict[str, Any] = {
        "profile": "o",
        "api_url": emu.api_url,
        "client_id": CLIENT,
        "issuer": emu.url + "/dex",
        "scopes": ("openid", "email"),
        "timeout": 10,
        **changes,
    }
    return OidcConfig(**fields)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator.for_release("1.11") as emulator:
        yield emulator


# --- discovery --------------------------------------------------------------------------------


def test_in_cluster_endpoints_are_moved_to_the_gateway_and_iss_is_kept(emu: Emulator) -> None:
    document = discover(config_of(emu))
    assert document["issuer"] == IN_CLUSTER  # what `iss` is checked against
    assert document["token_endpoint"] == f"{emu.url}/dex/token"
    assert document["device_authorization_endpoint"] == f"{emu.url}/dex/device/code"
    assert document[REWRITTEN_FROM] == "http://dex.auth.svc.cluster.local:5556"


def test_a_public_issuer_is_left_alone() -> None:
    with Emulator.for_release("1.11", public_issuer=True) as emu:
        document = discover(config_of(emu))
        assert REWRITTEN_FROM not in document
        assert document["issuer"] == f"{emu.url}/dex"


def test_rewrite_keeps_urls_elsewhere() -> None:
    document = {
        "issuer": IN_CLUSTER,
        "token_endpoint": f"{IN_CLUSTER}/token",
        "end_session_endpoint": "https://idp.example.com/logout",
    }
    moved = rewrite(document, "https://kf.example.com/dex")
    assert moved["token_endpoint"] == "https://kf.example.com/dex/token"
    assert moved["end_session_endpoint"] == "https://idp.example.com/logout"


def test_no_dex_at_the_issuer_is_a_typed_error(emu: Emulator) -> None:
    with pytest.raises(OidcDiscoveryError) as caught:
        discover(config_of(emu, issuer=emu.url + "/nodex"))
    # The door answers for a path that is not Dex's.
    assert "answered 403" in str(caught.value) and "`issuer`" in str(caught.value)


# --- the ID token's checks ------------------------------------------------------------------


def check(emu: Emulator, token: str) -> dict[str, Any]:
    config = config_of(emu)
    document = discover(config)
    jwks = fetch_jwks(config, document)
    claims, _ = verify_id_token(
        token, config=config, document=document, jwks=jwks, refetch=lambda: jwks
    )
    return claims


def test_a_good_token_passes(emu: Emulator) -> None:
    assert check(emu, emu.issue_id_token(client_id=CLIENT))["aud"] == CLIENT


@pytest.mark.parametrize(
    ("claims", "said"),
    [
        ({"aud": "someone-else"}, "is for audience 'someone-else', not client 'kfp-profiles'"),
        ({"aud": CLIENT, "exp": 1}, "has expired"),
        ({"aud": CLIENT, "iss": "https://other.example/dex"}, "issued by https://other.example"),
    ],
)
def test_a_bad_token_says_which_check_failed(
    emu: Emulator, claims: dict[str, Any], said: str
) -> None:
    token = emu.mint_token(claims)
    with pytest.raises(OidcTokenInvalidError) as caught:
        check(emu, token)
    message = str(caught.value)
    assert said in message
    assert token not in message and token not in repr(caught.value.args)


def test_a_token_no_key_of_the_provider_signed_is_refused(emu: Emulator) -> None:
    token = emu.mint_token({"aud": CLIENT}, foreign_signature=True)
    with pytest.raises(OidcTokenInvalidError) as caught:
        check(emu, token)
    assert "does not match any of the provider's signing keys" in str(caught.value)


def test_garbage_is_named_as_such(emu: Emulator) -> None:
    with pytest.raises(OidcTokenInvalidError) as caught:
        check(emu, "not-a-jwt")
    assert "is not a JWT" in str(caught.value)


# --- the admin's manifest ---------------------------------------------------------------------


def entry_of(text: str) -> StaticClient:
    (entry,) = yaml.safe_load(text)["staticClients"]
    assert set(entry) <= {"id", "name", "public", "redirectURIs", "secret"}
    return StaticClient(
        entry["id"],
        public=entry["public"],
        redirect_uris=tuple(entry.get("redirectURIs", ())),
        name=entry["name"],
    )


def test_the_manifest_is_a_public_client_dex_takes_on_any_loopback_port() -> None:
    out = cli("manifest", "oidc-client", "--client-id", "kfp-profiles")
    assert out.returncode == 0, out.stderr
    client = entry_of(out.stdout)
    assert client.public and client.id == "kfp-profiles" and not client.redirect_uris
    for uri in ("http://127.0.0.1:51234/callback", "http://localhost:9/callback"):
        assert redirect_allowed(client, uri, (2, 44))
    assert f'extra_jwt_issuers = ["{IN_CLUSTER}=kfp-profiles"]' in out.stdout


def test_with_a_port_the_manifest_lists_exactly_its_two_loopback_uris() -> None:
    client = entry_of(oidc_client_yaml("kfp-profiles", redirect_port=8400))
    assert client.redirect_uris == (
        "http://127.0.0.1:8400/callback",
        "http://localhost:8400/callback",
    )
    assert not redirect_allowed(client, "http://127.0.0.1:8401/callback", (2, 44))
    assert redirect_allowed(client, "http://localhost:8400/callback", (2, 39))


def test_a_client_id_dex_cannot_take_is_refused() -> None:
    with pytest.raises(ManifestValueError):
        oidc_client("two words")
    out = cli("manifest", "oidc-client", "--client-id", "two words")
    assert out.returncode == 2 and "two words" in out.stderr and "Traceback" not in out.stderr


# --- login and logout at the command line ---------------------------------------------------


def test_login_signs_in_and_logout_forgets(
    no_keyring: None, profiles_path: Path, isolated_home: Path
) -> None:
    with Emulator.for_release("1.11", device_interval=0) as emu:
        emu.auto_approve_devices()
        oidc_profile(profiles_path, emu)
        out = cli("login", "o")
        assert out.returncode == 0, out.stderr
        assert "Signed in as user@example.com for profile 'o'" in out.stdout
        assert "kept in the file" in out.stdout
        assert f"open {emu.url}/dex/device and enter the code" in out.stderr
        stored = isolated_home / ".cache" / "kfp-profiles" / "session-o%23oidc.json"
        assert stored.exists()
        out = cli("logout", "o")
        assert out.returncode == 0 and "Deleted" in out.stdout
        assert not stored.exists()


def test_login_without_approval_exits_6_with_the_fix(no_keyring: None, profiles_path: Path) -> None:
    with Emulator.for_release("1.11", device_interval=0) as emu:
        emu.auto_approve_devices(approve=False)
        oidc_profile(profiles_path, emu)
        out = cli("login", "o")
    assert out.returncode == 6
    assert "access_denied" in out.stderr and "kfp-profiles login o" in out.stderr
    assert "get_client" not in out.stderr  # the command line's words
