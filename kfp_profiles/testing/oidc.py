"""Dex as an OIDC provider: clients and their redirect rules, codes, tokens, refresh, discovery.

Read off dexidp/dex (``server/handlers.go``, ``refreshhandlers.go``,
``oauth2.go``): the token endpoint's JSON errors and their statuses, PKCE
(S256 and plain), refresh tokens that rotate on each use with a reuse
window, the ``validateRedirectURI`` rules (numeric loopback hosts only from
v2.42), ID tokens signed RS256 with Dex's claims. Where Dex is gentler than
other providers the emulator can be made stricter (``OidcSettings``): a
reused refresh token revokes the whole sign-in (Dex only refuses that
token), and ``refresh_needs_consent`` issues refresh tokens only after
``prompt=consent``. Kubeflow's Dex issuer is the in-cluster URL, so the
discovery document names endpoints a laptop cannot reach, unless
``public_issuer`` makes it the gateway's own ``/dex``.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from kfp_profiles.testing import jwt
from kfp_profiles.testing.messages import Request, Response, json_response

#: Kubeflow's Dex issuer (kubeflow/manifests ``common/dex/base/config-map.yaml``).
IN_CLUSTER_ISSUER = "http://dex.auth.svc.cluster.local:5556/dex"
#: The OAuth client Kubeflow registers in Dex, for oauth2-proxy and authservice alike.
CLIENT_ID = "kubeflow-oidc-authservice"
#: The callbacks registered for that client; relative, as Kubeflow configures them.
CALLBACKS = ("/oauth2/callback", "/authservice/oidc/callback")
DEVICE_CALLBACK = "/device/callback"
OOB = "urn:ietf:wg:oauth:2.0:oob"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPES = ("openid", "email", "groups", "profile", "offline_access", "federated:id")
CROSS_CLIENT = "audience:server:client_id:"
#: From this Dex version a loopback redirect may name 127.0.0.1 or [::1], not only localhost.
NUMERIC_LOOPBACK = (2, 42)
_CODE_LIFETIME = 600.0


@dataclass(frozen=True)
class StaticClient:
    """A ``staticClients`` entry of Dex's config."""

    id: str
    secret: str = field(default="", repr=False)
    public: bool = False
    redirect_uris: tuple[str, ...] = ()
    name: str = ""
    trusted_peers: tuple[str, ...] = ()


KUBEFLOW_CLIENT = StaticClient(
    CLIENT_ID, "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok", redirect_uris=CALLBACKS, name=CLIENT_ID
)
#: The public client the emulator registers unless told otherwise (what
#: ``kfp-profiles manifest oidc-client`` asks an admin to add).
DEFAULT_CLIENTS = (StaticClient("kfp-profiles", public=True, name="kfp-profiles"),)


@dataclass
class OidcSettings:
    """Dex's OIDC behaviour; the emulator's keywords of the same names set these.

    Change them while the emulator runs through ``emu.oidc``.
    """

    clients: Sequence[StaticClient] = DEFAULT_CLIENTS
    issuer: str = IN_CLUSTER_ISSUER
    public_issuer: bool = False  # issuer = the gateway's own URL + "/dex"
    id_token_lifetime: float | None = None  # None: the emulator's session_lifetime
    refresh_rotation: bool = True
    refresh_reuse_interval: float = 3.0
    refresh_reuse_revokes: bool = True
    refresh_lifetime: float | None = None  # expiry.refreshTokens.absoluteLifetime
    refresh_idle_lifetime: float | None = None  # expiry.refreshTokens.validIfNotUsedFor
    refresh_needs_consent: bool = False
    device_flow: bool = True
    device_lifetime: float = 300.0
    device_interval: int = 5
    device_omit_interval: bool = False
    authorization_response_iss: bool = False
    broken_id_tokens: bool = False  # the token endpoint answers an id_token that is no JWT


def redirect_allowed(client: StaticClient, uri: str, version: tuple[int, int]) -> bool:
    """Dex's ``validateRedirectURI`` for ``client`` at Dex ``version``."""
    if uri in client.redirect_uris:
        return True
    if not client.public or client.redirect_uris:
        return False
    if uri in (OOB, DEVICE_CALLBACK):
        return True
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname is None:
        return False
    if parts.hostname == "localhost":
        return True
    if version < NUMERIC_LOOPBACK:
        return False
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def token_error(status: int, error: str, description: str = "") -> Response:
    payload = {"error": error, **({"error_description": description} if description else {})}
    return json_response(status, payload)


