"""What the token kinds' tests share: the stand-in kubectl's command, the emulator with an
experiment, platform-token and platform-oidc profiles, and every text an error carries."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kfp_profiles.testing import Emulator

from .helpers import DEX_NAMESPACE, DEX_USER, write_profiles

NAMESPACE = DEX_NAMESPACE
#: The public client the emulator registers for platform-oidc.
CLIENT = "kfp-profiles"
#: What `kubectl create token` runs as (tests/fakes/kubectl: there is no cluster here).
CREATE_TOKEN = ["kubectl", "-n", NAMESPACE, "create", "token", "default-editor"]


@contextlib.contextmanager
def emulator(release: str, **options: Any) -> Iterator[Emulator]:
    """A running emulator of ``release`` with one experiment, `mine`, in NAMESPACE."""
    with Emulator.for_release(release, **options) as emu:
        emu.add_experiment("mine", namespace=NAMESPACE)
        yield emu


def token_profile(path: Path, emu: Emulator, source: str = "", **extra: str) -> None:
    """A platform-token profile `t` at the emulator's gateway (its origin: /pipeline added).

    ``source`` is a TOML line, or "command" for the stand-in `kubectl create token`.
    """
    if source == "command":
        source = f"token_command = {json.dumps(CREATE_TOKEN)}"
    lines = "".join(f"{key} = {value}\n" for key, value in extra.items())
    write_profiles(
        path,
        f'[profiles.t]\nkind = "platform-token"\nhost = "{emu.url}"\n'
        f'namespace = "{NAMESPACE}"\ntimeout = 20\n{source}\n{lines}',
    )


def oidc_profile(path: Path, emu: Emulator, **fields: Any) -> None:
    """A platform-oidc profile `o` at the emulator's gateway; ``fields`` as JSON values."""
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items())
    write_profiles(
        path,
        f'[profiles.o]\nkind = "platform-oidc"\nhost = "{emu.api_url}"\n'
        f'namespace = "{NAMESPACE}"\nclient_id = "{CLIENT}"\ntimeout = 10\n{extra}',
    )


def every_kind_file(path: Path, emu: Emulator) -> None:
    """Profiles of every kind with a secret or a session at the emulator: `prod`
    (platform-dex, the default), `ci` (token command), `bot` (keyring token), `sso`
    (platform-oidc), and `pod` (standalone-in-cluster, which keeps nothing)."""
    write_profiles(
        path,
        f"""
        default = "prod"
        [profiles.prod]
        kind = "platform-dex"
        host = "{emu.api_url}"
        username = "{DEX_USER}"
        namespace = "{NAMESPACE}"
        [profiles.ci]
        kind = "platform-token"
        host = "{emu.url}"
        namespace = "{NAMESPACE}"
        token_command = {json.dumps(CREATE_TOKEN)}
        [profiles.bot]
        kind = "platform-token"
        host = "{emu.url}"
        namespace = "{NAMESPACE}"
        [profiles.sso]
        kind = "platform-oidc"
        host = "{emu.api_url}"
        namespace = "{NAMESPACE}"
        client_id = "{CLIENT}"
        timeout = 10
        [profiles.pod]
        kind = "standalone-in-cluster"
        """,
    )


def exception_texts(exc: BaseException, seen: set[int] | None = None) -> str:
    """Every text an exception carries: message, CLI message, args, attributes, cause, context."""
    seen = seen if seen is not None else set()
    if id(exc) in seen:
        return ""
    seen.add(id(exc))
    parts = [str(exc), repr(exc), repr(exc.args), repr(vars(exc))]
    parts.append(str(getattr(exc, "cli_message", "")))
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            parts.append(exception_texts(linked, seen))
    return "\n".join(parts)
