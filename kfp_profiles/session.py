"""Cached Dex sessions, with their real expiry, so a new process needs no login.

Two stores behind one interface, asked in order:

- the OS keyring: service ``kfp-profiles-session``, username = the profile name
  (through :mod:`kfp_profiles.secrets`, the one module that imports ``keyring``);
- a file ``$XDG_CACHE_HOME/kfp-profiles/session-<profile>.json`` (0600 in a 0700
  folder, written atomically by :mod:`kfp_profiles.atomicfile`), used where no
  keyring works: none installed, locked, failing, one that stores nothing, or a
  value too large for it (Windows' Credential Manager holds about 2.5 KB; split
  oauth2-proxy cookies are larger).

The value is JSON: ``host``, ``username``, ``cookies``, ``expires_at``, ``door``.
A session is only handed back by :meth:`SessionCache.load`; whether it may be
used is :meth:`CachedSession.usable_for`: it :meth:`~CachedSession.belongs_to`
the host and username, and is not :meth:`~CachedSession.expired`.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from . import trust
from .atomicfile import FILE_MODE, ensure_folder, write_atomic
from .errors import KeyringUnavailableError, SessionCacheError, SessionCacheTrustError

__all__ = [
    "EXPIRY_MARGIN_SECONDS",
    "CachedSession",
    "FileSessionStore",
    "KeyringSessionStore",
    "SessionCache",
    "SessionStore",
    "StoreUnavailableError",
    "default_cache_dir",
]

log = logging.getLogger("kfp_profiles.session")

#: A session this close to its end is treated as gone: a call made with it
#: could expire on the way.
EXPIRY_MARGIN_SECONDS = 60.0

#: Windows' Credential Manager limit, in bytes of UTF-16 (CRED_MAX_CREDENTIAL_BLOB_SIZE).
_WINDOWS_CREDENTIAL_BYTES = 2560


@dataclass(frozen=True, repr=False)
class CachedSession:
    """A logged-in session: whose it is, its cookies, when it ends, which door made it."""

    #: Origin (``scheme://host:port``) of the profile's host.
    host: str
    username: str
    #: (name, value) of each session cookie.
    cookies: tuple[tuple[str, str], ...]
    #: Epoch seconds; None when the door gave no expiry.
    expires_at: float | None
    #: The front door the login went through, a hint for the next login.
    door: str | None = None

    def expired(self, now: float | None = None, margin: float = EXPIRY_MARGIN_SECONDS) -> bool:
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) >= self.expires_at - margin

    def belongs_to(self, host: str, username: str) -> bool:
        """Made for this host (origin, any case) and this user, expired or not."""
        return self.host.lower() == host.lower() and self.username == username

    def usable_for(self, host: str, username: str, now: float | None = None) -> bool:
        """Belongs to this host and user, and is not about to expire."""
        return self.belongs_to(host, username) and not self.expired(now)

    def to_json(self) -> str:
        return json.dumps(
            {
                "host": self.host,
                "username": self.username,
                "cookies": [[name, value] for name, value in self.cookies],
                "expires_at": self.expires_at,
                "door": self.door,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> CachedSession | None:
        """The session in ``text``, or None when it is not one (corrupt or foreign)."""
        try:
            data = json.loads(text)
            cookies = tuple((str(name), str(value)) for name, value in data["cookies"])
            expires_at = data.get("expires_at")
            door = data.get("door")
            return cls(
                host=str(data["host"]),
                username=str(data["username"]),
                cookies=cookies,
                expires_at=float(expires_at) if expires_at is not None else None,
                door=str(door) if door is not None else None,
            )
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self) -> str:
        names = [f"{name}=***" for name, _ in self.cookies]
        return (
            f"CachedSession(host={self.host!r}, username={self.username!r}, "
            f"cookies={names}, expires_at={self.expires_at!r}, door={self.door!r})"
        )


def command_token_key(profile: str) -> str:
    """The key of a platform-token profile's cached command token in the stores."""
    return f"{profile}#token"


def sign_in_key(profile: str) -> str:
    """The key of a platform-oidc profile's sign-in in the stores."""
    return f"{profile}#oidc"


class StoreUnavailableError(Exception):
    """This store cannot hold the value now; the cache tries the next one."""

    def __init__(self, reason: str, *, fix: str | None = None) -> None:
        super().__init__(reason)
        #: How the user makes this store usable, when it is theirs to fix (a folder's mode).
        self.fix = fix


class SessionStore(Protocol):
    """Where serialized sessions live, one value per profile name."""

    name: str

    def load(self, profile: str) -> str | None: ...

    def save(self, profile: str, value: str) -> None: ...

    def delete(self, profile: str) -> bool:
        """True when a value was there and is gone; nothing stored is fine (False)."""
        ...


class KeyringSessionStore:
    """The OS keyring, service ``kfp-profiles-session``."""

    name = "keyring"

    def load(self, profile: str) -> str | None:
        from .secrets import SESSION_SERVICE, keyring_get

        try:
            return keyring_get(SESSION_SERVICE, profile)
        except KeyringUnavailableError as exc:
            raise StoreUnavailableError(str(exc.fields.get("reason", exc))) from None

    def save(self, profile: str, value: str) -> None:
        from .secrets import SESSION_SERVICE, backend_name, keyring_set

        backend = backend_name()
        too_large = (
            "WinVault" in backend and len(value.encode("utf-16-le")) > _WINDOWS_CREDENTIAL_BYTES
        )
        if too_large:
            raise StoreUnavailableError(f"the session is too large for {backend}")
        try:
            keyring_set(SESSION_SERVICE, profile, value)
        except KeyringUnavailableError as exc:
            raise StoreUnavailableError(str(exc.fields.get("reason", exc))) from None

    def delete(self, profile: str) -> bool:
        from .secrets import SESSION_SERVICE, keyring_delete, keyring_get

        try:
            # Asked first: keyring's null backend "deletes" what it never held.
            return keyring_get(SESSION_SERVICE, profile) is not None and keyring_delete(
                SESSION_SERVICE, profile
            )
        except KeyringUnavailableError as exc:
            raise StoreUnavailableError(str(exc.fields.get("reason", exc))) from None


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/kfp-profiles`` (``~/.cache/kfp-profiles`` when unset or relative)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "kfp-profiles"


