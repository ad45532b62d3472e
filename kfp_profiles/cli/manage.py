"""Commands that manage the profiles file: init, list, remove, rename, use.

None of them imports ``kfp`` or ``requests``; ``list`` does not even import
pydantic-settings (it validates every profile with the plain models).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from ..constants import PROFILE_ENV
from ._common import (
    PROG,
    profile_argument,
    profiles_config,
    profiles_files,
    warn,
)

if TYPE_CHECKING:
    from ..files import ProfilesConfig
    from ..listing import ProfileSummary
    from ..profile_ops import ProfileRemoved, ProfileRenamed
    from ..status import ProfileStatus

# --- init ----------------------------------------------------------------------------------


@click.command()
@click.option("--force", is_flag=True, help="Replace an existing file (kept as FILE.bak).")
def init(force: bool) -> None:
    """Write a commented starter profiles file (0600, in a 0700 folder)."""
    from ..editing import init_file

    path = profiles_files()[0]
    backup = init_file(path, force=force)
    if backup is not None:
        click.echo(f"Kept the old file as {backup}.")
    click.echo(f"Wrote {path}: add a profile with `{PROG} add NAME --kind KIND`.")


# --- list ----------------------------------------------------------------------------------


@click.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schemas/list.schema.json).")
@click.option(
    "--status",
    "with_status",
    is_flag=True,
    help="Also read the keyring and caches: stored secret, session and until when.",
)
def list_profiles(as_json: bool, with_status: bool) -> None:
    """List every profile: kind, host, namespace, description; * marks the default.

    A broken profile is listed with the reason, never hiding the others.
    """
    from ..listing import list_profiles as summaries_of

    config = profiles_config()
    summaries = summaries_of(config)
    statuses = _statuses(config) if with_status else None
    if as_json:
        _print_json(config, summaries, statuses)
        return
    if not summaries:
        where = config.describe_files()
        state = "yet" if config.existing_files else "file yet"
        click.echo(f"No profiles {state} in {where}: add one with `{PROG} add NAME --kind KIND`.")
        return
    several_files = len(config.existing_files) > 1
    described = any(summary.description for summary in summaries)
    header = ["", "NAME", "KIND", "HOST", "NAMESPACE"]
    header += (["FILE"] if several_files else []) + (["SECRET", "SESSION"] if statuses else [])
    header += ["DESCRIPTION"] if described else []
    rows = [
        [
            "*" if summary.is_default else "",
            summary.name,
            summary.kind or "-",
            summary.host or "-",
            summary.namespace or "-",
            *([str(summary.file)] if several_files else []),
            *(_status_cells(statuses[summary.name]) if statuses else []),
            *([summary.description or ""] if described else []),
        ]
        for summary in summaries
        if summary.problem is None
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines += [
        f"{('*' if s.is_default else '').ljust(widths[0])}  {s.name.ljust(widths[1])}  "
        f"broken: {s.cli_problem}"
        for s in summaries
        if s.problem is not None
    ]
    click.echo("\n".join(lines))  # one write: hundreds of echo calls cost more than the table
    unread = {status.problem for status in (statuses or {}).values() if status.problem}
    for problem in sorted(unread):
        warn(f"the keyring could not be read ({problem}): SECRET shows 'unknown'.")
    if config.default and config.default not in config.profiles:
        warn(f"the default '{config.default}' (in {config.default_file}) is not a profile.")
    selected = os.environ.get(PROFILE_ENV)
    if selected and selected not in config.profiles:
        warn(
            f"KFP_PROFILE={selected} names no profile, so get_client() will fail; unset it "
            f"or use one of {', '.join(config.profiles)}."
        )
    elif selected:
        click.echo(f"KFP_PROFILE={selected} selects '{selected}' in this shell.")


def _statuses(config: ProfilesConfig) -> dict[str, ProfileStatus]:
    from ..status import profile_statuses

    return {status.name: status for status in profile_statuses(config)}


def _status_cells(status: ProfileStatus) -> list[str]:
    """SECRET and SESSION of one profile, for people: what is stored, live until when."""
    import time

    if status.secret is None:
        secret = "-"
    elif status.secret_stored is None:
        secret = "unknown"
    else:
        secret = status.secret if status.secret_stored else f"no {status.secret}"
    if status.session_state is None:
        return [secret, "-"]
    if status.session_state == "none":
        return [secret, f"no {status.session}"]
    if status.expires_at is None:
        return [secret, f"{status.session} live, no expiry"]
    now = time.time()
    at = _clock_time(status.expires_at, now)
    if status.session_state == "live":
        session = f"{status.session} live until {at} ({_left(status.expires_at - now)})"
    else:
        session = f"{status.session} expired {at}"
    return [secret, session + (", renews itself" if status.renews else "")]


def _clock_time(epoch: float, now: float) -> str:
    """``14:05 UTC`` today, else ``2026-12-06 14:05 UTC``."""
    from datetime import datetime, timezone

    when = datetime.fromtimestamp(epoch, tz=timezone.utc)
    today = datetime.fromtimestamp(now, tz=timezone.utc).date()
    return when.strftime("%H:%M UTC" if when.date() == today else "%Y-%m-%d %H:%M UTC")


def _left(seconds: float) -> str:
    minutes = int(seconds) // 60
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _print_json(
    config: ProfilesConfig,
    summaries: list[ProfileSummary],
    statuses: dict[str, ProfileStatus] | None = None,
) -> None:
    import json

    document = {
        "files": [str(path) for path in config.files],
        "default": config.default,
        "profiles": [
            {
                "name": s.name,
                "kind": s.kind,
                "host": s.host,
                "namespace": s.namespace,
                "description": s.description,
                "file": str(s.file),
                "default": s.is_default,
                "problem": s.cli_problem,
                **(_status_json(statuses.get(s.name)) if statuses is not None else {}),
            }
            for s in summaries
        ],
    }
    click.echo(json.dumps(document, indent=2))


def _status_json(status: ProfileStatus | None) -> dict[str, object]:
    """``list --status --json``'s ``status`` object; null for a broken profile."""
    from datetime import datetime, timezone

    if status is None:
        return {"status": None}
    expires = status.expires_at
    return {
        "status": {
            "secret": status.secret,
            "secret_stored": status.secret_stored,
            "session": status.session,
            "session_state": status.session_state,
            "expires_at": (
                datetime.fromtimestamp(expires, tz=timezone.utc).isoformat() if expires else None
            ),
            "renews": status.renews,
            "problem": status.problem,
        }
    }


