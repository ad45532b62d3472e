"""What each profile keeps outside its file, for ``list --status``: a stored secret, a live session.

Read-only and offline: the keyring and the session cache are read, nothing is
sent and nothing is renewed. A session counts only where it was made for the
profile's own origin (and user, client or command), as the client would use it.
Plain ``list`` never comes here, so it stays keyring-free.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .errors import ConfigError, KeyringUnavailableError

if TYPE_CHECKING:
    from .files import ProfilesConfig
    from .models import ProfileBase

__all__ = ["ProfileStatus", "profile_statuses"]

SessionState = Literal["live", "expired", "none"]


@dataclass(frozen=True)
class ProfileStatus:
    """A profile's secret in the keyring and its session, as this machine holds them now."""

    name: str
    #: The secret the kind keeps in the keyring ("password", "token", "client secret");
    #: None when it keeps none (or takes its token from a command or a file).
    secret: str | None = None
    #: Whether that secret is stored; None when there is none to store or the keyring
    #: cannot be read (then ``problem`` says why).
    secret_stored: bool | None = None
    #: What keeps it signed in ("session": Dex cookies, "token": a stored or command
    #: token, "sign-in": OIDC tokens); None when the kind keeps nothing.
    session: str | None = None
    session_state: SessionState | None = None
    #: Epoch seconds at which the session ends; None when it has no known end.
    expires_at: float | None = None
    #: Whether an expired session comes back without a person: a stored password, a token
    #: command, a refresh token.
    renews: bool = False
    #: Why part of it could not be read (the keyring's short reason).
    problem: str | None = None


def profile_statuses(
    config: ProfilesConfig | None = None, names: Iterable[str] | None = None
) -> list[ProfileStatus]:
    """The status of every valid profile (or of ``names``), in file order; broken ones skipped."""
    from .files import load_config
    from .models import validate_profile

    config = config if config is not None else load_config()
    wanted = set(names) if names is not None else None
    statuses = []
    for name, entry in config.profiles.items():
        if wanted is not None and name not in wanted:
            continue
        try:
            profile = validate_profile(name, entry.data, str(entry.file))
        except ConfigError:
            continue
        statuses.append(_status_of(name, profile, time.time()))
    return statuses


def _status_of(name: str, profile: ProfileBase, now: float) -> ProfileStatus:
    from .models import PlatformDex, PlatformOidc, PlatformToken
    from .transport import origin

    home = origin(profile.host or profile.default_host())
    if isinstance(profile, PlatformDex):
        return _dex(name, profile.username, home, now)
    if isinstance(profile, PlatformToken):
        if profile.token_command is not None:
            return _command_token(name, profile.token_command, home, now)
        if profile.token_path is not None:
            return ProfileStatus(name)  # the file is the source; nothing is kept
        return _stored_token(name, now)
    if isinstance(profile, PlatformOidc):
        return _sign_in(name, profile.client_id, home, now)
    return ProfileStatus(name)


class _Secret:
    """One keyring item of a profile, read once: whether it is there, or why it cannot be read."""

    def __init__(self, label: str, service: str, key: str) -> None:
        from .secrets import keyring_get

        self.label = label
        self.value: str | None = None
        self.problem: str | None = None
        try:
            self.value = keyring_get(service, key)
        except KeyringUnavailableError as exc:
            self.problem = str(exc.fields.get("reason", "the keyring cannot be read"))


def _kept(
    name: str,
    secret: _Secret | None,
    session: str,
    held: bool,
    expires_at: float | None,
    renews: bool,
    now: float,
) -> ProfileStatus:
    """The status of a profile whose ``session`` is ``held`` (or not) until ``expires_at``."""
    state: SessionState = "none"
    if held:
        state = "expired" if expires_at is not None and now >= expires_at else "live"
    return ProfileStatus(
        name,
        secret=secret.label if secret else None,
        secret_stored=None if secret is None or secret.problem else secret.value is not None,
        session=session,
        session_state=state,
        expires_at=expires_at if held else None,
        renews=renews,
        problem=secret.problem if secret else None,
    )


def _dex(name: str, username: str, home: str, now: float) -> ProfileStatus:
    from .secrets import PASSWORD_SERVICE
    from .session import SessionCache

    password = _Secret("password", PASSWORD_SERVICE, name)
    cached = SessionCache().load(name)
    ours = cached if cached is not None and cached.belongs_to(home, username) else None
    expires_at = ours.expires_at if ours else None
    return _kept(name, password, "session", bool(ours), expires_at, bool(password.value), now)


def _command_token(name: str, command: list[str], home: str, now: float) -> ProfileStatus:
    from .auth.bearer_token import TokenCache, command_fingerprint

    token = TokenCache().load(name, home, command_fingerprint(command))
    expires_at = token.expires_at if token else None
    return _kept(name, None, "token", bool(token), expires_at, True, now)


def _stored_token(name: str, now: float) -> ProfileStatus:
    from .auth.bearer_token import jwt_claims
    from .secrets import PASSWORD_SERVICE

    token = _Secret("token", PASSWORD_SERVICE, name)
    if token.problem:  # the stored token is the session: unknown as well
        return ProfileStatus(name, secret="token", problem=token.problem)
    expiry = (jwt_claims(token.value.strip()) or {}).get("exp") if token.value else None
    expires_at = float(expiry) if isinstance(expiry, (int, float)) else None
    return _kept(name, token, "token", bool(token.value), expires_at, False, now)


def _sign_in(name: str, client_id: str, home: str, now: float) -> ProfileStatus:
    from .auth.oidc_store import SignInStore
    from .secrets import PASSWORD_SERVICE, client_secret_key

    secret = _Secret("client secret", PASSWORD_SERVICE, client_secret_key(name))
    sign_in = SignInStore(name).load()
    ours = sign_in if sign_in is not None and sign_in.belongs_to(home, client_id) else None
    expires_at = ours.expires_at if ours else None
    renews = bool(ours and ours.refresh_token)
    return _kept(name, secret, "sign-in", bool(ours), expires_at, renews, now)
