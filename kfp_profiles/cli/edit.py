"""``kfp-profiles set NAME FIELD=VALUE...`` and ``unset NAME FIELD...``: one field at a time."""

from __future__ import annotations

import click

from ._common import profile_argument, profiles_config


def _assignment(text: str) -> tuple[str, str]:
    field, sep, value = text.partition("=")
    if not sep or not field:
        raise click.UsageError(f"{text!r} is not FIELD=VALUE (e.g. namespace=team-a)")
    return field.strip().replace("-", "_"), value


@click.command(name="set")
@profile_argument()
@click.argument("assignments", metavar="FIELD=VALUE...", nargs=-1, required=True)
def set_fields(name: str, assignments: tuple[str, ...]) -> None:
    """Set fields of profile NAME, checked against its kind before the file is written.

    Values are text, read as the variables are (docs/fields.md): `timeout=10`,
    `verify_tls=false`, `token_command="kubectl -n team create token sa"`. A path
    typed here is stored as an absolute path.
    """
    import os

    from ..field_edits import set_fields as set_in_file
    from ..fields import FIELDS
    from ..paths import expand_path

    values = dict(_assignment(text) for text in assignments)
    for field, value in values.items():
        spec = FIELDS.get(field)
        if spec is not None and spec.path and value:
            values[field] = os.path.abspath(expand_path(value, None))
    changed = set_in_file(name, values, config=profiles_config())
    shown = ", ".join(f"{field} = {value!r}" for field, value in changed.set.items())
    click.echo(f"Profile '{name}' in {changed.path}: {shown}.")


@click.command(name="unset")
@profile_argument()
@click.argument("fields", metavar="FIELD...", nargs=-1, required=True)
def unset_fields(name: str, fields: tuple[str, ...]) -> None:
    """Remove fields of profile NAME, so their defaults apply again."""
    from ..field_edits import unset_fields as unset_in_file

    names = [field.replace("-", "_") for field in fields]
    changed = unset_in_file(name, names, config=profiles_config())
    if changed.unset:
        click.echo(f"Profile '{name}' in {changed.path}: removed {', '.join(changed.unset)}.")
    else:
        click.echo(f"Profile '{name}' in {changed.path} sets none of {', '.join(names)}.")


COMMANDS = [set_fields, unset_fields]
