"""Remove and rename a profile with what it keeps outside its file: keyring secrets, caches.

What a profile keeps outside its file: its keyring password (a platform-token
profile's token is the same entry), a platform-oidc client's secret
(``NAME#client_secret``), its cached Dex session, its cached command token
(``NAME#token``) and its OIDC sign-in (``NAME#oidc``).

:mod:`kfp_profiles.editing` changes the file alone (it sits below the keyring and the
session cache); the functions here make that change, then delete or move the rest,
and their results say what happened to each. A keyring that cannot be reached leaves
what it holds where it is: the result's ``left_behind`` says so, and gives the commands
that clear it once the keyring works. The command line prints these results.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict

from .editing import RemoveResult, RenameResult
from .editing import remove_profile as remove_from_file
from .editing import rename_profile as rename_in_file
from .errors import KeyringUnavailableError, SessionCacheError
from .files import ProfilesConfig, load_config

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = [
    "LeftBehind",
    "ProfileRemoved",
    "ProfileRenamed",
    "remove_profile",
    "rename_profile",
]

log = logging.getLogger("kfp_profiles")

#: What became of a password or a session: None when there was none to carry.
Carried = Literal["moved", "deleted"] | None


#: What each kind keeps, in the words of a LeftBehind, and the flag of its `secret` command.
_KEPT_BY_KIND: dict[str | None, tuple[str, str]] = {
    "platform-token": ("a token, a cached token", " --token"),
    "platform-oidc": ("a client secret, a sign-in", " --client-secret"),
    None: ("a password, a cached session", ""),
}


@dataclass(frozen=True)
class LeftBehind:
    """What a keyring that could not be reached still holds for a profile, and how to clear it."""

    #: The name it is stored under (the old name of a renamed profile).
    profile: str
    #: The new name of a renamed profile; None for a removed one.
    new_name: str | None
    #: Why the keyring could not be reached, short.
    reason: str
    #: The profile's kind, which says what it keeps and the commands' flags.
    kind: str | None = None

    @property
    def _kept(self) -> tuple[str, str]:
        return _KEPT_BY_KIND.get(self.kind, _KEPT_BY_KIND[None])

    @property
    def commands(self) -> tuple[str, ...]:
        """What to run once the keyring works, in order."""
        flag = self._kept[1]
        again: tuple[str, ...] = ()
        if self.new_name is not None:
            again = (f"kfp-profiles secret set {self.new_name}{flag}",)
            if self.kind == "platform-oidc":  # a sign-in is not moved by hand: made anew
                again += (f"kfp-profiles login {self.new_name}",)
        clear = (
            f"kfp-profiles secret delete {self.profile}{flag}",
            f"kfp-profiles logout {self.profile}",
        )
        return (*again, *clear)

    def __str__(self) -> str:
        run = ", then ".join(f"`{command}`" for command in self.commands)
        where = "was left in it" if self.new_name is None else "stays under that name"
        return (
            f"the keyring could not be reached ({self.reason}), so what it holds for "
            f"'{self.profile}', if anything ({self._kept[0]}), {where}: once it "
            f"works, run {run}."
        )


@dataclass(frozen=True)
class _Kept:
    """What became of each thing a profile keeps outside its file (None: there was none)."""

    password: Carried = None
    session: Carried = None
    left_behind: LeftBehind | None = None
    #: The kind in the file (a platform-token profile's ``password`` is its token).
    kind: str | None = None
    client_secret: Carried = None
    cached_token: Carried = None
    sign_in: Carried = None


@dataclass(frozen=True)
class ProfileRemoved(_Kept, RemoveResult):
    """The profile is gone from its file; what became of what it kept outside it."""


@dataclass(frozen=True)
class ProfileRenamed(_Kept, RenameResult):
    """The profile is renamed in its file; what became of what it kept outside it."""


def remove_profile(name: str, *, config: ProfilesConfig | None = None) -> ProfileRemoved:
    """Remove profile ``name`` from its file (every `default` naming it too), then delete its
    keyring secrets (password or token, client secret) and its cached session, command token
    and sign-in."""
    config = config if config is not None else load_config()
    kind = _kind_in_file(config, name)
    removed = remove_from_file(name, config=config)
    return ProfileRemoved(**vars(removed), **_carry(name, None, kind))


def rename_profile(old: str, new: str, *, config: ProfilesConfig | None = None) -> ProfileRenamed:
    """Rename profile ``old`` to ``new`` in its file (every `default` naming it follows), then
    move its keyring secrets and its cached session, command token and sign-in to the new
    name."""
    config = config if config is not None else load_config()
    kind = _kind_in_file(config, old)
    renamed = rename_in_file(old, new, config=config)
    return ProfileRenamed(**vars(renamed), **_carry(old, new, kind))


# --- the parts -----------------------------------------------------------------------------


def _kind_in_file(config: ProfilesConfig, name: str) -> str | None:
    entry = config.profiles.get(name)
    return entry.kind if entry is not None else None


def _keeps_secrets(kind: str | None) -> bool:
    """True for a kind with a secret field (its password, and the session a login makes)."""
    from .fields import FIELDS

    return kind is not None and any(
        spec.secret and spec.applies_to(kind) for spec in FIELDS.values()
    )


class _Carried(TypedDict):
    password: Carried
    session: Carried
    left_behind: LeftBehind | None
    kind: str | None
    client_secret: Carried
    cached_token: Carried
    sign_in: Carried


def _carry(name: str, new_name: str | None, kind: str | None) -> _Carried:
    """Delete (``new_name`` None) or move what profile ``name`` keeps outside its file."""
    from . import secrets
    from .session import command_token_key, sign_in_key

    password, failed = _carry_secret(
        name, new_name, (secrets.get_password, secrets.set_password, secrets.delete_password)
    )
    client_secret, failed_too = _carry_secret(
        name,
        new_name,
        (secrets.get_client_secret, secrets.set_client_secret, secrets.delete_client_secret),
    )
    reason = failed or failed_too
    left_behind = None
    if reason is not None and _keeps_secrets(kind):  # other kinds could have stored nothing
        left_behind = LeftBehind(profile=name, new_name=new_name, reason=reason, kind=kind)
    return {
        "password": password,
        "session": _carry_session(name, new_name),
        "left_behind": left_behind,
        "kind": kind,
        "client_secret": client_secret,
        "cached_token": _carry_cached(command_token_key, name, new_name),
        "sign_in": _carry_cached(sign_in_key, name, new_name),
    }


_Get = Callable[[str], "SecretStr | None"]
_Set = Callable[[str, "SecretStr"], None]
_Delete = Callable[[str], bool]


def _carry_secret(
    name: str, new_name: str | None, ways: tuple[_Get, _Set, _Delete]
) -> tuple[Carried, str | None]:
    """Delete (``new_name`` None) or move one keyring secret of ``name``; what became of it,
    and why the keyring could not be reached (None when it could)."""
    get, put, delete = ways
    if _stores_nothing_by_design():
        return None, None
    try:
        if new_name is None:
            return ("deleted" if delete(name) else None), None
        value = get(name)
        if value is None:
            return None, None
        put(new_name, value)
        delete(name)
        return "moved", None
    except KeyringUnavailableError as exc:
        return None, str(exc.fields["reason"])


def _stores_nothing_by_design() -> bool:
    """keyring's null backend, chosen to keep nothing: its delete "succeeds" on nothing."""
    from . import secrets

    try:
        return secrets.backend_name().startswith("keyring.backends.null.")
    except Exception:  # a backend that cannot even load cannot be reached: say so below
        return False


