"""A platform-oidc sign-in kept between processes: keyring (else a 0600 file), under a lock.

The value (JSON) holds the ID token, its expiry, the refresh token, the
discovery document and the JWKS, so a new process within the token's life
sends no request but its API call. It lives in the stores of
:mod:`kfp_profiles.session` (service ``kfp-profiles-session``) under the key
``NAME#oidc``, apart from a ``platform-dex`` session of the same name. A
sign-in belongs to one origin and client: another is not handed back.
Processes that renew it take :func:`renewal_lock` first (a file lock in the
cache folder), so one refresh serves them all.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from ..atomicfile import ensure_folder, locked
from ..errors import SessionCacheError
from ..session import (
    FileSessionStore,
    KeyringSessionStore,
    SessionStore,
    StoreUnavailableError,
    default_cache_dir,
    sign_in_key,
)

__all__ = ["OidcSignIn", "SignInStore", "renewal_lock", "store_key"]

log = logging.getLogger("kfp_profiles.auth.oidc")


def store_key(profile: str) -> str:
    """The key of a profile's sign-in in the session stores."""
    return sign_in_key(profile)


@dataclass(frozen=True, repr=False)
class OidcSignIn:
    """One person's sign-in: its tokens and what checking them needs."""

    #: Origin of the profile's host the sign-in was made for.
    origin: str
    client_id: str
    id_token: str
    #: Epoch seconds: the ID token's ``exp``, and its ``iat``.
    expires_at: float
    issued_at: float
    refresh_token: str | None = None
    #: The discovery document, endpoints rewritten to where this machine reaches them.
    document: Mapping[str, Any] = field(default_factory=dict)
    jwks: Mapping[str, Any] = field(default_factory=dict)

    def expired(self, margin: float, now: float | None = None) -> bool:
        """Within ``margin`` s of its end; the margin is at most half the token's life."""
        margin = min(margin, max(0.0, (self.expires_at - self.issued_at) / 2))
        return (time.time() if now is None else now) >= self.expires_at - margin

    def belongs_to(self, origin: str, client_id: str) -> bool:
        return self.origin.lower() == origin.lower() and self.client_id == client_id

    def renewed(self, **changes: Any) -> OidcSignIn:
        return replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(
            {
                "origin": self.origin,
                "client_id": self.client_id,
                "id_token": self.id_token,
                "expires_at": self.expires_at,
                "issued_at": self.issued_at,
                "refresh_token": self.refresh_token,
                "document": dict(self.document),
                "jwks": dict(self.jwks),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> OidcSignIn | None:
        """The sign-in in ``text``, or None when it is not one."""
        try:
            data = json.loads(text)
            refresh = data.get("refresh_token")
            return cls(
                origin=str(data["origin"]),
                client_id=str(data["client_id"]),
                id_token=str(data["id_token"]),
                expires_at=float(data["expires_at"]),
                issued_at=float(data["issued_at"]),
                refresh_token=str(refresh) if refresh else None,
                document=dict(data.get("document") or {}),
                jwks=dict(data.get("jwks") or {}),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def __repr__(self) -> str:
        held = "yes" if self.refresh_token else "no"
        return (
            f"OidcSignIn(origin={self.origin!r}, client_id={self.client_id!r}, "
            f"id_token=***, refresh_token={held}, expires_at={self.expires_at!r})"
        )


class SignInStore:
    """The sign-in of one profile, in the first session store that works."""

    def __init__(self, profile: str, stores: tuple[SessionStore, ...] | None = None) -> None:
        self.profile = profile
        self.key = store_key(profile)
        self.stores = stores if stores is not None else (KeyringSessionStore(), FileSessionStore())
        #: The store that took the last save (for `login`'s report).
        self.last_store: str | None = None

    def load(self) -> OidcSignIn | None:
        for store in self.stores:
            try:
                text = store.load(self.key)
            except StoreUnavailableError as exc:
                log.debug("Session store %s unavailable: %s", store.name, exc)
                continue
            sign_in = OidcSignIn.from_json(text) if text is not None else None
            if sign_in is not None:
                return sign_in
            if text is not None:
                log.warning("Ignoring an unreadable sign-in of profile %s.", self.profile)
        return None

    def save(self, sign_in: OidcSignIn) -> str:
        """Keep ``sign_in``; the store's name. Copies in other stores are deleted."""
        reasons = []
        for index, store in enumerate(self.stores):
            try:
                store.save(self.key, sign_in.to_json())
            except StoreUnavailableError as exc:
                reasons.append(f"{store.name}: {exc}")
                continue
            for other in self.stores[:index] + self.stores[index + 1 :]:
                with contextlib.suppress(StoreUnavailableError):
                    other.delete(self.key)
            self.last_store = store.name
            return store.name
        raise SessionCacheError(
            profile=self.profile,
            reason="; ".join(reasons) or "no store",
            folder=default_cache_dir(),
        )

    def delete(self) -> bool:
        deleted = False
        for store in self.stores:
            try:
                deleted = store.delete(self.key) or deleted
            except StoreUnavailableError as exc:
                log.debug("Could not delete from session store %s: %s", store.name, exc)
        return deleted


@contextlib.contextmanager
def renewal_lock(profile: str, timeout: float) -> Iterator[None]:
    """Hold the cross-process lock of a profile's sign-in (a file lock in the cache folder).

    A cache folder that cannot be made leaves each process to renew on its own.
    """
    folder = default_cache_dir()
    try:
        ensure_folder(folder, tighten=True)
    except OSError as exc:
        log.debug("No renewal lock for %s: %s", profile, exc)
        yield
        return
    with locked(folder / f"oidc-{quote(profile, safe='')}", timeout=timeout):
        yield
