"""What profiles there are and which one is in use: ``list_profiles()`` and ``current()``.

The Python side of ``kfp-profiles list`` and ``kfp-profiles current``: typed answers
read from the files alone (no keyring, no network), so a script or a notebook sees
what the command line shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .constants import PROFILE_ENV
from .errors import ConfigError
from .files import ProfilesConfig, load_config


@dataclass(frozen=True)
class ProfileSummary:
    """One profile as ``list`` shows it; ``problem`` says why a broken one is broken."""

    name: str
    file: Path
    kind: str | None
    host: str | None
    namespace: str | None
    description: str | None
    is_default: bool
    problem: str | None = None
    #: ``problem`` in the command line's words (flags and verbs, not arguments).
    cli_problem: str | None = None


def list_profiles(config: ProfilesConfig | None = None) -> list[ProfileSummary]:
    """Every profile of the files in use, in file order; a broken one never hides the rest."""
    from .models import validate_profile

    config = config if config is not None else load_config()
    summaries = []
    for name, entry in config.profiles.items():
        is_default = name == config.default
        try:
            profile = validate_profile(name, entry.data, str(entry.file))
        except ConfigError as exc:
            summaries.append(
                ProfileSummary(
                    name,
                    entry.file,
                    entry.kind,
                    None,
                    None,
                    None,
                    is_default,
                    problem=str(exc),
                    cli_problem=exc.cli_message,
                )
            )
            continue
        summaries.append(
            ProfileSummary(
                name,
                entry.file,
                profile.kind,
                profile.host or profile.default_host(),
                profile.namespace,
                profile.description,
                is_default,
            )
        )
    return summaries


@dataclass(frozen=True)
class Selection:
    """The profile ``get_client()`` would use now, and why."""

    name: str
    #: "argument", "KFP_PROFILE" or "default".
    selected_by: str
    #: The file whose ``default`` chose it (when ``selected_by`` is "default").
    default_file: Path | None
    #: The file that defines the profile; None when no file in use defines it.
    file: Path | None
    kind: str | None

    @property
    def exists(self) -> bool:
        return self.file is not None


def current(name: str | None = None, config: ProfilesConfig | None = None) -> Selection:
    """Which profile ``get_client(name)`` picks: the argument, else ``KFP_PROFILE``, else the
    file's ``default``; NoProfileSelectedError when none is selected."""
    from .resolution import select_name

    config = config if config is not None else load_config()
    chosen, why = select_name(config, name)
    entry = config.profiles.get(chosen)
    selected_by = (
        "argument" if why == "arg" else PROFILE_ENV if why.startswith("env:") else "default"
    )
    return Selection(
        name=chosen,
        selected_by=selected_by,
        default_file=config.default_file if selected_by == "default" else None,
        file=entry.file if entry is not None else None,
        kind=entry.kind if entry is not None else None,
    )