def _carry_session(name: str, new_name: str | None) -> Carried:
    """Delete (``new_name`` None) or move the session cached for ``name``, in every store."""
    from .session import SessionCache

    cache = SessionCache()
    if new_name is None:
        return "deleted" if cache.delete(name) else None
    try:
        return "moved" if cache.rename(name, new_name) else None
    except SessionCacheError as exc:  # no store takes it: the next call logs in again
        log.warning("%s", exc)
        return "deleted" if cache.delete(name) else None


def _carry_cached(key_of: Callable[[str], str], name: str, new_name: str | None) -> Carried:
    """Delete (``new_name`` None) or move one cached value (a command token, a sign-in) of
    ``name`` in the session stores; one no store takes is dropped (the next call gets anew)."""
    from .session import FileSessionStore, KeyringSessionStore, SessionStore, StoreUnavailableError

    stores: tuple[SessionStore, ...] = (KeyringSessionStore(), FileSessionStore())
    old = key_of(name)
    moved = False
    value: str | None = None
    for store in stores if new_name is not None else ():
        with contextlib.suppress(StoreUnavailableError):
            value = store.load(old)
        if value is not None:
            break
    if new_name is not None and value is not None:
        for store in stores:
            with contextlib.suppress(StoreUnavailableError):
                store.save(key_of(new_name), value)
                moved = True
                break
    deleted = False
    for store in stores:
        with contextlib.suppress(StoreUnavailableError):
            deleted = store.delete(old) or deleted
    if moved:
        return "moved"
    return "deleted" if deleted else None
