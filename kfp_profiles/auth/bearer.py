"""platform-token: a bearer token from one source, sent as ``Authorization: Bearer``, renewed.

One source wins, in this order: the ``token=`` argument, ``KFP_TOKEN``, the
token file or command (``KFP_TOKEN_PATH`` and ``KFP_TOKEN_COMMAND`` outrank the
file's, which sets at most one), then the OS keyring. Only a command renews:
it runs again ``refresh_margin`` seconds before the token's expiry (not before
half its life) and once after a 401, under one lock shared by every client of
the profile in this process, and its tokens are cached for other processes
(:class:`~kfp_profiles.auth.bearer_token.TokenCache`). A token file is re-read
when it changes; a token given as it is (argument, variable, keyring) that
expired is refused here, before the gateway refuses it, with its source named.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import (
    BearerRefusedError,
    KeyringUnavailableError,
    StoredTokenElsewhereError,
    TokenExpiredError,
    TokenFileError,
    TokenFileTrustError,
    TokenMissingError,
    TokenPathError,
    TokenTextError,
)
from ..models import PlatformToken
from .bearer_token import BearerToken, TokenCache, check_token_text, command_fingerprint
from .bearer_token import jwt_expiry as _expiry
from .refusal import Refusal, refusal_cause
from .token import read_token
from .token_command import CommandSpec, run_token_command

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile

__all__ = ["BearerCredentials", "CommandSource", "expired_error", "forget_cached_token"]

Clock = Callable[[], float]


class TokenSource(Protocol):
    """Where a profile's token comes from, and whether it can bring a new one."""

    #: ``arg``, ``env:KFP_TOKEN``, ``keyring``, ``token_path`` or ``token_command``.
    source: str
    renewable: bool

    def fields(self) -> dict[str, Any]:
        """What an error needs to name this source (profile, source, path or command)."""

    def current(self) -> BearerToken:
        """A token fit to send (renewed, re-read or checked first)."""

    def renew(self, refused: str) -> BearerToken:
        """A token other than ``refused`` (the header the server refused)."""

    def held(self) -> BearerToken | None:
        """The token in memory, if any; no I/O."""


class StaticSource:
    """A token given as it is: the argument, KFP_TOKEN, or the keyring. It cannot renew."""

    renewable = False

    def __init__(self, profile: str, text: str, source: str, clock: Clock = time.time) -> None:
        self.source = source
        self._profile = profile
        self._clock = clock
        problem = check_token_text(text.strip())
        if problem is not None:
            raise TokenTextError(problem=problem, **self.fields())
        self._token = BearerToken(text.strip(), _expiry(text.strip()), clock())

    def fields(self) -> dict[str, Any]:
        return {"profile": self._profile, "source": self.source}

    def current(self) -> BearerToken:
        _refuse_if_expired(self._token, self.fields(), self._clock())
        return self._token

    def renew(self, refused: str) -> BearerToken:
        return self.current()

    def held(self) -> BearerToken | None:
        return self._token


class FileSource:
    """A token file, re-read when it changes (the kubelet, or a sidecar, rotates it)."""

    renewable = False
    source = "token_path"

    def __init__(self, profile: str, path: str, named_by: str, clock: Clock = time.time) -> None:
        self._profile = profile
        self._path = path
        self._named_by = named_by
        self._clock = clock
        self._lock = threading.Lock()
        self._token: BearerToken | None = None
        self._seen: tuple[int, int, int, int] | None = None
        self.current()  # fail at get_client, not at the first call

    def fields(self) -> dict[str, Any]:
        return {"profile": self._profile, "source": self.source, "path": self._path}

    def current(self) -> BearerToken:
        with self._lock:
            try:
                info = os.stat(self._path)
                seen: tuple[int, int, int, int] | None = (
                    info.st_dev,
                    info.st_ino,
                    info.st_mtime_ns,
                    info.st_size,
                )
            except OSError:
                seen = None  # read_token names what is wrong
            if self._token is None or seen is None or seen != self._seen:
                self._token = self._read()
                self._seen = seen
            token = self._token
        _refuse_if_expired(token, self.fields(), self._clock())
        return token

    def renew(self, refused: str) -> BearerToken:
        return self.current()

    def held(self) -> BearerToken | None:
        return self._token

    def _read(self) -> BearerToken:
        failure: TokenFileError | None = None
        try:
            text = read_token(self._profile, self._path)
        except TokenFileTrustError as exc:
            failure = exc
        except TokenFileError as exc:
            failure = TokenPathError(
                profile=self._profile,
                path=self._path,
                problem=exc.fields["problem"],
                source=self._named_by,
            )
        if failure is not None:
            raise failure
        problem = check_token_text(text)
        if problem is not None:
            raise TokenTextError(problem=problem, **self.fields())
        return BearerToken(text, _expiry(text), self._clock())


