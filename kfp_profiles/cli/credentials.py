"""Commands for a profile's secrets and session: secret set|delete, login, logout.

A password is read from a hidden prompt (typed twice) or, when stdin is not a
terminal, from stdin; it is never echoed, logged or written to the file.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from ..errors import NoPasswordKindError, NoPipedPasswordError
from ._common import (
    HelpWhenBareGroup,
    person_at_terminal,
    profile_argument,
    profiles_config,
    read_new_password,
    read_piped_secret,
)

if TYPE_CHECKING:
    from ..client import LoginResult


def _dex_username(name: str) -> str:
    """The username of platform-dex profile ``name``; other kinds have no password."""
    from ..models import PlatformDex
    from ..resolution import resolve

    profile = resolve(name, config=profiles_config()).profile
    if not isinstance(profile, PlatformDex):
        raise NoPasswordKindError(profile=name, kind=profile.kind)
    return profile.username


@click.group(cls=HelpWhenBareGroup)
def secret() -> None:
    """Store or delete a profile's Dex password in the OS keyring."""


@secret.command(name="set")
@profile_argument()
def secret_set(name: str) -> None:
    """Store the password of profile NAME (hidden prompt, or stdin when piped)."""
    from pydantic import SecretStr

    from .. import secrets

    username = _dex_username(name)
    if person_at_terminal():
        typed = read_new_password(
            f"Dex password of {username} for profile '{name}'", allow_skip=False
        )
        assert typed is not None
        password = typed
    else:
        password = read_piped_secret()
        if not password:
            raise NoPipedPasswordError(profile=name)
    secrets.set_password(name, SecretStr(password))
    click.echo(f"Stored the password of '{name}' in the keyring ({secrets.backend_name()}).")


@secret.command(name="delete")
@profile_argument()
def secret_delete(name: str) -> None:
    """Delete the stored password of profile NAME (nothing stored is fine)."""
    from .. import secrets

    if secrets.delete_password(name):
        click.echo(f"Deleted the password of '{name}' from the keyring.")
    else:
        click.echo(f"No password of '{name}' was stored in the keyring.")


@click.command()
@profile_argument(required=False)
def login(name: str | None) -> None:
    """Log in (platform-dex) or sign in (platform-oidc) with profile NAME now, and keep it."""
    from .. import client

    result = client.login(name, prompt=person_at_terminal(), config=profiles_config())
    if result.kind == "platform-oidc":
        _signed_in(result)
        return
    if result.door is None:
        click.echo(f"Profile '{result.profile}' ({result.kind}) needs no login.")
        return
    if result.door == "none":
        click.echo(f"{result.host} has no front door: profile '{result.profile}' needs no login.")
        return
    click.echo(
        f"Logged in to {result.host} through {result.door} for profile "
        f"'{result.profile}' ({result.requests} requests)."
    )
    if result.expires_at is not None:
        left = max(0, int(result.expires_at - time.time()))
        hours, rest = divmod(left // 60, 60)
        click.echo(f"The session is cached and lasts {hours} h {rest} min.")


def _signed_in(result: LoginResult) -> None:
    """What `login` of a platform-oidc profile says: who, until when, kept where."""
    left = max(0, int((result.expires_at or 0) - time.time()))
    hours, rest = divmod(left // 60, 60)
    kept = f"kept in the {result.stored_in}" if result.stored_in else "not kept (this run only)"
    click.echo(
        f"Signed in as {result.identity} for profile '{result.profile}'; the ID token lasts "
        f"{hours} h {rest} min and renews itself; the sign-in is {kept}."
    )


@click.command()
@profile_argument(required=False)
def logout(name: str | None) -> None:
    """Forget the cached session or sign-in of profile NAME."""
    from .. import client

    if client.logout(name, config=profiles_config()):
        click.echo(f"Deleted the cached session of '{name or 'the selected profile'}'.")
    else:
        click.echo(f"No session of '{name or 'the selected profile'}' was cached.")


COMMANDS = [secret, login, logout]
