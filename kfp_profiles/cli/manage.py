"""Commands that manage the profiles file: init, add, list, show, remove, rename, use, env, schema.

None of them imports ``kfp`` or ``requests``; ``list`` does not even import
pydantic-settings (it validates every profile with the plain models).
"""

from __future__ import annotations

import os
import types
import typing
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError, KfpProfilesError
from ..models import MODELS
from ._common import (
    PROG,
    person_at_terminal,
    profile_argument,
    read_new_password,
    warn,
)

if TYPE_CHECKING:
    from ..files import ProfilesConfig

# --- init ----------------------------------------------------------------------------------


@click.command()
@click.option("--force", is_flag=True, help="Replace an existing file (kept as FILE.bak).")
def init(force: bool) -> None:
    """Write a commented starter profiles file (0600, in a 0700 folder)."""
    from ..editing import init_file
    from ..files import profile_files

    path = profile_files()[0]
    backup = init_file(path, force=force)
    if backup is not None:
        click.echo(f"Kept the old file as {backup}.")
    click.echo(f"Wrote {path}: add a profile with `{PROG} add NAME --kind KIND`.")


# --- add -----------------------------------------------------------------------------------


def _base_type(annotation: Any) -> type:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        candidates = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _base_type(candidates[0])
    if typing.get_origin(annotation) is typing.Literal:
        return str
    return annotation if isinstance(annotation, type) else str


_METAVARS = {
    "host": "URL",
    "ui_host": "URL",
    "proxy": "URL",
    "ca_bundle": "PATH",
    "token_path": "PATH",
    "kubectl": "PATH",
    "timeout": "SECONDS",
    "local_port": "PORT",
    "remote_port": "PORT",
}


def _field_options() -> dict[str, click.Option]:
    """One option per profile field of any kind, from the models' field table."""
    kinds_of: dict[str, list[str]] = {}
    infos: dict[str, Any] = {}
    for kind, model in MODELS.items():
        for field, info in model.model_fields.items():
            if field == "kind":
                continue
            kinds_of.setdefault(field, []).append(kind)
            infos.setdefault(field, info)
    options: dict[str, click.Option] = {}
    for field, info in infos.items():
        flag = field.replace("_", "-")
        kinds = kinds_of[field]
        help_text = info.description or ""
        if help_text.endswith(".") and not help_text.endswith("..."):
            help_text = help_text[:-1]
        if len(kinds) < len(MODELS):
            help_text += f" [{', '.join(kinds)}]"
        base = _base_type(info.annotation)
        if base is bool:
            options[field] = click.Option(
                [f"--{flag}/--no-{flag}", field], default=None, help=help_text
            )
        else:
            click_type = {int: click.INT, float: click.FLOAT}.get(base, click.STRING)
            options[field] = click.Option(
                [f"--{flag}", field],
                type=click_type,
                default=None,
                help=help_text,
                metavar=_METAVARS.get(field),
            )
    return options


FIELD_OPTIONS = _field_options()


