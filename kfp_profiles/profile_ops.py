"""Remove and rename a profile with what it keeps outside its file: its keyring password and
its cached session.

:mod:`kfp_profiles.editing` changes the file alone (it sits below the keyring and the
session cache); the functions here make that change, then delete or move the rest,
and their results say what happened to each. A keyring that cannot be reached leaves
what it holds where it is: the result's ``left_behind`` says so, and gives the commands
that clear it once the keyring works. The command line prints these results.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, TypedDict

from .editing import RemoveResult, RenameResult
from .editing import remove_profile as remove_from_file
from .editing import rename_profile as rename_in_file
from .errors import KeyringUnavailableError, SessionCacheError
from .files import ProfilesConfig, load_config

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


@dataclass(frozen=True)
class LeftBehind:
    """What a keyring that could not be reached still holds for a profile, and how to clear it."""

    #: The name it is stored under (the old name of a renamed profile).
    profile: str
    #: The new name of a renamed profile; None for a removed one.
    new_name: str | None
    #: Why the keyring could not be reached, short.
    reason: str

    @property
    def commands(self) -> tuple[str, ...]:
        """What to run once the keyring works, in order."""
        again = () if self.new_name is None else (f"kfp-profiles secret set {self.new_name}",)
        clear = (
            f"kfp-profiles secret delete {self.profile}",
            f"kfp-profiles logout {self.profile}",
        )
        return (*again, *clear)

    def __str__(self) -> str:
        run = ", then ".join(f"`{command}`" for command in self.commands)
        where = "was left in it" if self.new_name is None else "stays under that name"
        return (
            f"the keyring could not be reached ({self.reason}), so what it holds for "
            f"'{self.profile}', if anything (a password, a cached session), {where}: once it "
            f"works, run {run}."
        )


@dataclass(frozen=True)
class ProfileRemoved(RemoveResult):
    """The profile is gone from its file; what became of its password and session."""

    password: Carried = None
    session: Carried = None
    left_behind: LeftBehind | None = None


@dataclass(frozen=True)
class ProfileRenamed(RenameResult):
    """The profile is renamed in its file; what became of its password and session."""

    password: Carried = None
    session: Carried = None
    left_behind: LeftBehind | None = None


def remove_profile(name: str, *, config: ProfilesConfig | None = None) -> ProfileRemoved:
    """Remove profile ``name`` from its file (every `default` naming it too), then delete its
    keyring password and its cached session."""
    config = config if config is not None else load_config()
    kind = _kind_in_file(config, name)
    removed = remove_from_file(name, config=config)
    return ProfileRemoved(**vars(removed), **_carry(name, None, kind))


def rename_profile(old: str, new: str, *, config: ProfilesConfig | None = None) -> ProfileRenamed:
    """Rename profile ``old`` to ``new`` in its file (every `default` naming it follows), then
    move its keyring password and its cached session to the new name."""
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


def _carry(name: str, new_name: str | None, kind: str | None) -> _Carried:
    """Delete (``new_name`` None) or move what profile ``name`` keeps outside its file."""
    password, left_behind = _carry_password(name, new_name, kind)
    session = _carry_session(name, new_name)
    return {"password": password, "session": session, "left_behind": left_behind}


def _carry_password(
    name: str, new_name: str | None, kind: str | None
) -> tuple[Carried, LeftBehind | None]:
    """Delete (``new_name`` None) or move the password stored for ``name``.

    A keyring that cannot be reached is told (``LeftBehind``) for a kind that keeps
    secrets; for the others nothing could have been stored, so it is not worth a word.
    """
    from . import secrets

    if _stores_nothing_by_design():
        return None, None
    try:
        if new_name is None:
            return ("deleted" if secrets.delete_password(name) else None), None
        password = secrets.get_password(name)
        if password is None:
            return None, None
        secrets.set_password(new_name, password)
        secrets.delete_password(name)
        return "moved", None
    except KeyringUnavailableError as exc:
        if not _keeps_secrets(kind):
            return None, None
        return None, LeftBehind(profile=name, new_name=new_name, reason=str(exc.fields["reason"]))


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
