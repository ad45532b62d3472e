"""A platform-oidc profile's ID token: from memory, else the stored sign-in, else one refresh.

:class:`OidcCredentials` is the kind's :class:`~kfp_profiles.auth.Credentials`:
it sends ``Authorization: Bearer <ID token>`` and renews the token with one
request to the token endpoint (the refresh token) ``refresh_margin`` seconds
before it expires, or after the gateway refused it. Providers rotate refresh
tokens, so each new one is saved at once; processes share one refresh under a
file lock, threads under the credential's own lock. A person signs in
(:mod:`~kfp_profiles.auth.oidc_flows`) only where one is there (``prompt``,
``kfp-profiles login``); otherwise a missing or refused sign-in is a typed
error that says to run ``kfp-profiles login NAME``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..errors import (
    KfpProfilesError,
    OidcClientRefusedError,
    OidcRefreshRefusedError,
    OidcSignInNeededError,
    OidcTokenInvalidError,
    SessionCacheError,
)
from ..models import PlatformOidc
from ..transport import origin
from .oidc_discovery import auto_flow, discover, fetch_jwks, verify_id_token
from .oidc_flows import Say, browser_sign_in, device_sign_in, say_to_stderr
from .oidc_http import OidcConfig, ProviderError, exchange, new_session
from .oidc_store import OidcSignIn, SignInStore, renewal_lock
from .refusal import Refusal, refusal_cause

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile

__all__ = ["OidcCredentials", "config_for", "forget_sign_in"]

log = logging.getLogger("kfp_profiles.auth.oidc")

#: Errors of a refresh that mean the sign-in is gone (Dex answers 400 invalid_request).
_REFUSED = frozenset({"invalid_grant", "invalid_request"})
#: The reason an ID token was refused (errors/oidc.py's rows), by the shared cause.
_OIDC_REASONS = {
    "expired": "expired",
    "expired-there": "expired-there",
    "audience": "audience",
    "unlisted": "audience",
    "issuer": "untrusted",
    "signature": "signature",
    "garbage": "garbage",
    "opaque": "garbage",
    "untaken": "untaken",
}


def config_for(resolved: ResolvedProfile, client_secret: SecretStr | None = None) -> OidcConfig:
    """The sign-in settings of a resolved ``platform-oidc`` profile."""
    profile = resolved.profile
    assert isinstance(profile, PlatformOidc), profile.kind
    values = profile.values_for(OidcConfig)
    values.update(
        issuer=(profile.issuer or origin(resolved.host) + "/dex").rstrip("/"),
        scopes=tuple(profile.scopes),
    )
    return OidcConfig(
        profile=resolved.name, api_url=resolved.host, client_secret=client_secret, **values
    )


def _stored_client_secret(profile: str) -> SecretStr | None:
    from ..errors import KeyringUnavailableError
    from ..secrets import get_client_secret

    try:
        return get_client_secret(profile)
    except KeyringUnavailableError:
        return None


def forget_sign_in(profile: str) -> bool:
    """Delete a profile's stored sign-in (``logout``); True when one was stored."""
    return SignInStore(profile).delete()


