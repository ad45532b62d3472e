"""The provider's discovery document and keys, and the checks of an ID token against them.

On a stock Kubeflow, Dex's issuer is the in-cluster URL
(``http://dex.auth.svc.cluster.local:5556/dex``), so the document fetched
through the gateway names endpoints a laptop cannot reach: every URL on the
document's own issuer origin is rewritten to the issuer the profile fetched it
from (the document then carries :data:`REWRITTEN_FROM`, for ``doctor``). A
public Dex, whose document names the URL it was fetched from, is left alone.
``iss`` is still checked against the document's own ``issuer``.

An ID token is checked when it is received, never per request: its RS256
signature against the JWKS (a key id the JWKS lacks allows one fresh fetch:
the provider rotated its keys), ``iss``, ``aud`` (must hold the client id),
``exp`` and the sign-in's ``nonce``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import OidcDiscoveryError, OidcTokenInvalidError
from ..transport import origin
from .oidc_http import OidcConfig, ProviderError, exchange, new_session

__all__ = [
    "REWRITTEN_FROM",
    "WELL_KNOWN",
    "auto_flow",
    "claims_problem",
    "discover",
    "fetch_jwks",
    "move_url",
    "offered_flows",
    "rewrite",
    "rewritten_from",
    "token_claims",
    "verify_id_token",
]

WELL_KNOWN = "/.well-known/openid-configuration"
#: Key added to a rewritten document: the origin its endpoints named.
REWRITTEN_FROM = "x-kfp-profiles-rewritten-from"
#: Seconds of clock difference allowed when reading ``exp``.
CLOCK_SKEW = 30.0


def rewrite(document: Mapping[str, Any], fetched_from: str) -> dict[str, Any]:
    """``document`` with URLs on its issuer's origin moved to ``fetched_from`` (the base)."""
    issuer = str(document.get("issuer", "")).rstrip("/")
    base = fetched_from.rstrip("/")
    if not issuer or origin(issuer).lower() == origin(base).lower():
        return dict(document)
    moved: dict[str, Any] = {}
    for key, value in document.items():
        if key != "issuer" and isinstance(value, str) and value.startswith(issuer + "/"):
            value = base + value[len(issuer) :]
        elif key != "issuer" and isinstance(value, str) and origin(value) == origin(issuer):
            value = origin(base) + value[len(origin(issuer)) :]
        moved[key] = value
    moved[REWRITTEN_FROM] = origin(issuer)
    return moved


def move_url(document: Mapping[str, Any], url: str, fetched_from: str) -> str:
    """A URL the provider gave later (a device ``verification_uri``), moved like the document."""
    if REWRITTEN_FROM not in document:
        return url
    return str(rewrite({"issuer": document["issuer"], "url": url}, fetched_from)["url"])


def discover(config: OidcConfig) -> dict[str, Any]:
    """The issuer's discovery document, rewritten for this machine (one GET)."""
    url = config.issuer.rstrip("/") + WELL_KNOWN
    document = _get_json(config, url)
    missing = [k for k in ("issuer", "token_endpoint", "jwks_uri") if not document.get(k)]
    if missing:
        raise OidcDiscoveryError(
            profile=config.profile, url=url, problem=f"has no {', '.join(missing)}"
        )
    return rewrite(document, config.issuer)


def fetch_jwks(config: OidcConfig, document: Mapping[str, Any]) -> dict[str, Any]:
    """The provider's signing keys (one GET of ``jwks_uri``)."""
    url = str(document["jwks_uri"])
    jwks = _get_json(config, url)
    if not isinstance(jwks.get("keys"), list):
        raise OidcDiscoveryError(profile=config.profile, url=url, problem="holds no `keys` list")
    return jwks


