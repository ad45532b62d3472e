"""The root group: the entry points, help, lazy loading of commands, completion, typos.

Subprocess tests run the installed console script (and `python -m
kfp_profiles`); the module loading is watched with ``-X importtime`` and
``sys.modules`` in a fresh interpreter (``kfp_profiles/cli/__init__.py``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kfp_profiles.cli import run
from tests.helpers import (
    SCRIPT,
    cli,
    write_profiles,
)

# --- the entry points ----------------------------------------------------------------------


def test_console_script_and_python_m_both_run(profiles_path: Path) -> None:
    assert SCRIPT.exists()
    for argv in ([str(SCRIPT)], [sys.executable, "-m", "kfp_profiles"]):
        done = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        commands = done.stdout.split("Commands:\n")[1].split("\n\n")[0]
        verbs = re.findall(r"^  (\S+)\s", commands, re.M)
        assert verbs == sorted(
            [
                "add",
                "check",
                "current",
                "doctor",
                "env",
                "import",
                "init",
                "list",
                "login",
                "logout",
                "manifest",
                "port-forward",
                "remove",
                "rename",
                "schema",
                "secret",
                "set",
                "show",
                "unset",
                "use",
            ]
        )


def test_version_is_the_installed_one_and_loads_no_command(profiles_path: Path) -> None:
    import importlib.metadata

    import kfp_profiles

    installed = importlib.metadata.version("kfp-profiles")
    done = cli("--version")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == f"kfp-profiles, version {installed}\n"
    assert kfp_profiles.__version__ == installed
    code = (
        "import sys; from kfp_profiles.cli import run; status = run(['--version']); "
        "print(status, sorted(m for m in sys.modules if m.startswith('kfp_profiles.cli.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "0 ['kfp_profiles.cli._common']"


# --- fast commands import no client --------------------------------------------------------


def imported_packages(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kfp_profiles", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "kfp_profiles.cli" in names  # the measurement saw the command line load
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("list",),
        ("show", "dev"),
        ("show", "dev", "--sources"),
        ("use", "dev"),
        ("add", "new", "--kind", "standalone-port-forward"),
        ("schema",),
    ],
    ids=lambda args: " ".join(args),
)
def test_commands_that_need_no_client_import_neither_kfp_nor_requests(
    profiles_path: Path, args: tuple[str, ...]
) -> None:
    write_profiles(profiles_path, '[profiles.dev]\nkind = "standalone-port-forward"\n')
    packages = imported_packages(*args)
    assert not packages & {"kfp", "kfp_server_api", "requests", "urllib3", "kubernetes"}
    if args[0] in ("list", "--help", "schema", "use", "add"):
        assert not packages & {"pydantic_settings", "keyring"}


def test_every_command_of_every_module_is_reachable_by_name() -> None:
    # The root group imports a module only when one of its commands is asked for, by the
    # name in COMMAND_MODULES: a command missing there would exist but never run.
    import importlib

    from kfp_profiles.cli import COMMAND_MODULES

    defined: dict[str, str] = {}
    for module_name in set(COMMAND_MODULES.values()):
        module = importlib.import_module(f"kfp_profiles.cli.{module_name}")
        defined.update({command.name or "": module_name for command in module.COMMANDS})
    assert defined == COMMAND_MODULES


def test_list_loads_only_the_module_of_its_own_commands(profiles_path: Path) -> None:
    write_profiles(profiles_path, '[profiles.dev]\nkind = "standalone-port-forward"\n')
    # sys.modules, not -X importtime: importlib.import_module is not reported by the latter.
    code = (
        "import sys; from kfp_profiles.cli import run; status = run(['list']); "
        "print(status, sorted(m for m in sys.modules if m.startswith('kfp_profiles.cli.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "dev" in done.stdout
    assert (
        done.stdout.splitlines()[-1] == "0 ['kfp_profiles.cli._common', 'kfp_profiles.cli.manage']"
    )


# --- shell completion ----------------------------------------------------------------------


def complete(words: str) -> list[str]:
    env = {
        "_KFP_PROFILES_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    done = cli(env=env)
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines()]


def test_completion_of_verbs_and_profile_names(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        """
        [profiles.dev]
        kind = "standalone-in-cluster"
        [profiles.prod]
        kind = "standalone-in-cluster"
        [profiles.prod-eu]
        kind = "standalone-in-cluster"
        """,
    )
    assert complete("kfp-profiles re") == ["remove", "rename"]
    assert complete("kfp-profiles show pr") == ["prod", "prod-eu"]
    assert complete("kfp-profiles secret set ") == ["dev", "prod", "prod-eu"]
    assert complete("kfp-profiles manifest pod --profile d") == ["dev"]
    other = profiles_path.with_name("other.toml")
    write_profiles(other, '[profiles.elsewhere]\nkind = "standalone-in-cluster"\n')
    assert complete(f"kfp-profiles --file {other} use ") == ["elsewhere"]
    listed = cli("--file", str(other), "list").stdout.splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["elsewhere"]


# --- bare groups and typos -----------------------------------------------------------------


@pytest.mark.parametrize("group", [[], ["secret"], ["manifest"]])
def test_a_group_without_its_command_prints_its_help_and_succeeds(
    profiles_path: Path, group: list[str]
) -> None:
    done = cli(*group)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    command_path = " ".join(["kfp-profiles", *group])
    assert done.stdout.startswith(f"Usage: {command_path} [OPTIONS] COMMAND")
    assert "\nCommands:\n" in done.stdout  # click's layout, not one squeezed line


def test_a_mistyped_command_gets_a_suggestion_in_a_fresh_process(profiles_path: Path) -> None:
    done = cli("lst")
    assert done.returncode == 2
    assert done.stderr == (
        "kfp-profiles: error: No such command 'lst'. (Did you mean one of: 'list', 'set'?) See "
        "`kfp-profiles --help`.\n"
    )


def test_file_option_reaches_every_command_and_leaves_the_environment_alone(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(profiles_path, '[profiles.home]\nkind = "standalone-in-cluster"\n')
    other = write_profiles(
        profiles_path.with_name("other.toml"),
        '[profiles.elsewhere]\nkind = "standalone-in-cluster"\n',
    )
    before = os.environ.get("KFP_PROFILES_FILE")
    assert run(["--file", str(other), "show", "elsewhere"]) == 0
    assert "http://ml-pipeline-ui.kubeflow" in capsys.readouterr().out
    assert run(["--file", str(other), "doctor", "elsewhere", "--offline"]) == 0
    report = capsys.readouterr().out
    assert f"{other} (from --file)" in report and str(profiles_path) not in report
    assert run(["--file", str(other), "use", "elsewhere"]) == 0
    assert 'default = "elsewhere"' in other.read_text()
    # One run's --file is not the next run's: the process environment is untouched.
    assert os.environ.get("KFP_PROFILES_FILE") == before
    assert run(["show", "home"]) == 0
    assert "home" in capsys.readouterr().out


def test_global_options_work_before_or_after_the_verb(profiles_path: Path) -> None:
    other = write_profiles(
        profiles_path.with_name("other.toml"),
        '[profiles.elsewhere]\nkind = "standalone-in-cluster"\n',
    )
    before = cli("--file", str(other), "list")
    after = cli("list", "--file", str(other))
    assert before.returncode == after.returncode == 0
    assert before.stdout == after.stdout and "elsewhere" in after.stdout
    assert cli("show", "elsewhere", f"--file={other}", "--debug").returncode == 0
    as_json = cli("--json", "list", "--file", str(other))
    assert json.loads(as_json.stdout)["profiles"][0]["name"] == "elsewhere"


def test_every_verb_has_one_whole_help_line() -> None:
    from kfp_profiles.cli import COMMAND_MODULES, SHORT_HELP

    assert set(SHORT_HELP) == set(COMMAND_MODULES)
    done = cli("--help", env={"COLUMNS": "80"})
    commands = done.stdout.split("Commands:\n")[1].split("\n\n")[0].splitlines()
    assert len(commands) == len(COMMAND_MODULES)
    for line in commands:
        verb, text = line.split(maxsplit=1)
        assert text == SHORT_HELP[verb], line  # whole: not cut with "..."