class OidcCredentials:
    """The ID token of one profile, shared by every thread of a client."""

    #: An expired or refused ID token is renewed with the refresh token.
    renewable = True

    def __init__(
        self,
        config: OidcConfig,
        store: SignInStore | None,
        *,
        prompt: bool = False,
        say: Say = say_to_stderr,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._store = store
        self._prompt = prompt
        self._say = say
        self._clock = clock
        self._lock = threading.Lock()
        self._held: OidcSignIn | None = None
        #: Refreshes and sign-ins this object did.
        self.refreshes = 0
        self.sign_ins = 0

    def __repr__(self) -> str:
        return f"OidcCredentials(profile={self.config.profile!r}, sign_in={self._held!r})"

    @classmethod
    def for_profile(cls, resolved: ResolvedProfile, *, prompt: bool = False) -> OidcCredentials:
        """The profile's credentials. The stored sign-in and client secret belong to the
        file's own host and issuer: an override of either neither reads nor replaces them."""
        # A client secret authenticates to one provider and a sign-in was made at one: an
        # `issuer` from a variable or an argument may name another.
        issuer_from = resolved.sources.get("issuer", "default").partition(":")[0]
        at_home = resolved.at_home and issuer_from in ("file", "default")
        secret = resolved.secrets.get("client_secret")
        if secret is None and at_home:
            secret = _stored_client_secret(resolved.name)
        store = SignInStore(resolved.name) if at_home else None
        return cls(config_for(resolved, secret), store, prompt=prompt)

    # --- the renewal hook (kfp_profiles.auth.Credentials) ---------------------------------

    @property
    def expired(self) -> bool:
        held = self._held
        return held is None or held.expired(self.config.refresh_margin, self._clock())

    def before_request(self, headers: MutableMapping[str, str]) -> None:
        headers["Authorization"] = f"Bearer {self.id_token()}"

    def refresh(self, refused: Mapping[str, str]) -> None:
        self.renew(refused.get("Authorization", "").removeprefix("Bearer "))

    # --- the token itself -------------------------------------------------------------------

    @property
    def current(self) -> OidcSignIn | None:
        """The sign-in held in memory, if any; no I/O."""
        return self._held

    def id_token(self) -> str:
        """A live ID token: held, stored by another process, refreshed, or signed in anew."""
        return self.renew(None)

    def renew(self, stale: str | None) -> str:
        """An ID token other than ``stale`` (the one just refused), live for the margin."""
        with self._lock:
            held = self._usable(self._held, stale)
            if held is not None:
                return held.id_token
            refused: KfpProfilesError | None = None
            with renewal_lock(self.config.profile, self.config.timeout):
                stored = self._load()
                held = self._usable(stored, stale)
                if held is not None:  # another process renewed it meanwhile
                    self._held = held
                    return held.id_token
                base = stored or self._held
                if base is not None and base.refresh_token:
                    renewed = self._refresh(base)
                    if isinstance(renewed, OidcSignIn):
                        return renewed.id_token
                    refused = renewed
            if not self._prompt:
                raise refused or OidcSignInNeededError(
                    profile=self.config.profile, issuer=self.config.issuer
                )
            return self._sign_in().id_token

    def login(self) -> OidcSignIn:
        """Sign in now, whatever is stored (a person is there: ``kfp-profiles login``)."""
        with self._lock:
            return self._sign_in()

    @property
    def stored_in(self) -> str | None:
        """The store that took the last save (``keyring``, ``file``), None for memory only."""
        return self._store.last_store if self._store is not None else None

    def refused_error(self, refusal: Refusal, sent: Mapping[str, str]) -> OidcTokenInvalidError:
        """The error for a refusal of the ID token in ``sent``: which check it failed, the fix."""
        token = sent.get("Authorization", "").removeprefix("Bearer ")
        cause = refusal_cause(refusal, token, self._clock())
        held = self._held
        issuer = str(held.document.get("issuer", "")) if held is not None else ""
        issuer = issuer or self.config.issuer
        reason = _OIDC_REASONS.get(cause.reason, "*")
        if reason in ("audience", "not-admitted"):
            reason = "not-admitted" if self.config.client_id in cause.audiences else "audience"
        if reason in ("untrusted", "*") and cause.issuer not in (issuer, "none"):
            reason = "issuer"
        again = ", again after a refresh" if refusal.renewed else ""
        return OidcTokenInvalidError(
            profile=self.config.profile,
            issuer=issuer,
            client_id=self.config.client_id,
            where=f" ({refusal.url} refused it with {refusal.why}{again})",
            **(cause.fields() | {"reason": reason}),
        )

    def logout(self) -> bool:
        with self._lock:
            self._held = None
            return self._store.delete() if self._store is not None else False

    # --- under the lock -------------------------------------------------------------------

    def _usable(self, sign_in: OidcSignIn | None, stale: str | None) -> OidcSignIn | None:
        if sign_in is None or sign_in.id_token == stale:
            return None
        if sign_in.expired(self.config.refresh_margin, self._clock()):
            return None
        return sign_in

    def _load(self) -> OidcSignIn | None:
        stored = self._store.load() if self._store is not None else None
        if stored is None or not stored.belongs_to(self.config.origin, self.config.client_id):
            return None
        return stored

    def _keep(self, sign_in: OidcSignIn) -> OidcSignIn:
        self._held = sign_in
        if self._store is not None:
            try:
                where = self._store.save(sign_in)
                log.debug("Saved the sign-in of profile %s in %s.", self.config.profile, where)
            except SessionCacheError as exc:
                log.warning("%s", exc)
        return sign_in

    def _refresh(self, base: OidcSignIn) -> OidcSignIn | KfpProfilesError:
        """One refresh-token request; the renewed sign-in, or the error of its refusal."""
        config, document = self.config, base.document
        url = str(document["token_endpoint"])
        refresh_token = base.refresh_token
        with new_session(config) as session:
            answer = exchange(
                config,
                "POST",
                url,
                lambda: session.refresh_token(url, refresh_token=refresh_token),
            )
        self.refreshes += 1
        issuer = str(document.get("issuer", config.issuer))
        if isinstance(answer, ProviderError):
            log.info("The refresh of profile %s was refused: %s", config.profile, answer.error)
            if answer.error in _REFUSED:
                return OidcRefreshRefusedError(
                    profile=config.profile, issuer=issuer, error=answer.error
                )
            return OidcClientRefusedError(
                profile=config.profile, issuer=issuer, client_id=config.client_id, error=answer
            )
        tokens = dict(answer)
        # A rotated refresh token is saved before anything else can fail: the old one is spent.
        rotated = base.renewed(refresh_token=tokens.get("refresh_token") or refresh_token)
        return self._keep(self._checked(rotated, tokens, nonce=None))

    def _checked(
        self, base: OidcSignIn, tokens: Mapping[str, Any], *, nonce: str | None
    ) -> OidcSignIn:
        """``base`` with the verified ID token of a token endpoint answer."""
        id_token = str(tokens.get("id_token") or "")

        def refetch() -> dict[str, Any]:
            return fetch_jwks(self.config, base.document)

        claims, jwks = verify_id_token(
            id_token,
            config=self.config,
            document=base.document,
            jwks=base.jwks,
            refetch=refetch,
            nonce=nonce,
            now=self._clock(),
        )
        return base.renewed(
            id_token=id_token,
            expires_at=float(claims["exp"]),
            issued_at=float(claims.get("iat", self._clock())),
            jwks=jwks,
        )

    def _sign_in(self) -> OidcSignIn:
        """A person signs in: discovery, the flow, the checks, then the sign-in is stored."""
        config = self.config
        document = discover(config)
        jwks = fetch_jwks(config, document)
        flow = config.flow
        if flow == "auto":
            flow = auto_flow(document)
        nonce: str | None = None
        if flow == "device":
            tokens = device_sign_in(config, document, say=self._say)
        else:
            tokens, nonce = browser_sign_in(config, document, say=self._say)
        blank = OidcSignIn(
            origin=config.origin,
            client_id=config.client_id,
            id_token="",
            expires_at=0.0,
            issued_at=0.0,
            refresh_token=tokens.get("refresh_token"),
            document=document,
            jwks=jwks,
        )
        signed_in = self._checked(blank, tokens, nonce=nonce)
        self.sign_ins += 1
        if not signed_in.refresh_token:
            log.warning(
                "Profile %s got no refresh token (is offline_access among its scopes?): it "
                "signs in again when the ID token expires.",
                config.profile,
            )
        return self._keep(signed_in)