class CommandSource:
    """A token command, run when no live token is held or cached; one per profile and process."""

    renewable = True
    source = "token_command"

    def __init__(
        self,
        spec: CommandSpec,
        margin: float,
        cache: TokenCache | None,
        origin: str,
        clock: Clock = time.time,
    ) -> None:
        self.spec = spec
        self._margin = margin
        self._cache = cache
        self._origin = origin
        self._fingerprint = command_fingerprint(spec.argv)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: BearerToken | None = None
        #: Times this source ran the command.
        self.runs = 0
        #: The store that took the last token it ran for (``keyring``, ``file``), or None.
        self.cached_in: str | None = None

    def fields(self) -> dict[str, Any]:
        return self.spec.fields() | {"source": self.source}

    def held(self) -> BearerToken | None:
        return self._token

    def current(self) -> BearerToken:
        with self._lock:
            token = self._token
            if token is not None and not token.due(self._clock(), self._margin):
                return token
            cached = self._cached()
            if cached is not None and not cached.due(self._clock(), self._margin):
                self._token = cached
                return cached
            return self._run()

    def renew(self, refused: str) -> BearerToken:
        with self._lock:
            token = self._token
            now = self._clock()
            if token is not None and token.header != refused and not token.due(now, self._margin):
                return token  # another thread renewed it meanwhile
            self._token = None
            cached = self._cached()
            if (
                cached is not None
                and cached.header != refused
                and not cached.due(now, self._margin)
            ):
                self._token = cached  # another process renewed it meanwhile
                return cached
            if self._cache is not None and cached is not None:
                self._cache.delete(self.spec.profile)  # the refused one goes
            return self._run()

    def cached(self) -> BearerToken | None:
        """The token another run left in the cache, if any (``doctor``); nothing is run."""
        return self._cached()

    def run_now(self) -> BearerToken:
        """Run the command now, whatever is held or cached (``kfp-profiles login``)."""
        with self._lock:
            return self._run()

    def _cached(self) -> BearerToken | None:
        if self._cache is None:
            return None
        return self._cache.load(self.spec.profile, self._origin, self._fingerprint)

    def _run(self) -> BearerToken:
        token = run_token_command(self.spec, self._clock())
        self.runs += 1
        self._token = token
        if self._cache is not None:
            self.cached_in = self._cache.save(
                self.spec.profile, token, self._origin, self._fingerprint
            )
        return token


#: Command sources by (profile, origin, command, timeout): every client of a profile in
#: this process shares one, so threads and clients share one run.
_SHARED: dict[tuple[str, str, tuple[str, ...], float, float, bool], CommandSource] = {}
_SHARED_LOCK = threading.Lock()


def _shared_command(resolved: ResolvedProfile, profile: PlatformToken) -> CommandSource:
    from ..transport import origin

    assert profile.token_command is not None
    argv = tuple(profile.token_command)
    home = origin(resolved.host)
    key = (resolved.name, home, argv, profile.timeout, profile.refresh_margin, resolved.at_home)
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None:
            named_by = resolved.sources.get("token_command", "file")
            spec = CommandSpec(resolved.name, argv, profile.timeout, named_by)
            # A cached token belongs to the file's origin: an override elsewhere neither
            # reads nor writes it.
            cache = TokenCache() if resolved.at_home else None
            found = _SHARED[key] = CommandSource(spec, profile.refresh_margin, cache, home)
        return found


def forget_cached_token(profile: str) -> bool:
    """Forget a profile's cached token, in this process and in the cache (``logout``)."""
    with _SHARED_LOCK:
        for key in [key for key in _SHARED if key[0] == profile]:
            del _SHARED[key]
    return TokenCache().delete(profile)


