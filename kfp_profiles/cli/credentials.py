"""Commands for a profile's secrets and session: secret set|delete, login, logout.

A Dex password is read from a hidden prompt (typed twice), a bearer token
(``--token``) or an OIDC client secret (``--client-secret``) from a hidden
prompt typed once; when stdin is not a terminal, from stdin. None is ever
echoed, logged or written to the file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import NoPasswordKindError, NoPipedPasswordError, SecretKindError, SecretTextError
from ._common import (
    HelpWhenBareGroup,
    person_at_terminal,
    profile_argument,
    profiles_config,
    read_new_password,
    read_piped_secret,
)

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from ..client import LoginResult
    from ..resolution import ResolvedProfile


@dataclass(frozen=True)
class _Secret:
    """One secret `secret` keeps: its words, its flag, the kind that has it."""

    word: str
    noun: str
    flag: str
    kind: str


_SECRETS = {
    "password": _Secret("password", "password", "", "platform-dex"),
    "token": _Secret("token", "bearer token", " --token", "platform-token"),
    "client_secret": _Secret("client secret", "client secret", " --client-secret", "platform-oidc"),
}


def _which(name: str, kind: str | None, token: bool, client_secret: bool, *, strict: bool) -> str:
    """The secret a `secret` command acts on: its flag's, else the kind's own.

    A flag for another kind is refused (a token and a password share one keyring entry);
    ``strict`` (set) also refuses a kind that keeps no secret, which delete lets pass.
    """
    if token and client_secret:
        raise click.UsageError("pass --token or --client-secret, not both")
    which = "token" if token else "client_secret" if client_secret else None
    if which is None:
        if kind == "platform-token":
            return "token"
        if kind == "platform-oidc":
            raise SecretKindError(profile=name, kind=kind, secret="password")
        if strict and kind != "platform-dex":
            raise NoPasswordKindError(profile=name, kind=kind)
        return "password"
    if kind is not None and kind != _SECRETS[which].kind:
        raise SecretKindError(profile=name, kind=kind, secret=_SECRETS[which].noun)
    return which


def _secret_flags(command: F) -> F:
    command = click.option(
        "--client-secret",
        "client_secret",
        is_flag=True,
        help="The OIDC client's secret of a platform-oidc profile.",
    )(command)
    return click.option(
        "--token",
        is_flag=True,
        help="The bearer token of a platform-token profile (the default for that kind).",
    )(command)


@click.group(cls=HelpWhenBareGroup)
def secret() -> None:
    """Store or delete a profile's secret in the OS keyring.

    A platform-dex profile's Dex password, a platform-token profile's bearer token
    (--token, the default for that kind), or a platform-oidc profile's client secret
    (--client-secret).
    """


@secret.command(name="set")
@profile_argument()
@_secret_flags
def secret_set(name: str, token: bool, client_secret: bool) -> None:
    """Store the secret of profile NAME (hidden prompt, or stdin when piped); never echoed."""
    from pydantic import SecretStr

    from .. import secrets
    from ..resolution import resolve

    resolved = resolve(name, config=profiles_config())
    which = _which(name, resolved.kind, token, client_secret, strict=True)
    value = SecretStr(_password(resolved) if which == "password" else _typed(resolved, which))
    {
        "password": secrets.set_password,
        "token": secrets.set_token,
        "client_secret": secrets.set_client_secret,
    }[which](name, value)
    click.echo(
        f"Stored the {_SECRETS[which].word} of '{name}' in the keyring ({secrets.backend_name()})."
    )


def _password(resolved: ResolvedProfile) -> str:
    """A Dex password: typed twice at a terminal, else piped."""
    from ..models import PlatformDex

    assert isinstance(resolved.profile, PlatformDex)
    if person_at_terminal():
        typed = read_new_password(
            f"Dex password of {resolved.profile.username} for profile '{resolved.name}'",
            allow_skip=False,
        )
        assert typed is not None
        return typed
    password = read_piped_secret()
    if not password:
        raise NoPipedPasswordError(profile=resolved.name)
    return password


def _typed(resolved: ResolvedProfile, which: str) -> str:
    """A token or client secret: pasted once at a hidden prompt, else piped; checked."""
    from ..auth.bearer_token import check_token_text

    secret = _SECRETS[which]
    if person_at_terminal():
        label = f"The {secret.word} of profile '{resolved.name}' (hidden)"
        text: str = click.prompt(label, hide_input=True, default="", show_default=False)
    else:
        text = read_piped_secret()
    if which == "token":
        text = text.strip()
        problem = check_token_text(text)
        namespace = resolved.profile.namespace or "NAMESPACE"
        example = f"kubectl -n {namespace} create token default-editor"
    else:
        problem = None if text else "it is empty"
        example = "printenv CLIENT_SECRET"
    if problem is not None:
        raise SecretTextError(
            secret=secret.word,
            profile=resolved.name,
            problem=problem,
            example=example,
            flag=secret.flag.strip(),
        )
    return text


@secret.command(name="delete")
@profile_argument()
@_secret_flags
def secret_delete(name: str, token: bool, client_secret: bool) -> None:
    """Delete the stored secret of profile NAME (nothing stored is fine).

    Works for a profile no longer in the file too (after `remove`).
    """
    from .. import secrets

    entry = profiles_config().profiles.get(name)
    which = _which(name, entry.kind if entry else None, token, client_secret, strict=False)
    deleted = {
        "password": secrets.delete_password,
        "token": secrets.delete_token,
        "client_secret": secrets.delete_client_secret,
    }[which](name)
    word = _SECRETS[which].word
    if deleted:
        click.echo(f"Deleted the {word} of '{name}' from the keyring.")
    else:
        click.echo(f"No {word} of '{name}' was stored in the keyring.")


@click.command()
@profile_argument(required=False)
def login(name: str | None) -> None:
    """Log in (platform-dex), sign in (platform-oidc) or get a token now (platform-token).

    A platform-token profile's token_command runs now and its token is cached; the
    token itself is never printed.
    """
    from .. import client

    result = client.login(name, prompt=person_at_terminal(), config=profiles_config())
    if result.kind == "platform-oidc":
        _signed_in(result)
        return
    if result.kind == "platform-token":
        _got_token(result)
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
        click.echo(f"The session is cached and lasts {_left(result.expires_at)}.")


def _left(expires_at: float) -> str:
    left = max(0, int(expires_at - time.time()))
    hours, rest = divmod(left // 60, 60)
    return f"{hours} h {rest} min"


def _signed_in(result: LoginResult) -> None:
    """What `login` of a platform-oidc profile says: who, until when, kept where."""
    kept = f"kept in the {result.stored_in}" if result.stored_in else "not kept (this run only)"
    click.echo(
        f"Signed in as {result.identity} for profile '{result.profile}'; the ID token lasts "
        f"{_left(result.expires_at or 0)} and renews itself; the sign-in is {kept}."
    )


def _got_token(result: LoginResult) -> None:
    """What `login` of a platform-token profile says: the source, whose, how long; no token."""
    whose = result.identity or "not a JWT"
    if result.expires_at is None:
        life = "no expiry: used until refused"
    else:
        life = f"expires in {_left(result.expires_at)}"
    kept = f"; cached in the {result.stored_in}" if result.stored_in else ""
    click.echo(
        f"Got a token for profile '{result.profile}' from {result.source}: {whose}, {life}{kept}."
    )


@click.command()
@profile_argument(required=False)
def logout(name: str | None) -> None:
    """Forget the cached session, sign-in or command token of profile NAME.

    A token or client secret stored with `secret set` stays: `secret delete` deletes it.
    """
    from .. import client
    from ..resolution import select_name

    config = profiles_config()
    chosen, _ = select_name(config, name)
    entry = config.profiles.get(chosen)
    done, missing = _FORGOTTEN.get(entry.kind if entry else None, _FORGOTTEN[None])
    if client.logout(chosen, config=config):
        click.echo(f"Deleted the {done} of '{chosen}'.")
    else:
        click.echo(f"No {missing} of '{chosen}' was cached.")


#: What `logout` forgets, by kind: (when there was one, when there was none).
_FORGOTTEN = {
    "platform-token": ("cached token", "token"),
    "platform-oidc": ("sign-in", "sign-in"),
    None: ("cached session", "session"),
}


COMMANDS = [secret, login, logout]
