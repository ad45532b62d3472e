"""``kfp-profiles``: manage, try and diagnose connection profiles from a shell.

Thin on purpose: each command parses its arguments, calls the library
(:mod:`kfp_profiles.editing`, :mod:`kfp_profiles.resolution`, :mod:`kfp_profiles.doctor`,
...) and prints. The commands live in one module per group of verbs:
``manage`` (init, list, remove, rename, use), ``add``, ``edit`` (set, unset),
``show`` (show, current, env, schema), ``credentials`` (secret set|delete,
login, logout), ``diagnose`` (check, doctor, port-forward),
``manifest`` and ``importing`` (import).

Every error is one line on stderr, ``kfp-profiles: error: <what is wrong and
how to fix it>``, and an exit status that says which kind of error it was;
``--debug`` adds the traceback (and the library's debug log). Exit statuses:

====  ==========================================================================
0     success
1     another error: the file cannot be written or another command holds its
      lock, ``doctor`` found a problem, a ``check`` step failed for a reason
      not listed below, or an unexpected error (run with ``--debug``)
2     the command line is wrong, or the profiles file or a profile in it is
      (``ConfigError``)
3     the password or the OS keyring (``SecretError``)
4     the in-cluster ServiceAccount token file (``TokenFileError``)
5     the host cannot be reached: refused, DNS, TLS, timeout (``ConnectionFailedError``)
6     the login through the Kubeflow front door failed (``LoginError``)
7     the KFP API answered with an error (``ApiError``, or the SDK's ``ApiException``)
8     ``kubectl port-forward`` could not be started or made ready (``PortForwardError``)
130   interrupted (Ctrl-C)
====  ==========================================================================

Shell completion of commands and profile names comes from click; add one line
to your shell's startup file::

    eval "$(_KFP_PROFILES_COMPLETE=bash_source kfp-profiles)"    # ~/.bashrc
    eval "$(_KFP_PROFILES_COMPLETE=zsh_source kfp-profiles)"     # ~/.zshrc
    _KFP_PROFILES_COMPLETE=fish_source kfp-profiles | source     # fish
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

import click

from ..errors import KfpProfilesError
from ._common import PROG, CliState, HelpWhenBareGroup, error_line, install_log_handler

#: Exit status of an unexpected error, and of Ctrl-C.
UNEXPECTED_EXIT = 1
INTERRUPTED_EXIT = 130
USAGE_EXIT = 2

_EPILOG = (
    "Profiles live in $XDG_CONFIG_HOME/kfp/profiles.toml (~/.config/kfp/profiles.toml) "
    "or in the files KFP_PROFILES_FILE lists. Shell completion: "
    'eval "$(_KFP_PROFILES_COMPLETE=bash_source kfp-profiles)" (zsh_source, fish_source).'
)


#: Command -> the module of this package that defines it. A module is imported only
#: when one of its commands runs (or ``--help`` lists them all), so ``list`` does not
#: pay for the import of ``check``, ``secret`` or ``manifest``.
COMMAND_MODULES = {
    **dict.fromkeys(("init", "list", "remove", "rename", "use"), "manage"),
    "add": "add",
    **dict.fromkeys(("set", "unset"), "edit"),
    **dict.fromkeys(("show", "current", "env", "schema"), "show"),
    **dict.fromkeys(("secret", "login", "logout"), "credentials"),
    **dict.fromkeys(("check", "doctor", "port-forward"), "diagnose"),
    "manifest": "manifest",
    "import": "importing",
}


#: Each verb's line in `kfp-profiles --help`: short enough for an 80-column terminal, where
#: click would cut a command's first sentence with "...".
SHORT_HELP = {
    "add": "Add a profile (asks at a terminal for what is missing).",
    "check": "Try a profile step by step, timing each step.",
    "current": "Print the profile get_client() uses now, and why.",
    "doctor": "Diagnose this machine, a profile and its front door.",
    "env": "Print shell exports for a profile (never a secret).",
    "import": "Bring in Elyra runtimes or the SDK's context.json.",
    "init": "Write a commented starter profiles file.",
    "list": "List the profiles; * marks the default.",
    "login": "Log in now and cache the session.",
    "logout": "Forget a profile's cached session.",
    "manifest": "Print Kubernetes YAML for in-cluster access.",
    "port-forward": "Run a profile's kubectl port-forward in the foreground.",
    "remove": "Remove a profile, its password and its session.",
    "rename": "Rename a profile; its password and session move too.",
    "schema": "Print the JSON Schema of the profiles file.",
    "secret": "Store or delete a profile's password in the OS keyring.",
    "set": "Set fields of a profile (FIELD=VALUE), checked first.",
    "show": "Show a profile as get_client() would use it.",
    "unset": "Remove fields of a profile, so their defaults apply.",
    "use": "Make a profile the default (--unset clears it).",
}


class LazyGroup(HelpWhenBareGroup):
    """A click group whose commands are imported on first use, from ``COMMAND_MODULES``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(cmd_name)
        if module_name is not None and cmd_name not in self.commands:
            self._load(module_name)
        elif module_name is None and not ctx.resilient_parsing:
            # A mistyped command: click suggests the closest of the commands loaded so
            # far, so load them all (only on this error path).
            for name in sorted(set(COMMAND_MODULES.values())):
                self._load(name)
        return self.commands.get(cmd_name)

    def _load(self, module_name: str) -> None:
        module = importlib.import_module(f"{__name__}.{module_name}")
        for command in module.COMMANDS:
            command.short_help = SHORT_HELP.get(command.name or "", command.short_help)
            self.add_command(command)


