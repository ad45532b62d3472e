"""``kfp-profiles add``: a new profile from flags and prompts, both read off the field table.

Every row of kfp_profiles/fields.py that lives in the file is an option (its flag,
metavar, type and help); a required row a flag did not give is asked for at a
terminal. A secret row is never an option: it is offered to the keyring instead.
"""

from __future__ import annotations

import os
from typing import Any

import click

from ..errors import (
    CaBundleOptionError,
    KfpProfilesError,
    KindOptionMissingError,
    OptionNotOfKindError,
)
from ..fields import FIELDS, FieldSpec, fields_of
from ..models import MODELS
from ._common import (
    PROG,
    person_at_terminal,
    profile_argument,
    profiles_config,
    read_new_password,
    warn,
)

_CLICK_TYPES: dict[type, Any] = {int: click.INT, float: click.FLOAT}


def _help(spec: FieldSpec) -> str:
    text = spec.help
    if text.endswith(".") and not text.endswith("..."):
        text = text[:-1]
    if spec.kinds is not None:
        text += f" [{', '.join(spec.kinds)}]"
    return text


def _option(spec: FieldSpec) -> click.Option:
    if spec.type is bool:
        flag = spec.flag.removeprefix("--")
        return click.Option([f"--{flag}/--no-{flag}", spec.name], default=None, help=_help(spec))
    return click.Option(
        [spec.flag, spec.name],
        type=_CLICK_TYPES.get(spec.type, click.STRING),
        default=None,
        help=_help(spec),
        metavar=spec.metavar,
    )


def field_options() -> dict[str, click.Option]:
    """One option per field the file holds, of any kind."""
    return {name: _option(spec) for name, spec in FIELDS.items() if spec.in_file}


FIELD_OPTIONS = field_options()


def _collect_values(
    name: str, kind: str | None, given: dict[str, Any], ask: bool
) -> dict[str, Any]:
    """The new profile's table: kind first, then fields in the table's order."""
    if kind is None:
        if not ask:
            raise KindOptionMissingError(profile=name, kinds=", ".join(MODELS))
        kind = click.prompt("Kind", type=click.Choice(list(MODELS)))
    specs = [spec for spec in fields_of(kind) if spec.in_file]
    for field in given:
        if field not in {spec.name for spec in specs}:
            valid = ", ".join(spec.flag for spec in specs)
            raise OptionNotOfKindError(option=FIELDS[field].flag, kind=kind, valid=valid)
    values: dict[str, Any] = {"kind": kind}
    for spec in specs:
        if spec.name in given:
            values[spec.name] = _checked(spec, given[spec.name])
        elif spec.required and ask:
            hint = spec.help.rstrip(".")
            values[spec.name] = click.prompt(
                f"{spec.name} ({hint})", type=FIELD_OPTIONS[spec.name].type
            )
    return values


def _checked(spec: FieldSpec, value: Any) -> Any:
    """A value as the file should keep it: a path typed here is absolute (the file would
    read a relative one from its own folder), and a CA bundle must hold certificates.
    A list (a command, scopes) is typed as one shell-quoted string."""
    if spec.type is list and isinstance(value, str):
        return spec.parse_text(value)
    if not spec.path or not isinstance(value, str):
        return value
    from ..paths import ca_bundle_problem, expand_path

    path = os.path.abspath(expand_path(value, None))
    problem = ca_bundle_problem(path) if spec.name == "ca_bundle" else None
    if problem is not None:
        raise CaBundleOptionError(option=spec.flag, path=path, problem=problem)
    return path


@click.command()
@profile_argument()
@click.option("--kind", type=click.Choice(list(MODELS)), help="Kind of profile.")
@click.option("--replace", is_flag=True, help="Overwrite a profile of that name where it is.")
@click.option("--use", "make_default", is_flag=True, help="Also make it the default profile.")
@click.option(
    "--no-input", is_flag=True, help="Never prompt, even at a terminal (fail on what is missing)."
)
def add(
    name: str, kind: str | None, replace: bool, make_default: bool, no_input: bool, **fields: Any
) -> None:
    """Add profile NAME (on a terminal, asks for what is missing).

    Every field has an option; the kinds an option applies to are in brackets.
    Secrets never go in the file: a platform-dex password can be stored in
    the OS keyring right away at a terminal, or later with `kfp-profiles
    secret set NAME`, which stores a platform-token token too.
    """
    from ..editing import add_profile, validate_name

    validate_name(name)
    ask = person_at_terminal() and not no_input
    given = {field: value for field, value in fields.items() if value is not None}
    values = _collect_values(name, kind, given, ask)
    result = add_profile(
        name, values, replace=replace, make_default=make_default, config=profiles_config()
    )
    if result.created_file:
        click.echo(f"Created {result.path} (mode 0600).")
    verb = "Replaced" if result.replaced else "Added"
    click.echo(f"{verb} profile '{name}' ({values['kind']}) in {result.path}.")
    if result.default_in is not None:
        click.echo(f"'{name}' is the default profile (`default` in {result.default_in}).")
    if any(spec.name == "password" for spec in fields_of(values["kind"]) if spec.secret):
        _offer_password(name, str(values["username"]), ask)
    next_step = _next_step(name, values)
    if next_step:
        click.echo(next_step)


def _next_step(name: str, values: dict[str, Any]) -> str | None:
    """What a token-kind profile needs before its first call, in one line."""
    kind = values["kind"]
    if kind == "platform-token" and not (values.get("token_command") or values.get("token_path")):
        return (
            f"Store its token with `{PROG} secret set {name} --token` (or set KFP_TOKEN), "
            f"or give it a --token-command."
        )
    if kind == "platform-oidc":
        return f"Sign in with `{PROG} login {name}`; the sign-in then renews itself."
    return None


add.params.extend(FIELD_OPTIONS.values())


def _offer_password(name: str, username: str, ask: bool) -> None:
    later = f"`{PROG} secret set {name}` (or set KFP_PASSWORD)"
    if not ask:
        click.echo(f"Store its password with {later}.")
        return
    password = read_new_password(
        f"Dex password of {username} for profile '{name}', kept in the OS keyring", allow_skip=True
    )
    if password is None:
        click.echo(f"No password stored; store it later with {later}.")
        return
    from pydantic import SecretStr

    from .. import secrets

    try:
        secrets.set_password(name, SecretStr(password))
    except KfpProfilesError as exc:  # the profile is added; only the keyring failed
        warn(exc.cli_message)
        return
    click.echo(f"Stored the password of '{name}' in the keyring ({secrets.backend_name()}).")


COMMANDS = [add]

__all__ = ["COMMANDS", "FIELD_OPTIONS"]
