"""A platform-dex profile's session: from memory, else the cache, else one login.

:class:`DexAuth` is the kind's :class:`~kfp_profiles.auth.Credentials`: it puts
the ``Cookie`` header on each request and, when the server says the session is
gone, renews it. Logins and
renewals happen under one lock, so threads that find the session gone together
share a single login. A cached session is only used for the profile's own host
(origin) and username, and not within a minute of its expiry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING

from pydantic import SecretStr

from ..errors import SessionCacheError
from ..models import PlatformDex
from ..session import CachedSession, SessionCache
from .dex_flow import DexLoginSettings, Door, LoginOutcome, dex_login, door_from_text
from .http import run_flow
from .pages import format_cookie_header

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile

__all__ = ["DexAuth", "dex_auth_for", "settings_for"]

log = logging.getLogger("kfp_profiles.auth.dex")


class DexAuth:
    """The Dex session of one profile, shared by every thread of a client."""

    #: An expired session is renewed by logging in again.
    renewable = True

    def __init__(
        self,
        settings: DexLoginSettings,
        password_provider: Callable[[], SecretStr],
        cache: SessionCache | None = None,
        *,
        clock: Callable[[], float] = time.time,
        on_login: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self._password_provider = password_provider
        #: Called after each login that succeeded (keeps a password typed for it).
        self._on_login = on_login
        self._cache = cache
        self._clock = clock
        self._lock = threading.Lock()
        self._session: CachedSession | None = None
        self._door: Door | None = None
        #: HTTP requests the most recent login sent (0 before any login).
        self.last_login_requests = 0
        #: Logins this object performed.
        self.logins = 0

    def __repr__(self) -> str:
        return (
            f"DexAuth(profile={self.settings.profile!r}, host={self.settings.origin!r}, "
            f"username={self.settings.username!r}, session={self._session!r})"
        )

    @property
    def door(self) -> Door | None:
        """The front door the last login (or the cached session) went through."""
        return self._door

    @classmethod
    def for_profile(cls, resolved: ResolvedProfile, *, prompt: bool = False) -> DexAuth:
        """The profile's session, with the shared session cache; the password is read
        only when a login happens."""
        from ..secrets import keep_typed_password, password_for

        typed: list[SecretStr] = []  # a password a person typed, kept once it logged in

        def password() -> SecretStr:
            return password_for(resolved, prompt=prompt, typed=typed)

        def keep_what_was_typed() -> None:
            while typed:
                keep_typed_password(resolved.name, typed.pop())

        # A session belongs to the origin the file names: an override elsewhere neither
        # reads nor overwrites it.
        cache = SessionCache() if resolved.at_home else None
        return cls(settings_for(resolved), password, cache, on_login=keep_what_was_typed)

    # --- the renewal hook (kfp_profiles.auth.Credentials) ---------------------------------

    @property
    def expired(self) -> bool:
        """True when no session is held or it ends within the margin."""
        session = self._session
        return session is None or session.expired(self._clock())

    def before_request(self, headers: MutableMapping[str, str]) -> None:
        headers["Cookie"] = self.cookie_header()

    def refresh(self, refused: Mapping[str, str]) -> None:
        self.renew(refused.get("Cookie"))

    # --- the session itself -------------------------------------------------------------

    def current_session(self) -> CachedSession | None:
        """The session held in memory, if any; no I/O."""
        return self._session

    def cookie_header(self) -> str:
        """The ``Cookie`` header of a live session; logs in when none is at hand."""
        with self._lock:
            session = self._live_session() or self._log_in()
            return _header(session)

    def renew(self, stale: str | None) -> str:
        """A session other than ``stale``, the header the server just refused.

        A thread that arrives after another one renewed gets that new session
        with no login; otherwise the session is dropped and one login is done.
        """
        stale = stale or ""
        with self._lock:
            current = self._session
            renewed_meanwhile = current is not None and _header(current) != stale
            if current is not None and renewed_meanwhile and not current.expired(self._clock()):
                return _header(current)
            self._session = None
            # Another process may have logged in since (the cache is shared).
            cached = self._cached_session()
            if cached is not None and _header(cached) != stale:
                self._session = cached
                return _header(cached)
            return _header(self._log_in())

    def login(self) -> str:
        """Log in now, whatever is cached; returns the new ``Cookie`` header."""
        with self._lock:
            self._session = None
            return _header(self._log_in())

    def logout(self) -> None:
        """Forget the session, in memory and in the cache."""
        with self._lock:
            self._session = None
            if self._cache is not None:
                self._cache.delete(self.settings.profile)

    # --- under the lock -----------------------------------------------------------------

    def _live_session(self) -> CachedSession | None:
        now = self._clock()
        if self._session is not None and not self._session.expired(now):
            return self._session
        self._session = self._cached_session()
        return self._session

    def _cached_session(self) -> CachedSession | None:
        if self._cache is None:
            return None
        cached = self._cache.load(self.settings.profile)
        if cached is None:
            return None
        if not cached.belongs_to(self.settings.origin, self.settings.username):
            log.debug("Cached session of %s is for another host or user.", self.settings.profile)
            return None
        # Even an expired session tells which door the host has.
        self._door = self._door or door_from_text(cached.door)
        if cached.expired(self._clock()):
            return None
        return cached

    def _log_in(self) -> CachedSession:
        # The provider (keyring, prompt) is asked only once the host shows its password form.
        flow = dex_login(self.settings, self._password_provider, self._door, clock=self._clock)
        outcome: LoginOutcome = run_flow(flow, self.settings)
        if self._on_login is not None:
            self._on_login()
        self.logins += 1
        self.last_login_requests = outcome.requests
        self._door = outcome.door
        session = CachedSession(
            host=self.settings.origin,
            username=self.settings.username,
            cookies=outcome.cookies,
            expires_at=outcome.expires_at,
            door=outcome.door,
        )
        self._session = session
        log.debug(
            "Logged in profile %s through %s in %d requests.",
            self.settings.profile,
            outcome.door,
            outcome.requests,
        )
        if self._cache is not None and outcome.login_needed:
            try:
                self._cache.save(self.settings.profile, session)
            except SessionCacheError as exc:
                log.warning("%s", exc)
        return session


def _header(session: CachedSession) -> str:
    """The ``Cookie`` header that sends a session's cookies."""
    return format_cookie_header(session.cookies)


def settings_for(resolved: ResolvedProfile) -> DexLoginSettings:
    """The login settings of a resolved ``platform-dex`` profile."""
    profile = resolved.profile
    assert isinstance(profile, PlatformDex), profile.kind
    return DexLoginSettings(
        profile=resolved.name,
        api_url=resolved.host,
        file_host=resolved.file_host,
        password_source=resolved.sources.get("password", "keyring"),
        **profile.values_for(DexLoginSettings),
    )


def dex_auth_for(resolved: ResolvedProfile, *, prompt: bool = False) -> DexAuth:
    """A :class:`DexAuth` for ``resolved`` (see :meth:`DexAuth.for_profile`)."""
    return DexAuth.for_profile(resolved, prompt=prompt)
