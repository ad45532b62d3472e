"""Why a gateway refused a bearer token: its own words, else its door and the token's claims.

Shared by ``platform-token`` (:mod:`.bearer`) and ``platform-oidc`` (:mod:`.oidc`):
each turns the :class:`Cause` into its own typed error. Istio (Kubeflow 1.9.1+)
says why in its 401 (Envoy's ``jwt_authn`` status strings); oauth2-proxy's JWT
path (1.9.0) and oidc-authservice (1.8 and earlier) treat a failed token as no
session and redirect into the login, so the cause is read off the token's own
claims (``exp``, ``iss``, ``aud``) and the door (whose redirect into Dex names
its own OAuth client, the audience it takes for Dex tokens). The token itself
is never kept, only what its claims say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .bearer_token import jwt_claims
from .doors import DoorName, is_dex_auth_url, refusal_door
from .exchange import HttpResponse
from .pages import query_params

__all__ = ["ENVOY_REASONS", "Cause", "Reason", "Refusal", "refusal_cause"]

#: What is wrong with a refused token. ``expired-there``: expired by the gateway's clock
#: only; ``opaque``: not a JWT, no reason given; ``unlisted``: 1.9.0's ``extra_jwt_issuers``
#: lacks its issuer=audience pair; ``untaken``: a door that takes no such token.
Reason = Literal[
    "expired",
    "expired-there",
    "audience",
    "issuer",
    "signature",
    "garbage",
    "opaque",
    "unlisted",
    "untaken",
    "unknown",
]

#: Envoy's status strings (the start of Istio's 401 body) and the reason each names.
ENVOY_REASONS: tuple[tuple[str, Reason], ...] = (
    ("Jwt is expired", "expired"),
    ("Audiences in Jwt are not allowed", "audience"),
    ("Jwt issuer is not configured", "issuer"),
    ("Jwt verification fails", "signature"),
    ("Jwks doesn't have key", "signature"),
    ("Jwt is not in the form", "garbage"),
    ("Jwt header", "garbage"),
    ("Jwt payload", "garbage"),
    ("Jwt signature is an invalid", "garbage"),
)


@dataclass(frozen=True)
class Refusal:
    """A refused answer to a request that carried a bearer token, as the client saw it."""

    #: Where the client connects (the profile's host or a forward's URL).
    url: str
    #: The answer in a message's words: ``401 (Jwt is expired)``, ``a redirect to ... (302)``.
    why: str
    #: The answer's own text (the API's message, Envoy's status string), "" when none.
    message: str
    door: DoorName = "unknown"
    #: The OAuth client of the door's redirect into Dex (the audience 1.9.0 takes for Dex).
    door_client: str | None = None
    #: True when it refused a token got anew after a first refusal.
    renewed: bool = False

    @classmethod
    def of(cls, response: HttpResponse, *, why: str, message: str, renewed: bool) -> Refusal:
        """The refusal of ``response`` (its door read by :func:`~.doors.refusal_door`)."""
        location = response.location
        client = None
        if location is not None and is_dex_auth_url(location):
            client = query_params(location).get("client_id") or None
        door = refusal_door(response)
        return cls(response.url, why, message, door, client, renewed)


@dataclass(frozen=True)
class Cause:
    """Why a token was refused, and what its claims say (never the token)."""

    reason: Reason
    #: The token's audiences, joined ("none" when it has none).
    audience: str
    #: The token's issuer ("none" when it has none).
    issuer: str
    audiences: tuple[str, ...] = ()

    def fields(self) -> dict[str, Any]:
        """The values an error's message is filled from."""
        return {"reason": self.reason, "audience": self.audience, "token_issuer": self.issuer}


def refusal_cause(refusal: Refusal, token: str, now: float) -> Cause:
    """The cause of ``refusal`` of ``token``: the gateway's words, else the door and claims."""
    claims = jwt_claims(token.strip()) or {}
    audiences = _audiences(claims)
    issuer = str(claims.get("iss") or "none")

    def cause(reason: Reason) -> Cause:
        return Cause(reason, ", ".join(audiences) or "none", issuer, audiences)

    expiry = claims.get("exp")
    expired = isinstance(expiry, (int, float)) and now >= expiry
    for text, reason in ENVOY_REASONS:
        if refusal.message.startswith(text):
            if reason == "expired" and not expired and isinstance(expiry, (int, float)):
                return cause("expired-there")
            return cause(reason)
    if not claims:
        return cause("opaque")
    if expired:
        return cause("expired")
    if refusal.door == "oauth2-proxy-first":
        if refusal.door_client is not None and refusal.door_client not in audiences:
            return cause("unlisted")
        return cause("unknown")
    if refusal.door == "oidc-authservice":
        return cause("untaken")
    return cause("unknown")


def _audiences(claims: Mapping[str, Any]) -> tuple[str, ...]:
    audience = claims.get("aud")
    values = audience if isinstance(audience, list) else [audience] if audience else []
    return tuple(str(value) for value in values)