def pkce_challenge(verifier: str, method: str) -> str:
    if method == "S256":
        return jwt.b64url(hashlib.sha256(verifier.encode()).digest())
    return verifier


@dataclass
class Grant:
    """What an authorization code stands for."""

    client_id: str
    user: str
    redirect_uri: str
    scopes: tuple[str, ...] = ("openid",)
    nonce: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""
    consented: bool = False
    connector: str = "local"
    expires_at: float = field(default_factory=lambda: time.time() + _CODE_LIFETIME)


@dataclass
class SignIn:
    """One offline session: the refresh token of a client for a user, rotating."""

    id: str
    client_id: str
    user: str
    scopes: tuple[str, ...]
    nonce: str
    connector: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    obsolete: str = field(default="", repr=False)
    created_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)
    revoked: bool = False
    expired: bool = False


class OidcProvider:
    """Dex's clients, codes, offline sessions and signing keys, behind one lock."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        version: tuple[int, int],
        base_url: Callable[[], str],
        session_lifetime: float,
    ) -> None:
        self.settings = settings
        self.version = version
        self.keys = jwt.KeySet()
        self._base_url = base_url
        self._session_lifetime = session_lifetime
        self._lock = threading.Lock()
        self._codes: dict[str, Grant] = {}
        self._sign_ins: dict[str, SignIn] = {}
        self._minted: set[str] = set()
        #: Dex tokens made to fail as expired (``expire_tokens``); the gateway reads it.
        self.revoked: set[str] = set()
        self.grant_counts: collections.Counter[str] = collections.Counter()

    # --- who and where ----------------------------------------------------------------

    @property
    def issuer(self) -> str:
        if self.settings.public_issuer:
            return self._base_url() + "/dex"
        return self.settings.issuer.rstrip("/")

    def client(self, client_id: str) -> StaticClient | None:
        if client_id == CLIENT_ID:
            return KUBEFLOW_CLIENT
        return next((c for c in self.settings.clients if c.id == client_id), None)

    def subject(self, user: str, connector: str = "local") -> str:
        """Dex's ``sub``: its IDTokenSubject message (user id, connector id), base64url."""
        user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, user.lower())).encode()
        conn = connector.encode()
        message = b"\n" + bytes([len(user_id)]) + user_id + b"\x12" + bytes([len(conn)]) + conn
        return jwt.b64url(message)

    # --- codes (the doors redeem theirs without the token endpoint) ------------------

    def issue_code(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(18)
        with self._lock:
            self._codes[code] = grant
        return code

    def take_code(self, code: str, client_id: str) -> Grant | None:
        """The grant of a live code of ``client_id``; it is used up."""
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant.client_id != client_id or time.time() > grant.expires_at:
                return None
            del self._codes[code]
        return grant

    def redeem(self, code: str, redirect_uri: str) -> str | None:
        """The user a code was issued to; each code works once, for its own callback."""
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant.redirect_uri != redirect_uri:
            return None
        return grant.user

    # --- tokens -----------------------------------------------------------------------

    def id_token(
        self,
        client_id: str,
        user: str,
        scopes: Sequence[str] = ("openid", "email", "profile"),
        *,
        nonce: str = "",
        lifetime: float | None = None,
        access_token: str = "",
        connector: str = "local",
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """An ID token as Dex signs it for ``user`` and ``client_id`` (``extra`` claims added)."""
        now = time.time()
        if lifetime is None:
            lifetime = self.settings.id_token_lifetime or self._session_lifetime
        peers = [s.removeprefix(CROSS_CLIENT) for s in scopes if s.startswith(CROSS_CLIENT)]
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject(user, connector),
            "aud": [*peers, client_id] if peers else client_id,
            "exp": int(now + lifetime),
            "iat": int(now),
        }
        if peers:
            claims["azp"] = client_id
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            digest = hashlib.sha256(access_token.encode()).digest()
            claims["at_hash"] = jwt.b64url(digest[: len(digest) // 2])
        if "email" in scopes:
            claims.update(email=user, email_verified=True)
        if "profile" in scopes:
            claims["name"] = user.split("@")[0]
        if "federated:id" in scopes:
            claims["federated_claims"] = {"connector_id": connector, "user_id": user}
        return self.remember(self.keys.sign({**claims, **(extra or {})}))

    def remember(self, token: str) -> str:
        """Note a token Dex signed; signed again after ``expire_tokens``, it is valid again."""
        with self._lock:
            self._minted.add(token)
            self.revoked.discard(token)
        return token

    def expire_tokens(self) -> None:
        """Every Dex token signed so far now fails as expired, at the gateway too."""
        with self._lock:
            self.revoked |= self._minted

    def token_response(
        self, grant: Grant, *, lifetime: float | None = None, sign_in: bool = True
    ) -> dict[str, Any]:
        """The token endpoint's answer: ID and access token, and a new sign-in's refresh token
        where ``offline_access`` was granted (and consented, if the settings need it)."""
        # A random jti makes every access token, and by its at_hash every ID token, new.
        access = self.id_token(
            grant.client_id,
            grant.user,
            grant.scopes,
            lifetime=lifetime,
            extra={"jti": secrets.token_urlsafe(12)},
        )
        id_token = self.id_token(
            grant.client_id,
            grant.user,
            grant.scopes,
            nonce=grant.nonce,
            lifetime=lifetime,
            access_token=access,
        )
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(jwt.claims_of(id_token)["exp"] - time.time()),
            "id_token": "no-jwt-" + secrets.token_hex(8)
            if self.settings.broken_id_tokens
            else id_token,
        }
        wants_refresh = sign_in and "offline_access" in grant.scopes
        if wants_refresh and (grant.consented or not self.settings.refresh_needs_consent):
            offline = SignIn(
                id=secrets.token_hex(12),
                client_id=grant.client_id,
                user=grant.user,
                scopes=grant.scopes,
                nonce=grant.nonce,
                connector=grant.connector,
            )
            with self._lock:
                self._sign_ins[offline.id] = offline
            answer["refresh_token"] = _refresh_value(offline.id, offline.token)
        return answer

    # --- the token endpoint --------------------------------------------------------------

    def token_endpoint(self, req: Request) -> Response:
        """``POST /dex/token`` for the authorization_code and refresh_token grants."""
        if req.method != "POST":
            return token_error(400, "invalid_request", "method not allowed")
        form = req.form
        grant_type = form.get("grant_type", "")
        self.count_grant(grant_type)
        handlers = {"authorization_code": self._code_grant, "refresh_token": self._refresh_grant}
        if grant_type not in handlers:
            return token_error(400, "unsupported_grant_type")
        client = self._authenticate_client(req)
        if isinstance(client, Response):
            return client
        return handlers[grant_type](form, client)

    def count_grant(self, grant_type: str) -> None:
        with self._lock:
            self.grant_counts[grant_type] += 1

    def _authenticate_client(self, req: Request) -> StaticClient | Response:
        scheme, _, value = req.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip()).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            client_id, _, secret = decoded.partition(":")
        else:
            client_id, secret = req.form.get("client_id", ""), req.form.get("client_secret", "")
        client = self.client(client_id)
        if client is None or not hmac.compare_digest(client.secret, secret):
            return token_error(401, "invalid_client", "Invalid client credentials.")
        return client

    def _code_grant(self, form: Mapping[str, str], client: StaticClient) -> Response:
        code = form.get("code", "")
        if not code:
            return token_error(400, "invalid_request", "Required param: code.")
        with self._lock:
            grant = self._codes.get(code)
        if grant is None or grant.client_id != client.id or time.time() > grant.expires_at:
            return token_error(400, "invalid_grant", "Invalid or expired code parameter.")
        verifier = form.get("code_verifier", "")
        if verifier and grant.code_challenge:
            expected = pkce_challenge(verifier, grant.code_challenge_method)
            if not hmac.compare_digest(expected, grant.code_challenge):
                return token_error(400, "invalid_grant", "Invalid code_verifier.")
        elif verifier:
            return token_error(
                400, "invalid_request", "No PKCE flow started. Cannot check code_verifier."
            )
        elif grant.code_challenge:
            return token_error(
                400, "invalid_grant", "Expecting parameter code_verifier in PKCE flow."
            )
        if form.get("redirect_uri", "") != grant.redirect_uri:
            return token_error(
                400, "invalid_request", "redirect_uri did not match URI from initial request."
            )
        if self.take_code(code, client.id) is None:
            return token_error(400, "invalid_grant", "Invalid or expired code parameter.")
        return json_response(200, self.token_response(grant))

    def _refresh_grant(self, form: Mapping[str, str], client: StaticClient) -> Response:
        raw = form.get("refresh_token", "")
        if not raw:
            return token_error(400, "invalid_request", "No refresh token is found in request.")
        sign_in_id, presented = _parse_refresh(raw)
        invalid = (
            f"clientID {client.id} refresh token (ID {sign_in_id}) is invalid "
            "or has already been claimed by another client."
        )
        now = time.time()
        settings = self.settings
        with self._lock:
            sign_in = self._sign_ins.get(sign_in_id)
            if sign_in is None or sign_in.revoked:
                return token_error(400, "invalid_request", invalid)
            if sign_in.client_id != client.id:
                return token_error(400, "invalid_grant", invalid)
            reusable = now < sign_in.last_used + settings.refresh_reuse_interval
            is_current = hmac.compare_digest(presented, sign_in.token)
            if not is_current and not (reusable and presented == sign_in.obsolete):
                if settings.refresh_reuse_revokes:
                    sign_in.revoked = True
                return token_error(400, "invalid_request", invalid)
            lifetime, idle = settings.refresh_lifetime, settings.refresh_idle_lifetime
            if (
                sign_in.expired
                or (lifetime is not None and now > sign_in.created_at + lifetime)
                or (idle is not None and now > sign_in.last_used + idle)
            ):
                return token_error(400, "invalid_request", "Refresh token expired.")
            scopes = form.get("scope", "").split() or list(sign_in.scopes)
            unauthorized = [s for s in scopes if s not in sign_in.scopes]
            if unauthorized:
                quoted = "[" + " ".join(f'"{s}"' for s in unauthorized) + "]"
                return token_error(
                    400,
                    "invalid_request",
                    f"Requested scopes contain unauthorized scope(s): {quoted}.",
                )
            if is_current and settings.refresh_rotation:
                sign_in.obsolete, sign_in.token = sign_in.token, secrets.token_urlsafe(18)
                sign_in.last_used = now
            elif is_current:
                sign_in.last_used = now
            current = sign_in.token
            grant = Grant(client.id, sign_in.user, "", tuple(scopes), sign_in.nonce)
        answer = self.token_response(grant, sign_in=False)
        answer["refresh_token"] = _refresh_value(sign_in_id, current)
        return json_response(200, answer)

    # --- controls for tests ------------------------------------------------------------------

    def sign_ins(self, user: str | None = None) -> list[SignIn]:
        with self._lock:
            return [
                s
                for s in self._sign_ins.values()
                if not s.revoked and (user is None or s.user.lower() == user.lower())
            ]

    def revoke_sign_ins(self, user: str | None = None) -> int:
        """Revoke live offline sessions (of ``user``, or all): their refresh tokens stop working."""
        revoked = self.sign_ins(user)
        with self._lock:
            for sign_in in revoked:
                sign_in.revoked = True
        return len(revoked)

    def expire_refresh_tokens(self) -> None:
        """Every live refresh token is now past its absolute lifetime."""
        with self._lock:
            for sign_in in self._sign_ins.values():
                sign_in.expired = True

    # --- discovery, keys, userinfo ---------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        issuer = self.issuer
        grants = ["authorization_code", "refresh_token"]
        document: dict[str, Any] = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/keys",
            "userinfo_endpoint": f"{issuer}/userinfo",
        }
        if self.settings.device_flow:
            document["device_authorization_endpoint"] = f"{issuer}/device/code"
            grants.append(DEVICE_GRANT)
        document.update(
            grant_types_supported=grants,
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            code_challenge_methods_supported=["S256", "plain"],
            scopes_supported=["openid", "email", "groups", "profile", "offline_access"],
            token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
            claims_supported=[
                "iss",
                "sub",
                "aud",
                "iat",
                "exp",
                "email",
                "email_verified",
                "locale",
                "name",
                "preferred_username",
                "at_hash",
            ],
        )
        return document

    def userinfo(self, req: Request) -> Response:
        token = req.bearer
        if token is None:
            response = token_error(401, "access_denied", "Invalid bearer token.")
            response.headers.append(("WWW-Authenticate", "Bearer"))
            return response
        try:
            claims = jwt.verify(token, {self.issuer: self.keys}, revoked=self.revoked)
        except jwt.JwtRejected:
            return token_error(403, "access_denied", "Invalid bearer token.")
        return json_response(200, claims)


def _refresh_value(sign_in_id: str, token: str) -> str:
    return jwt.b64url(f"{sign_in_id}:{token}".encode())


def _parse_refresh(raw: str) -> tuple[str, str]:
    """A refresh token as (sign-in id, token); an unreadable one is an id with no token."""
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return raw, ""
    sign_in_id, sep, token = decoded.partition(":")
    return (sign_in_id, token) if sep else (raw, "")