def _option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def _collect_values(
    name: str, kind: str | None, given: dict[str, Any], ask: bool
) -> dict[str, Any]:
    """The new profile's table: kind first, then fields in the model's order."""
    if kind is None:
        if not ask:
            raise ConfigError(
                f"Profile '{name}' needs a kind: pass --kind with one of {', '.join(MODELS)}."
            )
        kind = click.prompt("Kind", type=click.Choice(list(MODELS)))
    model = MODELS[kind]
    for field in given:
        if field not in model.model_fields:
            valid = ", ".join(_option_name(f) for f in model.model_fields if f != "kind")
            raise ConfigError(
                f"{_option_name(field)} does not apply to kind '{kind}'; its options are {valid}."
            )
    values: dict[str, Any] = {"kind": kind}
    for field, info in model.model_fields.items():
        if field == "kind":
            continue
        if field in given:
            values[field] = given[field]
        elif info.is_required() and ask:
            hint = (info.description or "").rstrip(".")
            option = FIELD_OPTIONS[field]
            values[field] = click.prompt(f"{field} ({hint})", type=option.type)
    return values


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
    The password of a platform-dex profile never goes in the file: at a
    terminal it can be stored in the OS keyring right away, or later with
    `kfp-profiles secret set NAME`.
    """
    from ..editing import add_profile, validate_name

    validate_name(name)
    ask = person_at_terminal() and not no_input
    given = {field: value for field, value in fields.items() if value is not None}
    values = _collect_values(name, kind, given, ask)
    result = add_profile(name, values, replace=replace, make_default=make_default)
    if result.created_file:
        click.echo(f"Created {result.path} (mode 0600).")
    verb = "Replaced" if result.replaced else "Added"
    click.echo(f"{verb} profile '{name}' ({values['kind']}) in {result.path}.")
    if result.default_in is not None:
        click.echo(f"'{name}' is the default profile (`default` in {result.default_in}).")
    if values["kind"] == "platform-dex":
        _offer_password(name, str(values["username"]), ask)


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
        warn(str(exc))
        return
    click.echo(f"Stored the password of '{name}' in the keyring ({secrets.backend_name()}).")


add.params.extend(FIELD_OPTIONS.values())


# --- list ----------------------------------------------------------------------------------


@click.command(name="list")
def list_profiles() -> None:
    """List every profile: kind, host, namespace; * marks the default.

    A broken profile is listed with the reason, never hiding the others.
    """
    from ..files import load_config
    from ..models import validate_profile

    config = load_config()
    config.require_files()
    if not config.profiles:
        click.echo(
            f"No profiles in {config.describe_files()} yet: add one with "
            f"`{PROG} add NAME --kind KIND`."
        )
        return
    several_files = len(config.existing_files) > 1
    header = ["", "NAME", "KIND", "HOST", "NAMESPACE"] + (["FILE"] if several_files else [])
    rows: list[list[str]] = []
    broken: list[tuple[str, str, str]] = []
    for name, entry in config.profiles.items():
        mark = "*" if name == config.default else ""
        try:
            profile = validate_profile(name, entry.data, str(entry.file))
        except ConfigError as exc:
            broken.append((mark, name, str(exc)))
            continue
        row = [
            mark,
            name,
            str(profile.kind),
            profile.host or profile.default_host(),
            profile.namespace or "-",
        ]
        rows.append(row + ([str(entry.file)] if several_files else []))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines += [
        f"{mark.ljust(widths[0])}  {name.ljust(widths[1])}  broken: {message}"
        for mark, name, message in broken
    ]
    click.echo("\n".join(lines))  # one write: hundreds of echo calls cost more than the table
    if config.default and config.default not in config.profiles:
        warn(f"the default '{config.default}' (in {config.default_file}) is not a profile.")
    selected = os.environ.get("KFP_PROFILE")
    if selected and selected not in config.profiles:
        warn(
            f"KFP_PROFILE={selected} names no profile, so get_client() will fail; unset it "
            f"or use one of {', '.join(config.profiles)}."
        )
    elif selected:
        click.echo(f"KFP_PROFILE={selected} selects '{selected}' in this shell.")


# --- show ----------------------------------------------------------------------------------


def _password_row(name: str) -> tuple[str, str, str]:
    from .. import secrets

    try:
        stored = secrets.get_password(name)
    except KfpProfilesError as exc:
        return ("password", "(unknown)", f"keyring unavailable: {exc.fields.get('reason', exc)}")
    return ("password", "********" if stored else "(not stored)", "keyring")


@click.command()
@profile_argument(required=False)
@click.option("--sources", is_flag=True, help="Show where each value comes from.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (values and sources).")
def show(name: str | None, sources: bool, as_json: bool) -> None:
    """Show profile NAME as get_client would use it (default: the selected one).

    Values are resolved: arguments, KFP_<FIELD> variables, the file, the kind's
    defaults. Secrets are masked; --sources says where each value came from.
    """
    from ..resolution import resolve

    resolved = resolve(name)
    rows = resolved.describe()
    wants_keyring = (sources or as_json) and resolved.kind == "platform-dex"
    if wants_keyring and "password" not in resolved.sources:
        rows.append(_password_row(resolved.name))
    selected_by = resolved.sources.get("profile", "arg")
    if as_json:
        document = {
            "name": resolved.name,
            "kind": resolved.kind,
            "file": str(resolved.file) if resolved.file else None,
            "selected_by": selected_by,
            "values": {field: value for field, value, _ in rows},
            "sources": {field: source for field, _, source in rows},
        }
        import json

        click.echo(json.dumps(document, indent=2))
        return
    table = [("profile", resolved.name, selected_by), *rows]
    width = max(len(field) for field, _, _ in table)
    value_width = max(len(_shown(value)) for _, value, _ in table)
    for field, value, source in table:
        line = f"{field.ljust(width)}  {_shown(value)}"
        if sources:
            line = f"{line.ljust(width + 2 + value_width)}  {source}"
        click.echo(line.rstrip())


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- remove, rename, use -------------------------------------------------------------------


def _kind_in_file(config: ProfilesConfig, name: str) -> str | None:
    entry = config.profiles.get(name)
    kind = entry.data.get("kind") if entry is not None and isinstance(entry.data, dict) else None
    return str(kind) if kind is not None else None


def _carry_what_lives_outside(name: str, kind: str | None, new_name: str | None) -> None:
    """Move to ``new_name`` (rename), or delete when it is None (remove), what the
    profile keeps outside its file: its keyring password and its cached session.

    The session always: without a keyring it lives in the 0600 file store. The
    password only where a keyring stores anything; failing there is worth a
    warning only for a kind that has a password.
    """
    from .. import secrets
    from ..session import SessionCache

    if not secrets.stores_nothing():
        try:
            if new_name is None:
                if secrets.delete_password(name):
                    click.echo("Deleted its password from the keyring.")
            else:
                password = secrets.get_password(name)
                if password is not None:
                    secrets.set_password(new_name, password)
                    secrets.delete_password(name)
                    click.echo("Moved its password in the keyring.")
        except KfpProfilesError as exc:
            if kind == "platform-dex" and new_name is None:
                warn(f"its keyring password could not be deleted: {exc}")
            elif kind == "platform-dex":
                warn(
                    f"its keyring password was not moved ({exc}); store it again with "
                    f"`{PROG} secret set {new_name}`."
                )
    cache = SessionCache()
    if new_name is None:
        if cache.delete(name):
            click.echo("Deleted its cached session.")
    elif cache.rename(name, new_name):
        click.echo("Moved its cached session.")


@click.command()
@profile_argument()
def remove(name: str) -> None:
    """Remove profile NAME, its keyring password and its cached session."""
    from ..editing import remove_profile
    from ..files import load_config

    config = load_config()
    kind = _kind_in_file(config, name)
    result = remove_profile(name, config=config)
    click.echo(f"Removed profile '{name}' from {result.path}.")
    for path in result.default_removed_from:
        click.echo(f'It was the default: removed `default = "{name}"` from {path}.')
    _carry_what_lives_outside(name, kind, None)


@click.command()
@profile_argument()
@click.argument("new_name", metavar="NEW")
def rename(name: str, new_name: str) -> None:
    """Rename profile NAME to NEW; its keyring password and cached session move too."""
    from ..editing import rename_profile
    from ..files import load_config

    config = load_config()
    kind = _kind_in_file(config, name)
    result = rename_profile(name, new_name, config=config)
    click.echo(f"Renamed profile '{name}' to '{new_name}' in {result.path}.")
    for path in result.default_renamed_in:
        click.echo(f"It is the default: `default` in {path} now names '{new_name}'.")
    _carry_what_lives_outside(name, kind, new_name)


@click.command()
@profile_argument()
def use(name: str) -> None:
    """Make NAME the default profile (`default` in the first profiles file)."""
    from ..editing import set_default_profile

    path = set_default_profile(name)
    click.echo(f"Default profile is now '{name}' (in {path}).")
    selected = os.environ.get("KFP_PROFILE")
    if selected and selected != name:
        warn(f"KFP_PROFILE={selected} is set in this shell and wins over the default.")


# --- env, schema ---------------------------------------------------------------------------


@click.command()
@profile_argument()
def env(name: str) -> None:
    """Print shell exports for profile NAME (for scripts and the `kfp` CLI); never a secret.

    Use: eval "$(kfp-profiles env NAME)".
    """
    from shlex import quote

    from ..resolution import resolve

    resolved = resolve(name)
    lines = [f"export KFP_PROFILE={quote(resolved.name)}"]
    kind = resolved.kind
    profile = resolved.profile
    endpoint: str | None = resolved.host
    if kind == "platform-dex":
        endpoint = None
        lines.append(
            f"# {resolved.name} logs in through Dex: the kfp CLI cannot; Python code "
            f"calling get_client() picks it up from KFP_PROFILE."
        )
    elif resolved.forward_is_managed:
        if getattr(profile, "local_port", 0) == 0:
            endpoint = None
            lines.append(f"# local_port = 0: the endpoint is known once `{PROG} port-forward` runs")
        else:
            lines.append(f"# the endpoint answers while `{PROG} port-forward {resolved.name}` runs")
    if endpoint:
        lines.append(f"export KF_PIPELINES_ENDPOINT={quote(endpoint)}")
    if kind == "platform-in-cluster":
        token_path = str(getattr(profile, "token_path"))  # noqa: B009
        lines.append(f"export KF_PIPELINES_SA_TOKEN_PATH={quote(token_path)}")
    click.echo("\n".join(lines))


@click.command()
def schema() -> None:
    """Print the JSON Schema of the profiles file (for editors' `#:schema` line)."""
    import json

    from ..models import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


COMMANDS = [init, add, list_profiles, show, remove, rename, use, env, schema]

__all__ = ["COMMANDS", "FIELD_OPTIONS"]