def _get_json(config: OidcConfig, url: str) -> dict[str, Any]:
    with new_session(config) as session:
        answer = exchange(
            config,
            "GET",
            url,
            lambda: session.get(url, withhold_token=True, allow_redirects=False),
        )
    if isinstance(answer, ProviderError):  # a GET raises none; here for the type checker
        raise OidcDiscoveryError(profile=config.profile, url=url, problem=f"answered {answer}")
    problem = None
    try:
        value = answer.json() if answer.status_code == 200 else None
    except ValueError:
        value = None
    if answer.status_code != 200:
        problem = f"answered {answer.status_code}"
    elif not isinstance(value, dict):
        problem = "is not a JSON object"
    if problem is not None:
        raise OidcDiscoveryError(profile=config.profile, url=url, problem=problem)
    assert isinstance(value, dict)
    return value


def token_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT, unverified (to describe it, never to trust it); None if not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def claims_problem(
    claims: Mapping[str, Any], *, issuer: str, client_id: str, now: float | None = None
) -> dict[str, Any] | None:
    """What is wrong with an ID token's ``iss``, ``aud`` or ``exp`` (an error's ``reason``
    and fields), or None: it is for ``client_id``, from ``issuer``, and live."""
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if claims.get("iss") != issuer:
        return {"reason": "issuer", "token_issuer": claims.get("iss")}
    if client_id not in audiences:
        return {"reason": "audience", "audience": ", ".join(repr(a) for a in audiences)}
    expiry = claims.get("exp", 0)
    expiry = expiry if isinstance(expiry, (int, float)) else 0
    if float(expiry) + CLOCK_SKEW < (time.time() if now is None else now):
        return {"reason": "expired"}
    return None


def rewritten_from(document: Mapping[str, Any]) -> str | None:
    """The origin a document's endpoints named before :func:`rewrite` moved them; None if kept."""
    moved = document.get(REWRITTEN_FROM)
    return str(moved) if moved else None


def offered_flows(document: Mapping[str, Any]) -> tuple[str, ...]:
    """The sign-in flows a provider's document offers: ``device``, ``browser`` (code + PKCE)."""
    flows = []
    if document.get("device_authorization_endpoint"):
        flows.append("device")
    responses = document.get("response_types_supported") or ["code"]
    if document.get("authorization_endpoint") and "code" in responses:
        flows.append("browser")
    return tuple(flows)


def auto_flow(document: Mapping[str, Any]) -> str:
    """The flow ``flow = "auto"`` takes: device where the provider offers it, else browser."""
    return "device" if "device" in offered_flows(document) else "browser"


def _header(token: str) -> dict[str, Any] | None:
    head = token.split(".")[0]
    try:
        value = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def verify_id_token(
    token: str,
    *,
    config: OidcConfig,
    document: Mapping[str, Any],
    jwks: Mapping[str, Any],
    refetch: Callable[[], dict[str, Any]],
    nonce: str | None = None,
    now: float | None = None,
) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """The verified claims of ``token`` and the JWKS that verified it (refetched at most once)."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    issuer = str(document["issuer"])

    def invalid(reason: str, **fields: Any) -> OidcTokenInvalidError:
        return OidcTokenInvalidError(
            profile=config.profile,
            issuer=issuer,
            reason=reason,
            client_id=config.client_id,
            **fields,
        )

    header = _header(token) if token.count(".") == 2 else None
    if header is None:
        raise invalid("garbage")
    kids = {key.get("kid") for key in jwks.get("keys", []) if isinstance(key, dict)}
    if header.get("kid") not in kids:
        jwks = refetch()
    verified: dict[str, Any] | None = None
    keys = KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
    # Raised below, outside this block: the library's error may repeat the token.
    with contextlib.suppress(JoseError, ValueError):
        verified = dict(jwt.decode(token, keys, ["RS256", "ES256"]).claims)
    if verified is None:
        raise invalid("signature")
    problem = claims_problem(verified, issuer=issuer, client_id=config.client_id, now=now)
    if problem is not None:
        raise invalid(**problem)
    if nonce is not None and verified.get("nonce") != nonce:
        raise invalid("nonce")
    return verified, jwks
