"""Commands that print a profile: show (values, sources), current, env (exports), schema."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..errors import KfpProfilesError
from ..fields import MASK, FieldSpec, fields_of
from ._common import PROG, profile_argument, profiles_config, warn

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile

# --- show ----------------------------------------------------------------------------------


def _keyring_row(name: str, spec: FieldSpec) -> tuple[str, str, str]:
    """The row of a secret that no argument or variable gave: stored in the keyring or not."""
    from .. import secrets

    read = secrets.get_client_secret if spec.name == "client_secret" else secrets.get_password
    try:
        stored = read(name)
    except KfpProfilesError as exc:
        return (spec.name, "(unknown)", f"keyring unavailable: {exc.fields.get('reason', exc)}")
    return (spec.name, MASK if stored else "(not stored)", "keyring")


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

    resolved = resolve(name, config=profiles_config())
    rows = resolved.describe()
    if sources or as_json:
        rows += [
            _keyring_row(resolved.name, spec)
            for spec in fields_of(resolved.kind)
            if spec.secret and spec.name not in resolved.secrets
        ]
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


# --- current -------------------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schemas/current.schema.json).")
def current(as_json: bool) -> None:
    """Print the profile get_client() uses now, and why (KFP_PROFILE or the file's default).

    Exit status 2 when none is selected, as get_client() would fail.
    """
    from ..listing import current as selection_of

    selection = selection_of(config=profiles_config())
    if as_json:
        import json

        document = {
            "name": selection.name,
            "selected_by": selection.selected_by,
            "default_file": str(selection.default_file) if selection.default_file else None,
            "file": str(selection.file) if selection.file else None,
            "kind": selection.kind,
        }
        click.echo(json.dumps(document, indent=2))
        return
    why = (
        f"`default` in {selection.default_file}"
        if selection.selected_by == "default"
        else selection.selected_by
    )
    click.echo(f"{selection.name}  (selected by {why})")
    if selection.file is None:
        warn(f"no profile named '{selection.name}' exists, so get_client() will fail.")
    else:
        click.echo(f"{selection.kind}, defined in {selection.file}")


# --- env, schema ---------------------------------------------------------------------------


@click.command()
@profile_argument()
@click.option(
    "--with-token",
    is_flag=True,
    help=(
        "Also export a current bearer token as KFP_EXISTING_TOKEN, for the kfp CLI "
        "(platform-token, platform-oidc, platform-in-cluster). A secret: keep the output "
        "out of logs."
    ),
)
def env(name: str, with_token: bool) -> None:
    """Print shell exports for profile NAME (for scripts and the `kfp` CLI).

    Use: eval "$(kfp-profiles env NAME)". Without --with-token nothing secret is
    printed and the keyring is not read.

    With --with-token a current bearer token is exported as KFP_EXISTING_TOKEN,
    which the kfp CLI sends for --existing-token (never as KFP_TOKEN, which would
    override every platform-token profile in that shell): the token the next
    request would carry for platform-token (a command's runs first if due), the ID
    token for platform-oidc (renewed first if due; sign in first with `kfp-profiles
    login NAME`), the projected token file's contents for platform-in-cluster.
    The token is a secret and short-lived: keep the output out of logs and CI
    transcripts, and run the command again for a new one when it expires.
    """
    from shlex import quote

    from ..constants import (
        PROFILE_ENV,
        SDK_ENDPOINT_ENV,
        SDK_EXISTING_TOKEN_ENV,
        SDK_TOKEN_PATH_ENV,
    )
    from ..models import (
        PlatformDex,
        PlatformInCluster,
        PlatformOidc,
        PlatformToken,
        StandalonePortForward,
    )
    from ..resolution import resolve

    resolved = resolve(name, config=profiles_config())
    lines = [f"export {PROFILE_ENV}={quote(resolved.name)}"]
    profile = resolved.profile
    endpoint: str | None = resolved.host
    if isinstance(profile, PlatformDex):
        endpoint = None
        lines.append(
            f"# {resolved.name} logs in through Dex: the kfp CLI cannot; Python code "
            f"calling get_client() picks it up from {PROFILE_ENV}."
        )
    elif resolved.forward_is_managed and isinstance(profile, StandalonePortForward):
        if profile.local_port == 0:
            endpoint = None
            lines.append(f"# local_port = 0: the endpoint is known once `{PROG} port-forward` runs")
        else:
            lines.append(f"# the endpoint answers while `{PROG} port-forward {resolved.name}` runs")
    elif isinstance(profile, (PlatformToken, PlatformOidc)) and not with_token:
        lines.append(
            f"# the kfp CLI needs a bearer token: `{PROG} env {resolved.name} --with-token` "
            f"exports one as {SDK_EXISTING_TOKEN_ENV}"
        )
    if endpoint:
        lines.append(f"export {SDK_ENDPOINT_ENV}={quote(endpoint)}")
    if isinstance(profile, PlatformInCluster):
        lines.append(f"export {SDK_TOKEN_PATH_ENV}={quote(profile.token_path)}")
    if with_token:
        token, expires_at = _bearer(resolved)
        lines.append(f"# {SDK_EXISTING_TOKEN_ENV} is a secret: {_life(expires_at)}")
        lines.append(f"export {SDK_EXISTING_TOKEN_ENV}={quote(token)}")
    click.echo("\n".join(lines))


def _bearer(resolved: ResolvedProfile) -> tuple[str, float | None]:
    """The bearer token a request of ``resolved`` would carry now, and its expiry."""
    from ..auth.bearer_token import jwt_expiry
    from ..errors import NoBearerKindError
    from ..models import PlatformInCluster, PlatformOidc, PlatformToken

    profile = resolved.profile
    if isinstance(profile, PlatformToken):
        from ..auth.bearer import BearerCredentials

        token = BearerCredentials.for_profile(resolved).token()
        return token.text, token.expires_at
    if isinstance(profile, PlatformOidc):
        from ..auth.oidc import OidcCredentials

        credentials = OidcCredentials.for_profile(resolved)
        text = credentials.id_token()
        return text, credentials.current.expires_at if credentials.current else None
    if isinstance(profile, PlatformInCluster):
        from ..auth.token import read_token

        text = read_token(resolved.name, profile.token_path)
        return text, jwt_expiry(text)
    why = _NO_BEARER.get(resolved.kind, "")
    raise NoBearerKindError(profile=resolved.name, kind=resolved.kind, why=why)


_NO_BEARER = {
    "platform-dex": " (it logs in with Dex session cookies, which the kfp CLI cannot send)",
    "standalone-in-cluster": " (standalone KFP takes no login)",
    "standalone-port-forward": " (standalone KFP takes no login)",
}


def _life(expires_at: float | None) -> str:
    """How long the exported token lasts, in a comment's words (never the token)."""
    import time
    from datetime import datetime, timezone

    if expires_at is None:
        return "keep it out of logs; it has no known expiry (used until refused)"
    when = datetime.fromtimestamp(expires_at, tz=timezone.utc).strftime("%H:%M:%S UTC")
    minutes = max(0, int(expires_at - time.time())) // 60
    return f"keep it out of logs; it expires at {when} (in {minutes} min): run this again then"


@click.command()
def schema() -> None:
    """Print the JSON Schema of the profiles file (for editors' `#:schema` line)."""
    import json

    from ..schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


COMMANDS = [show, current, env, schema]

__all__ = ["COMMANDS"]