#: How a cache folder gets out of the reach of others.
ELSEWHERE = "point XDG_CACHE_HOME at a folder only you can write"


class FileSessionStore:
    """One 0600 JSON file per profile in a 0700 folder, replaced atomically.

    The file and its folders must be this user's (:mod:`kfp_profiles.trust`): a
    session someone else could have written or read is not used, and none is
    written where someone else could take it.
    """

    name = "file"

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder

    @property
    def folder(self) -> Path:
        # Read at use, not construction: XDG_CACHE_HOME may change (tests, notebooks).
        return self._folder if self._folder is not None else default_cache_dir()

    def path_for(self, profile: str) -> Path:
        return self.folder / f"session-{quote(profile, safe='')}.json"

    def load(self, profile: str) -> str | None:
        path = self.path_for(profile)
        try:
            with open(path, encoding="utf-8") as handle:
                mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
                untrusted = trust.untrusted(path, chmod_to="600", elsewhere=ELSEWHERE)
                if untrusted is not None:
                    _warn_once(path, f"{untrusted.problem}, so it is not used; {untrusted.fix}")
                    return None
                if mode & 0o077:  # others could have read the cookies: do not trust them
                    _warn_once(
                        path,
                        f"has mode {mode:04o}, which lets others read it, so it is not used; "
                        f"the next login replaces it with a 0600 file",
                    )
                    return None
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreUnavailableError(f"{path}: {exc.strerror or exc}") from None

    def save(self, profile: str, value: str) -> None:
        path = self.path_for(profile)
        try:
            ensure_folder(self.folder, tighten=True)
            untrusted = trust.untrusted(self.folder, elsewhere=ELSEWHERE)
            if untrusted is not None:
                raise StoreUnavailableError(f"{self.folder} {untrusted.problem}", fix=untrusted.fix)
            # Always 0600, also over a file whose mode was loosened (load ignores that one).
            write_atomic(path, value, mode=FILE_MODE, follow_symlinks=False)
        except OSError as exc:
            raise StoreUnavailableError(f"{path}: {exc.strerror or exc}") from None

    def delete(self, profile: str) -> bool:
        path = self.path_for(profile)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreUnavailableError(f"{path}: {exc.strerror or exc}") from None
        return True


#: Cached sessions already warned about, with why: one warning each per process.
_warned: set[tuple[Path, str]] = set()


def _warn_once(path: Path, why: str) -> None:
    if (path, why) not in _warned:
        _warned.add((path, why))
        log.warning("The cached session %s %s.", path, why)


class SessionCache:
    """Sessions per profile name, in the first store that works (keyring, then file)."""

    def __init__(self, stores: Sequence[SessionStore] | None = None) -> None:
        self.stores: tuple[SessionStore, ...] = (
            tuple(stores) if stores is not None else (KeyringSessionStore(), FileSessionStore())
        )

    def load(self, profile: str) -> CachedSession | None:
        """The session cached for ``profile`` (expired or not), or None."""
        for store in self.stores:
            try:
                text = store.load(profile)
            except StoreUnavailableError as exc:
                log.debug("Session store %s unavailable: %s", store.name, exc)
                continue
            if text is None:
                continue
            session = CachedSession.from_json(text)
            if session is not None:
                return session
            log.warning("Ignoring an unreadable cached session of profile %s.", profile)
        return None

    def save(self, profile: str, session: CachedSession) -> str:
        """Store ``session``; returns the name of the store that took it."""
        value = session.to_json()
        reasons: list[str] = []
        fixes: list[str] = []
        for index, store in enumerate(self.stores):
            try:
                store.save(profile, value)
            except StoreUnavailableError as exc:
                log.debug("Session store %s unavailable: %s", store.name, exc)
                reasons.append(f"{store.name}: {exc}")
                fixes += [exc.fix] if exc.fix else []
                continue
            # A copy left in a store asked earlier would shadow this one on load,
            # and one in a later store would outlive a logout that misses it.
            self._delete_from(profile, self.stores[:index] + self.stores[index + 1 :])
            return store.name
        reason = "; ".join(reasons) or "no session store configured"
        if fixes:
            raise SessionCacheTrustError(profile=profile, reason=reason, fix="; ".join(fixes))
        raise SessionCacheError(
            profile=profile,
            reason=reason,
            folder=default_cache_dir(),
        )

    def delete(self, profile: str) -> bool:
        """Forget the session of ``profile`` in every store; True when one held it."""
        return self._delete_from(profile, self.stores)

    def rename(self, old: str, new: str) -> bool:
        """Move the session cached under ``old`` to ``new`` (a renamed profile).

        True when there was one to move; an unreadable one is only deleted.
        """
        if old == new:
            return False
        session = self.load(old)
        if session is not None:
            self.save(new, session)
        self.delete(old)
        return session is not None

    def _delete_from(self, profile: str, stores: Sequence[SessionStore]) -> bool:
        deleted = False
        for store in stores:
            try:
                deleted = store.delete(profile) or deleted
            except StoreUnavailableError as exc:
                log.debug("Could not delete from session store %s: %s", store.name, exc)
        return deleted