# --- remove, rename, use -------------------------------------------------------------------


@click.command()
@profile_argument()
def remove(name: str) -> None:
    """Remove profile NAME, its keyring secrets and its cached session, token or sign-in."""
    _remove_or_rename(name, None)


@click.command()
@profile_argument()
@click.argument("new_name", metavar="NEW")
def rename(name: str, new_name: str) -> None:
    """Rename profile NAME to NEW; its keyring secrets and cached session, token or sign-in
    move too."""
    _remove_or_rename(name, new_name)


def _remove_or_rename(name: str, new_name: str | None) -> None:
    """Remove (``new_name`` None) or rename a profile, and say what became of what it keeps
    outside its file (the library carries it: :mod:`kfp_profiles.profile_ops`)."""
    from ..profile_ops import remove_profile, rename_profile

    config = profiles_config()
    done: ProfileRemoved | ProfileRenamed
    if new_name is None:
        done = remove_profile(name, config=config)
        click.echo(f"Removed profile '{name}' from {done.path}.")
        for path in done.default_removed_from:
            click.echo(f'It was the default: removed `default = "{name}"` from {path}.')
    else:
        done = rename_profile(name, new_name, config=config)
        click.echo(f"Renamed profile '{name}' to '{new_name}' in {done.path}.")
        for path in done.default_renamed_in:
            click.echo(f"It is the default: `default` in {path} now names '{new_name}'.")
    secret = "token" if done.kind == "platform-token" else "password"
    for part in ("password", "client_secret", "session", "cached_token", "sign_in"):
        carried = getattr(done, part)
        if carried is not None:
            click.echo(_CARRIED[part][carried].format(secret=secret))
    if done.left_behind is not None:
        warn(str(done.left_behind))
    under = profiles_config().profiles.get(name)  # another file may define it too
    if under is not None:
        click.echo(f"'{name}' is still defined in {under.file}, which now shows through.")


_CARRIED = {
    "password": {
        "moved": "Moved its {secret} in the keyring.",
        "deleted": "Deleted its {secret} from the keyring.",
    },
    "client_secret": {
        "moved": "Moved its client secret in the keyring.",
        "deleted": "Deleted its client secret from the keyring.",
    },
    "session": {"moved": "Moved its cached session.", "deleted": "Deleted its cached session."},
    "cached_token": {"moved": "Moved its cached token.", "deleted": "Deleted its cached token."},
    "sign_in": {"moved": "Moved its sign-in.", "deleted": "Deleted its sign-in."},
}


@click.command()
@profile_argument(required=False)
@click.option("--unset", is_flag=True, help="Clear the default instead.")
def use(name: str | None, unset: bool) -> None:
    """Make NAME the default profile (`default` in the first profiles file)."""
    from ..editing import clear_default, set_default_profile

    if unset == (name is not None):
        raise click.UsageError("pass a profile NAME, or --unset to clear the default")
    if name is None:
        cleared = clear_default(config=profiles_config())
        click.echo(f"Cleared the default (in {cleared})." if cleared else "No default was set.")
        return
    path = set_default_profile(name, config=profiles_config())
    click.echo(f"Default profile is now '{name}' (in {path}).")
    selected = os.environ.get(PROFILE_ENV)
    if selected and selected != name:
        warn(f"KFP_PROFILE={selected} is set in this shell and wins over the default.")


COMMANDS = [init, list_profiles, remove, rename, use]

__all__ = ["COMMANDS"]
