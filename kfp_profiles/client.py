"""``get_client``: a profile in, a ready ``kfp.Client`` out.

The only work done before the client is returned is what the profile needs to
be ready: a login when no live session is cached, a managed port-forward. The
``kfp`` import happens here, at the first client, never at ``import kfp_profiles``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .resolution import ResolvedProfile, resolve

if TYPE_CHECKING:
    import kfp

    from .files import ProfilesConfig


def base_url_for(resolved: ResolvedProfile) -> str:
    """Where the client connects: the host, or a managed port-forward's local URL."""
    if resolved.forward_is_managed:
        from .portforward import ensure_forward, spec_for

        url: str = ensure_forward(spec_for(resolved))
        return url
    return resolved.host


#: Profiles already warned about in this process for not verifying TLS.
_UNVERIFIED_WARNED: set[str] = set()


def warn_if_unverified(resolved: ResolvedProfile) -> None:
    """Log once per profile and process that its TLS certificates are not checked."""
    if resolved.profile.verify_tls or resolved.name in _UNVERIFIED_WARNED:
        return
    _UNVERIFIED_WARNED.add(resolved.name)
    logging.getLogger("kfp_profiles").warning(
        "Profile '%s' does not check TLS certificates (verify_tls = false, from %s): anyone "
        "on the network path can read its credentials; set `ca_bundle` to your cluster's "
        "CA instead.",
        resolved.name,
        resolved.sources.get("verify_tls", "the file"),
    )


def client_for(resolved: ResolvedProfile, *, prompt: bool = False) -> kfp.Client:
    """Build the hermetic client of an already resolved profile."""
    warn_if_unverified(resolved)
    from .auth import credentials_for
    from .kfp_client import ProfileClient

    base_url = base_url_for(resolved)
    credentials = credentials_for(resolved, prompt=prompt)
    return ProfileClient(resolved, credentials, base_url=base_url)


def get_client(
    name: str | None = None,
    *,
    password: str | SecretStr | None = None,
    token: str | SecretStr | None = None,
    prompt: bool = False,
    config: ProfilesConfig | None = None,
    **overrides: Any,
) -> kfp.Client:
    """A ready ``kfp.Client`` for profile ``name`` (else ``KFP_PROFILE``, else the default).

    ``overrides`` are profile fields that win over the environment and the file,
    e.g. ``get_client("prod", namespace="team-a")``. ``password`` is used for a
    Dex login instead of ``KFP_PASSWORD`` or the keyring, ``token`` the bearer token of a
    platform-token profile instead of any other source; with ``prompt=True`` a
    person at a terminal or notebook is asked when no password is stored.
    ``config`` is the profiles to pick from (default: :func:`~kfp_profiles.load_config`).
    """
    resolved = resolve(name, password=password, token=token, config=config, **overrides)
    return client_for(resolved, prompt=prompt)


@dataclass(frozen=True)
class LoginResult:
    """What `login` did, for the command line and for logs (no secret in it)."""

    profile: str
    kind: str
    host: str
    #: "oauth2-proxy", "oidc-authservice", "none", or None for kinds with no login.
    door: str | None
    requests: int
    expires_at: float | None
    #: platform-oidc: who signed in (email or subject); platform-token: the token's subject
    #: (``ServiceAccount NS/NAME`` or its ``sub``; None when it is not a JWT).
    identity: str | None = None
    #: Where the sign-in (platform-oidc) or a command's token (platform-token) is kept.
    stored_in: str | None = None
    #: platform-token: where the token came from, in words ("the token command `...`").
    source: str | None = None


def login(
    name: str | None = None,
    *,
    password: str | SecretStr | None = None,
    token: str | SecretStr | None = None,
    prompt: bool = False,
    config: ProfilesConfig | None = None,
    **overrides: Any,
) -> LoginResult:
    """Log in now (platform-dex) and cache the session, sign in (platform-oidc), or get a
    token from its source (platform-token; a command runs now); other kinds need no login."""
    resolved = resolve(name, password=password, token=token, config=config, **overrides)
    warn_if_unverified(resolved)
    if resolved.kind == "platform-oidc":
        return _sign_in(resolved)
    if resolved.kind == "platform-token":
        return _get_token(resolved)
    if resolved.kind != "platform-dex":
        return LoginResult(resolved.name, resolved.kind, resolved.host, None, 0, None)
    from .auth.dex import dex_auth_for

    auth = dex_auth_for(resolved, prompt=prompt)
    auth.login()
    session = auth.current_session()
    return LoginResult(
        profile=resolved.name,
        kind=resolved.kind,
        host=resolved.host,
        door=auth.door,
        requests=auth.last_login_requests,
        expires_at=session.expires_at if session else None,
    )


def _sign_in(resolved: ResolvedProfile) -> LoginResult:
    """platform-oidc: a person signs in now (device or browser), and the sign-in is kept."""
    from .auth.oidc import OidcCredentials
    from .auth.oidc_discovery import token_claims

    credentials = OidcCredentials.for_profile(resolved, prompt=True)
    signed_in = credentials.login()
    claims = token_claims(signed_in.id_token) or {}
    return LoginResult(
        profile=resolved.name,
        kind=resolved.kind,
        host=resolved.host,
        door="oidc",
        requests=0,
        expires_at=signed_in.expires_at,
        identity=str(claims.get("email") or claims.get("sub") or "?"),
        stored_in=credentials.stored_in,
    )


def _get_token(resolved: ResolvedProfile) -> LoginResult:
    """platform-token: the token from its source now (a command runs, and its token is cached)."""
    from .auth.bearer import BearerCredentials, CommandSource
    from .auth.bearer_token import jwt_claims
    from .errors.base import pick
    from .errors.bearer import TOKEN_SOURCE_WORDS

    credentials = BearerCredentials.for_profile(resolved)
    source = credentials.source
    got = source.run_now() if isinstance(source, CommandSource) else credentials.token()
    fields = source.fields()
    words = pick(TOKEN_SOURCE_WORDS, str(fields["source"])) or "{source}"
    claims = jwt_claims(got.text)
    return LoginResult(
        profile=resolved.name,
        kind=resolved.kind,
        host=resolved.host,
        door=None,
        requests=0,
        expires_at=got.expires_at,
        identity=token_subject(claims) if claims is not None else None,
        stored_in=source.cached_in if isinstance(source, CommandSource) else None,
        source=(words if isinstance(words, str) else words.python).format(**fields),
    )


def token_subject(claims: Mapping[str, Any]) -> str:
    """Who a JWT speaks for: ``ServiceAccount NS/NAME`` (Kubernetes' claims), else its ``sub``."""
    kubernetes = claims.get("kubernetes.io")
    if isinstance(kubernetes, Mapping):
        account = kubernetes.get("serviceaccount")
        name = account.get("name") if isinstance(account, Mapping) else None
        if kubernetes.get("namespace") and name:
            return f"ServiceAccount {kubernetes['namespace']}/{name}"
    subject = claims.get("sub")
    return f"subject {subject}" if subject else "no subject"


def logout(name: str | None = None, *, config: ProfilesConfig | None = None) -> bool:
    """Forget the cached session, OIDC sign-in or command token of a profile; True when there
    was one. A token or secret stored in the keyring stays (``secret delete`` deletes it)."""
    from .auth.bearer import forget_cached_token
    from .auth.oidc import forget_sign_in
    from .files import load_config
    from .resolution import select_name
    from .session import SessionCache

    chosen, _ = select_name(config if config is not None else load_config(), name)
    forgot = [forget_sign_in(chosen), forget_cached_token(chosen), SessionCache().delete(chosen)]
    return any(forgot)
