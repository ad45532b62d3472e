"""Errors of the OIDC sign-in of ``platform-oidc``: discovery, the flows, the ID token (exit 6).

Every message names the profile and the fix, and never a token, a code or the
client secret: callers pass the provider's error code and what is wrong, not values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .auth import LoginError
from .base import Advice, Tables, Wording

_LOGIN = "run `kfp-profiles login {profile}`"

#: How to get a sign-in again, for Python callers and at the command line.
_SIGN_IN_AGAIN = Wording(
    f"{_LOGIN} (or call get_client('{{profile}}', prompt=True) where a person can answer)",
    cli=_LOGIN,
)


class OidcError(LoginError):
    """The OIDC sign-in of a ``platform-oidc`` profile did not succeed."""


class OidcSignInAgainError(OidcError):
    """An error whose fix is a new sign-in (``fix``, in each audience's words)."""

    defaults: ClassVar[dict[str, Any]] = {"fix": _SIGN_IN_AGAIN}


class OidcDiscoveryError(OidcError):
    fmt = (
        "Profile '{profile}': the OIDC discovery document at {url} {problem}; check the "
        "profile's `issuer` (default: the host's origin + /dex) and that Dex is served there."
    )


class OidcClientRefusedError(OidcError):
    fmt = (
        "Dex at {issuer} does not accept client '{client_id}' of profile '{profile}' "
        "({error}); ask the cluster admin to register it (`kfp-profiles manifest oidc-client "
        "--client-id {client_id}`), or fix `client_id`/`redirect_uri` to what is registered."
    )


class OidcSignInNeededError(OidcSignInAgainError):
    """No stored sign-in, and no person to sign in."""

    fmt = "Profile '{profile}' has no sign-in at {issuer}{detail}: {fix}."
    defaults: ClassVar[dict[str, Any]] = {"detail": "", "fix": _SIGN_IN_AGAIN}


class OidcRefreshRefusedError(OidcSignInNeededError):
    """The provider refused the stored refresh token (revoked, expired, reused)."""

    fmt = (
        "{issuer} refused the stored sign-in of profile '{profile}' ({error}): it was "
        "revoked, expired or used elsewhere; {fix}."
    )


class OidcSignInDeniedError(OidcSignInAgainError):
    fmt = (
        "The sign-in of profile '{profile}' was refused at {issuer} ({error}); {fix}, and "
        "approve the request this time."
    )


class OidcDeviceCodeExpiredError(OidcSignInAgainError):
    fmt = (
        "The device code of profile '{profile}' expired before anyone approved it at "
        "{verification_uri}; {fix}, and enter the new code within {minutes} min."
    )


class OidcStateMismatchError(OidcSignInAgainError):
    fmt = (
        "The browser sign-in of profile '{profile}' came back to {redirect_uri} with "
        "{problem}, so it was not used (a stale or forged redirect); {fix}, in one "
        "browser tab."
    )


class OidcSignInTimeoutError(OidcSignInAgainError):
    fmt = (
        "No sign-in came back for profile '{profile}' within {seconds:g} s; {fix}, and "
        "finish it in the browser."
    )


class OidcTokenEndpointError(OidcError):
    fmt = (
        "Dex's token endpoint {url} answered {answer} for profile '{profile}'; check "
        "the profile's `issuer`, or the identity provider."
    )


#: What is wrong with an ID token, by ``reason``; filled from the error's fields.
TOKEN_PROBLEMS: Mapping[str, Advice] = {
    "audience": "is for audience {audience}, not client '{client_id}'",
    "expired": "has expired",
    "issuer": "was issued by {token_issuer}, not {issuer}",
    "signature": "does not match any of the provider's signing keys",
    "garbage": "is not a JWT (three base64url parts)",
    "nonce": "does not carry the nonce of this sign-in",
    "expired-there": "has expired by the gateway's clock, though not by this machine's",
    "untrusted": "comes from an issuer the gateway does not trust",
    "not-admitted": "is for client '{client_id}', an audience the gateway does not admit",
    "untaken": (
        "is for client '{client_id}', and oidc-authservice (Kubeflow 1.8 and earlier) takes "
        "only ID tokens of its own client"
    ),
    "*": "was refused",
}

_ADMIT_CLIENT = (
    "the gateway admits only listed audiences: ask the cluster admin to add "
    "'{client_id}' (`kfp-profiles manifest oidc-client --client-id {client_id}` shows "
    "the line), or set `client_id` to an admitted client"
)
_TRUSTED_ISSUER = (
    "set the profile's `issuer` to the Dex the gateway trusts (the host's origin + /dex)"
)

#: How to fix it, by ``reason``.
TOKEN_FIXES: Mapping[str, Advice] = {
    "audience": _ADMIT_CLIENT,
    "not-admitted": _ADMIT_CLIENT,
    "issuer": _TRUSTED_ISSUER,
    "untrusted": _TRUSTED_ISSUER,
    "expired-there": f"check the clocks of this machine and of the cluster, then {_LOGIN}",
    "untaken": "use a platform-dex profile for this host",
    "*": _LOGIN,
}


class OidcTokenInvalidError(OidcError):
    """An ID token failed a check (ours on receipt, or the gateway's 401); ``reason`` says which."""

    fmt = "Profile '{profile}': the ID token from {issuer} {problem}{where}; {fix}."
    defaults: ClassVar[dict[str, Any]] = {
        "where": "",
        "audience": "?",
        "client_id": "?",
        "token_issuer": "?",
    }
    tables: ClassVar[Tables] = {
        "problem": ("reason", TOKEN_PROBLEMS),
        "fix": ("reason", TOKEN_FIXES),
    }


__all__ = [
    "OidcClientRefusedError",
    "OidcDeviceCodeExpiredError",
    "OidcDiscoveryError",
    "OidcError",
    "OidcRefreshRefusedError",
    "OidcSignInAgainError",
    "OidcSignInDeniedError",
    "OidcSignInNeededError",
    "OidcSignInTimeoutError",
    "OidcStateMismatchError",
    "OidcTokenEndpointError",
    "OidcTokenInvalidError",
]
