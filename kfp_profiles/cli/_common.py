"""What every command of the command line shares: output, prompts, completion.

Imports stay light here (click and the standard library): ``list``, ``show``,
``use``, ``add``, ``schema`` and ``--help`` must start fast.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

if TYPE_CHECKING:
    from ..files import ProfilesConfig

PROG = "kfp-profiles"


def file_option(context: click.Context | None = None) -> str | None:
    """The root group's ``--file``, read from click's context (None outside a command).

    Shell completion passes its context: click does not make it the current one.
    """
    context = context or click.get_current_context(silent=True)
    value = context.find_root().params.get("file") if context is not None else None
    return str(value) if value else None


def profiles_files(context: click.Context | None = None) -> tuple[Path, ...]:
    """The profiles files this command works on: ``--file``, else KFP_PROFILES_FILE, else
    the default location. Passed down explicitly: the command line never sets a
    variable of its own process, so ``run()`` called twice in one process (a test, a
    notebook) never sees the first call's ``--file``."""
    from ..files import profile_files

    return profile_files(file_option(context))


def profiles_config(context: click.Context | None = None) -> ProfilesConfig:
    """The merged profiles of :func:`profiles_files`."""
    from ..files import load_config

    return load_config(profiles_files(context))


class CliState:
    """Set by the root group's options, read by the error handler in ``main``."""

    debug = False


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_line(message: str) -> str:
    return f"{PROG}: error: {one_line(message)}"


def warn(message: str) -> None:
    click.echo(f"{PROG}: warning: {one_line(message)}", err=True)


class _StderrHandler(logging.Handler):
    """The library's warnings (e.g. a world-readable file) as one line on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad log call must not break a command
            message = str(record.msg)
        if record.levelno >= logging.WARNING:
            warn(message)
        else:
            level = record.levelname.lower()
            click.echo(f"{PROG}: {level}: {record.name}: {one_line(message)}", err=True)


def install_log_handler(debug: bool) -> None:
    logger = logging.getLogger("kfp_profiles")
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False


def person_at_terminal() -> bool:
    """True when prompts can be answered: stdin is a terminal."""
    return sys.stdin is not None and sys.stdin.isatty()


def read_new_password(label: str, *, allow_skip: bool) -> str | None:
    """A password typed twice at a hidden prompt; None when skipped (``allow_skip``)."""
    suffix = " (Enter to skip)" if allow_skip else ""
    for _ in range(3):
        first: str = click.prompt(
            f"{label}{suffix}", hide_input=True, default="", show_default=False
        )
        if not first:
            if allow_skip:
                return None
            click.echo("The password must not be empty.", err=True)
            continue
        again: str = click.prompt("Repeat it", hide_input=True, default="", show_default=False)
        if again == first:
            return first
        click.echo("The two entries differ; try again.", err=True)
    raise click.ClickException("No password stored: the entries kept differing.")


def read_piped_secret() -> str:
    """A secret piped on stdin: everything but one trailing newline."""
    text = sys.stdin.read()
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return text


def complete_profile_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Profile names for shell completion, from the file the command line names."""
    try:
        names = sorted(profiles_config(ctx).profiles)
    except Exception:  # completion must never print a traceback into the shell
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


class HelpWhenBareGroup(click.Group):
    """A group run without a subcommand prints its help on stdout and exits 0.

    As kubectl does, and click did up to 8.1; click 8.2 made it a usage error,
    which ``run`` would squeeze into one error line with exit status 2.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            click.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return super().parse_args(ctx, args)


F = TypeVar("F", bound=Callable[..., Any])


def profile_argument(*, required: bool = True) -> Callable[[F], F]:
    """The NAME argument of a command, completed with the profile names."""
    return click.argument(
        "name",
        required=required,
        shell_complete=complete_profile_names,
        metavar="NAME" if required else "[NAME]",
    )
