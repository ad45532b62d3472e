"""One bearer token: its text checked, its life read (JWT ``exp``, ExecCredential), its cache.

A :class:`BearerToken` never shows its text in a repr. The text is checked
before use (:func:`check_token_text`: one run of visible ASCII, as an HTTP
header carries it); the expiry comes from the JWT's ``exp`` (unverified: the
gateway verifies) or an ExecCredential's ``status.expirationTimestamp``; a
token that is neither has no known expiry and is used until refused.

Tokens a command printed are cached like Dex sessions (:mod:`kfp_profiles.session`'s
stores: the keyring, else a 0600 file), under ``<profile>#token``, as JSON
``{token, expires_at, origin, command}``: a new process within the token's life
runs no command. A cached token serves only the origin and the command it was
got for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..session import (
    FileSessionStore,
    KeyringSessionStore,
    SessionStore,
    StoreUnavailableError,
    command_token_key,
)

__all__ = [
    "BearerToken",
    "TokenCache",
    "check_token_text",
    "command_fingerprint",
    "jwt_claims",
    "parse_exec_credential",
]

log = logging.getLogger("kfp_profiles.auth.bearer")

#: Kubernetes' credential plugin output versions (client.authentication.k8s.io).
EXEC_CREDENTIAL_VERSIONS = (
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
)


@dataclass(frozen=True, repr=False)
class BearerToken:
    """A token and what is known of its life; the text is never shown."""

    text: str
    #: Epoch seconds of its ``exp`` / ``expirationTimestamp``; None: valid until refused.
    expires_at: float | None
    #: When it was got (epoch seconds), to renew short-lived tokens halfway through.
    got_at: float

    def renew_at(self, margin: float) -> float | None:
        """When to get a new one: ``margin`` before expiry, but not before half its life."""
        if self.expires_at is None:
            return None
        halfway = self.got_at + (self.expires_at - self.got_at) / 2
        return max(self.expires_at - margin, halfway)

    def due(self, now: float, margin: float) -> bool:
        renew_at = self.renew_at(margin)
        return renew_at is not None and now >= renew_at

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @property
    def header(self) -> str:
        return f"Bearer {self.text}"

    def __repr__(self) -> str:
        return f"BearerToken(text='***', expires_at={self.expires_at!r})"


def check_token_text(text: str) -> str | None:
    """What makes ``text`` (already stripped) no bearer token, or None when it is one.

    The problem names a position and a kind of character, never the text.
    """
    if not text:
        return "it is empty"
    for index, char in enumerate(text):
        if char.isspace():
            return f"it has whitespace at character {index + 1}, so it is more than one token"
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return f"it has a control character at character {index + 1}"
        if ord(char) > 0x7E:
            return f"it has a character that is not ASCII at character {index + 1}"
    return None


def jwt_claims(text: str) -> dict[str, Any] | None:
    """The payload of a JWT, unverified (the gateway verifies it); None when it is none."""
    parts = text.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def jwt_expiry(text: str) -> float | None:
    """The ``exp`` of a JWT in epoch seconds; None when it is not a JWT or has none."""
    claims = jwt_claims(text)
    expiry = claims.get("exp") if claims else None
    if isinstance(expiry, (int, float)) and not isinstance(expiry, bool):
        return float(expiry)
    return None


def parse_exec_credential(payload: Any) -> tuple[str, float | None] | str:
    """``(token, expiry)`` of an ExecCredential's JSON, or what is wrong with it (no values)."""
    if not isinstance(payload, dict) or payload.get("kind") != "ExecCredential":
        return "printed JSON that is not a Kubernetes ExecCredential"
    version = payload.get("apiVersion")
    if version not in EXEC_CREDENTIAL_VERSIONS:
        return f"printed an ExecCredential of apiVersion {str(version)[:60]!r}, not v1 or v1beta1"
    status = payload.get("status")
    status = status if isinstance(status, dict) else {}
    token = status.get("token")
    if not isinstance(token, str) or not token.strip():
        if status.get("clientCertificateData"):
            return "printed an ExecCredential with a client certificate, not a token"
        return "printed an ExecCredential with no status.token"
    stamp = status.get("expirationTimestamp")
    if stamp is None:
        return token.strip(), None
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return "printed an ExecCredential whose status.expirationTimestamp is not RFC 3339"
    if moment.tzinfo is None:
        return "printed an ExecCredential whose status.expirationTimestamp has no time zone"
    return token.strip(), moment.timestamp()


def command_fingerprint(argv: Sequence[str]) -> str:
    """A digest of the command, so a cached token is only used for the command that got it."""
    return hashlib.sha256(json.dumps(list(argv)).encode("utf-8")).hexdigest()[:32]


class TokenCache:
    """Tokens a command printed, per profile: the first store that works (keyring, then file)."""

    def __init__(self, stores: Sequence[SessionStore] | None = None) -> None:
        self.stores: tuple[SessionStore, ...] = (
            tuple(stores) if stores is not None else (KeyringSessionStore(), FileSessionStore())
        )

    @staticmethod
    def key(profile: str) -> str:
        """Distinct from the profile's Dex session (``profile``)."""
        return command_token_key(profile)

    def load(self, profile: str, origin: str, command: str) -> BearerToken | None:
        """The token cached for this profile, origin and command, expired or not."""
        for store in self.stores:
            try:
                text = store.load(self.key(profile))
            except StoreUnavailableError as exc:
                log.debug("Token store %s unavailable: %s", store.name, exc)
                continue
            if text is not None:
                return _token_from_json(text, origin, command)
        return None

    def save(self, profile: str, token: BearerToken, origin: str, command: str) -> str | None:
        """Store ``token``; the store that took it, or None (then it serves this process only)."""
        value = json.dumps(
            {
                "token": token.text,
                "expires_at": token.expires_at,
                "got_at": token.got_at,
                "origin": origin,
                "command": command,
            }
        )
        for index, store in enumerate(self.stores):
            try:
                store.save(self.key(profile), value)
            except StoreUnavailableError as exc:
                log.debug("Token store %s unavailable: %s", store.name, exc)
                continue
            self._forget(profile, [s for i, s in enumerate(self.stores) if i != index])
            return store.name
        log.warning(
            "The token of profile %s could not be cached; it serves this process only.", profile
        )
        return None

    def delete(self, profile: str) -> bool:
        """Forget the token of ``profile`` in every store; True when one held it."""
        return self._forget(profile, self.stores)

    def _forget(self, profile: str, stores: Sequence[SessionStore]) -> bool:
        deleted = False
        for store in stores:
            try:
                deleted = store.delete(self.key(profile)) or deleted
            except StoreUnavailableError as exc:
                log.debug("Could not delete from token store %s: %s", store.name, exc)
        return deleted


def _token_from_json(text: str, origin: str, command: str) -> BearerToken | None:
    try:
        data = json.loads(text)
        token = str(data["token"])
        expires_at = data.get("expires_at")
        expiry = float(expires_at) if expires_at is not None else None
        got_at = float(data.get("got_at") or time.time())
        ours = str(data["origin"]).lower() == origin.lower() and data.get("command") == command
    except (ValueError, KeyError, TypeError, AttributeError):
        ours, token = False, ""
        log.warning("Ignoring an unreadable cached token.")
    if not ours or check_token_text(token) is not None:
        return None
    return BearerToken(token, expiry, got_at)