def source_for(resolved: ResolvedProfile) -> TokenSource:
    """The source that wins for a resolved platform-token profile."""
    profile = resolved.profile
    assert isinstance(profile, PlatformToken), profile.kind
    given = resolved.secrets.get("token")
    if given is not None:
        return StaticSource(resolved.name, given.get_secret_value(), resolved.sources["token"])
    if profile.token_path is not None:
        named_by = resolved.sources.get("token_path", "file")
        return FileSource(resolved.name, profile.token_path, named_by)
    if profile.token_command is not None:
        return _shared_command(resolved, profile)
    return _keyring_source(resolved)


def _keyring_source(resolved: ResolvedProfile) -> StaticSource:
    from ..secrets import backend_name, get_token, stores_nothing

    if not resolved.at_home:
        from ..transport import origin

        assert resolved.file_host is not None  # at_home is True without one
        via = resolved.sources.get("host", "arg")
        raise StoredTokenElsewhereError(
            profile=resolved.name,
            home=origin(resolved.file_host),
            host=resolved.host,
            via=via[4:] if via.startswith("env:") else "the host= argument",
        )
    detail = ""
    try:
        stored = get_token(resolved.name)
    except KeyringUnavailableError as exc:
        stored, detail = None, f" (the OS keyring cannot be used: {exc.fields.get('reason')})"
    if stored is None:
        if not detail and stores_nothing():
            detail = f" (the keyring backend {backend_name()} stores nothing)"
        raise TokenMissingError(profile=resolved.name, detail=detail)
    return StaticSource(resolved.name, stored.get_secret_value(), "keyring")


def _refuse_if_expired(token: BearerToken, fields: Mapping[str, Any], now: float) -> None:
    if token.expires_at is not None and token.expired(now):
        raise expired_error(token, fields, now)


def expired_error(token: BearerToken, fields: Mapping[str, Any], now: float) -> TokenExpiredError:
    """The error of a token that expired, naming its source (``fields``) and when."""
    expires_at = token.expires_at if token.expires_at is not None else now
    when = datetime.fromtimestamp(expires_at, tz=timezone.utc)
    return TokenExpiredError(
        when=when.strftime("%Y-%m-%d %H:%M:%S UTC"), ago=_duration(now - expires_at), **fields
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


class BearerCredentials:
    """The renewal hook of platform-token (:class:`~kfp_profiles.auth.Credentials`)."""

    def __init__(self, source: TokenSource, margin: float = 60.0, clock: Clock = time.time) -> None:
        self._source = source
        self._margin = margin
        self._clock = clock
        self.renewable = source.renewable

    def __repr__(self) -> str:
        return f"BearerCredentials(source={self._source.source!r}, token={self._source.held()!r})"

    @classmethod
    def for_profile(cls, resolved: ResolvedProfile, *, prompt: bool = False) -> BearerCredentials:
        profile = resolved.profile
        assert isinstance(profile, PlatformToken), profile.kind
        return cls(source_for(resolved), profile.refresh_margin)

    @property
    def source(self) -> TokenSource:
        return self._source

    @property
    def expired(self) -> bool:
        token = self._source.held()
        return token is None or token.due(self._clock(), self._margin)

    def before_request(self, headers: MutableMapping[str, str]) -> None:
        headers["Authorization"] = self._source.current().header

    def refresh(self, refused: Mapping[str, str]) -> None:
        self._source.renew(refused.get("Authorization", ""))

    def token(self) -> BearerToken:
        """The token the next request would carry (for ``env --with-token``, ``check``)."""
        return self._source.current()

    def refused_error(self, refusal: Refusal, sent: Mapping[str, str]) -> BearerRefusedError:
        """The error for a refusal of a request that carried ``sent``: the cause, the source."""
        text = sent.get("Authorization", "").removeprefix("Bearer ")
        cause = refusal_cause(refusal, text, self._clock())
        why = refusal.why
        if refusal.renewed:
            why = f"{why}, again after the command gave a new token"
        return BearerRefusedError(
            url=refusal.url, why=why, **cause.fields(), **self._source.fields()
        )