@click.group(
    cls=LazyGroup,
    name=PROG,
    epilog=_EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--file",
    "file",
    metavar="PATH",
    help="Profiles file to use, as KFP_PROFILES_FILE (':'-separated to merge several).",
)
@click.option("--debug", is_flag=True, help="Print the traceback of an error, and debug logs.")
@click.version_option(package_name="kfp-profiles", prog_name=PROG)
def cli(file: str | None, debug: bool) -> None:
    """Named connection profiles for the Kubeflow Pipelines SDK, like kubeconfig contexts.

    In Python: `from kfp_profiles import get_client; get_client("prod")`.
    """
    # `file` is read where it is needed, from click's context (cli/_common.py).
    CliState.debug = debug
    install_log_handler(debug)


def run(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status (``main`` exits with it)."""
    CliState.debug = False
    install_log_handler(False)
    args = where_people_type_them(sys.argv[1:] if argv is None else list(argv))
    try:
        result = cli.main(args=args, prog_name=PROG, standalone_mode=False)
    except (click.Abort, KeyboardInterrupt):
        click.echo("", err=True)
        click.echo(error_line("interrupted."), err=True)
        return INTERRUPTED_EXIT
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else PROG
        click.echo(error_line(_with_help_pointer(exc.format_message(), where)), err=True)
        return USAGE_EXIT
    except click.ClickException as exc:
        click.echo(error_line(exc.format_message()), err=True)
        return exc.exit_code
    except KfpProfilesError as exc:
        if CliState.debug:
            _print_traceback()
        # The command line's own words: flags and verbs, not Python arguments.
        click.echo(error_line(exc.cli_message), err=True)
        return exc.exit_code
    except Exception as exc:
        if CliState.debug:
            _print_traceback()
        first = str(exc).strip().splitlines()
        detail = f": {first[0]}" if first else ""
        click.echo(
            error_line(
                f"unexpected {type(exc).__name__}{detail} (run `{PROG} --debug ...` for the "
                f"traceback and report it)"
            ),
            err=True,
        )
        return UNEXPECTED_EXIT
    return result if isinstance(result, int) else 0


#: Options of the root group, which people also type after the verb.
_ROOT_FLAGS = ("--debug",)
_ROOT_VALUED = ("--file",)


def where_people_type_them(argv: list[str]) -> list[str]:
    """``argv`` with the root group's options moved before the verb and ``--json`` after it.

    `kfp-profiles list --file x.toml --debug` and `kfp-profiles --json list` then mean what
    they say, as with kubectl. Nothing after ``--`` moves.
    """
    verb_at = next(
        (i for i, arg in enumerate(argv) if arg in COMMAND_MODULES and _is_verb(argv, i)), None
    )
    if verb_at is None:
        return argv
    before, after = argv[:verb_at], argv[verb_at:]
    moved_front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(after):
        arg = after[index]
        if arg == "--":
            rest += after[index:]
            break
        if arg in _ROOT_FLAGS or arg.startswith(tuple(f"{o}=" for o in _ROOT_VALUED)):
            moved_front.append(arg)
        elif arg in _ROOT_VALUED and index + 1 < len(after):
            moved_front += [arg, after[index + 1]]
            index += 1
        else:
            rest.append(arg)
        index += 1
    moved_back = [arg for arg in before if arg == "--json"]
    before = [arg for arg in before if arg != "--json"]
    return [*before, *moved_front, *rest[:1], *moved_back, *rest[1:]]


def _is_verb(argv: list[str], index: int) -> bool:
    """The word at ``index`` is the verb, not the value of ``--file`` before it."""
    return index == 0 or argv[index - 1] not in _ROOT_VALUED


def _with_help_pointer(message: str, command_path: str) -> str:
    """click's usage message and where to read more, joined into one sentence.

    click's own question ("Did you mean 'list'?", also in parentheses) already
    ends a sentence, so the pointer starts the next one there.
    """
    message = message.strip()
    if message.rstrip(")").endswith(("?", "!")):
        return f"{message} See `{command_path} --help`."
    return f"{message.removesuffix('.')}; see `{command_path} --help`."


def _print_traceback() -> None:
    import traceback  # only with --debug: not worth its import time on every run

    traceback.print_exc()


def main(argv: list[str] | None = None) -> NoReturn:
    """The ``kfp-profiles`` console script."""
    sys.exit(run(argv))


__all__ = ["COMMAND_MODULES", "cli", "main", "run"]
