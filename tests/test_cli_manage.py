"""`init`, `list`, `remove`, `rename`, `use` (cli/manage.py), with `add` in the whole flow.

Run through the installed console script against real files (and `show`
in-process, through ``kfp_profiles.cli.run``, what the script calls).
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.handwritten import BETWEEN, DEV, HEAD, ORIGINAL, PROD, STAGING, TAIL_GAP
from tests.helpers import (
    TWO_PROFILES,
    cli,
    write_profiles,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


# --- from init to remove -------------------------------------------------------------------


def test_manage_profiles_from_init_to_remove(profiles_path: Path) -> None:
    done = cli("init")
    assert done.returncode == 0 and str(profiles_path) in done.stdout
    assert stat.S_IMODE(profiles_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(profiles_path.parent.stat().st_mode) == 0o700

    done = cli("add", "dev", "--kind", "standalone-port-forward", "--local-port", "3001")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Added profile 'dev' (standalone-port-forward) in {profiles_path}.",
        f"'dev' is the default profile (`default` in {profiles_path}).",
    ]
    done = cli(
        "add",
        "prod",
        "--kind",
        "platform-dex",
        "--host",
        "https://kf.example.com",
        "--username",
        "me@example.com",
        "--namespace",
        "team-a",
        "--no-verify-tls",
    )
    assert done.returncode == 0, done.stderr
    assert "kfp-profiles secret set prod" in done.stdout

    listing = cli("list").stdout.splitlines()
    assert listing[0].split() == ["NAME", "KIND", "HOST", "NAMESPACE"]
    assert listing[1].split() == [
        "*",
        "dev",
        "standalone-port-forward",
        "http://localhost:3001",
        "-",
    ]
    assert listing[2].split() == [
        "prod",
        "platform-dex",
        "https://kf.example.com/pipeline",  # as `show` and get_client use it
        "team-a",
    ]

    shown = json.loads(cli("show", "prod", "--json").stdout)
    assert shown["values"]["host"] == "https://kf.example.com/pipeline"  # the gateway's /pipeline
    assert shown["values"]["verify_tls"] is False
    assert shown["sources"]["namespace"] == f"file:{profiles_path}"
    assert shown["selected_by"] == "arg"

    assert cli("use", "prod").stdout == f"Default profile is now 'prod' (in {profiles_path}).\n"
    assert cli("rename", "prod", "live").returncode == 0
    done = cli("remove", "live")
    assert done.stdout.splitlines()[:2] == [
        f"Removed profile 'live' from {profiles_path}.",
        f'It was the default: removed `default = "live"` from {profiles_path}.',
    ]
    data = tomllib.loads(profiles_path.read_text())
    assert data == {
        "version": 1,
        "profiles": {"dev": {"kind": "standalone-port-forward", "local_port": 3001}},
    }
    assert stat.S_IMODE(profiles_path.stat().st_mode) == 0o600


def test_hand_written_file_keeps_every_byte_outside_the_touched_profile(
    profiles_path: Path,
) -> None:
    profiles_path.parent.mkdir()
    profiles_path.write_text(ORIGINAL)
    profiles_path.chmod(0o600)
    steps = [
        ("add", "ci", "--kind", "standalone-in-cluster", "--k8s-namespace", "kfp"),
        ("use", "ci"),
        ("rename", "ci", "ci-runner"),
        ("rename", "dev", "laptop"),
        ("remove", "ci-runner"),
    ]
    for step in steps:
        done = cli(*step)
        assert done.returncode == 0, (step, done.stderr)
        assert stat.S_IMODE(profiles_path.stat().st_mode) == 0o600
    # `default` named ci-runner when it was removed, so its line went too.
    head = HEAD.replace('default   =  "dev"      # what get_client() uses\n', "")
    dev = DEV.replace("[profiles.dev]", "[profiles.laptop]")
    assert profiles_path.read_text() == head + dev + BETWEEN + PROD + TAIL_GAP + STAGING + "\n"


# --- list ---------------------------------------------------------------------------------


def test_list_shows_a_broken_profile_without_hiding_the_others(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        """
        default = "good"
        [profiles.good]
        kind = "standalone-in-cluster"
        [profiles.typo]
        kind = "platform-dex"
        host = "https://kf.example.com/pipeline"
        usename = "me"
        [profiles.also-good]
        kind = "platform-in-cluster"
        namespace = "team-a"
        """,
    )
    done = cli("list")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[1].split() == [
        "*",
        "good",
        "standalone-in-cluster",
        "http://ml-pipeline-ui.kubeflow",
        "-",
    ]
    assert lines[2].split()[:2] == ["also-good", "platform-in-cluster"]
    assert lines[3].split()[:2] == ["typo", "broken:"]
    assert "unknown field `usename` for kind 'platform-dex' (did you mean 'username'?)" in lines[3]


def test_list_warns_when_kfp_profile_names_no_profile(profiles_path: Path) -> None:
    write_profiles(profiles_path, TWO_PROFILES)
    done = cli("list", env={"KFP_PROFILE": "nosuch"})
    assert done.returncode == 0
    assert "KFP_PROFILE" not in done.stdout
    assert done.stderr == (
        "kfp-profiles: warning: KFP_PROFILE=nosuch names no profile, so get_client() will "
        "fail; unset it or use one of a, b.\n"
    )
    done = cli("list", env={"KFP_PROFILE": "b"})
    assert done.stdout.splitlines()[-1] == "KFP_PROFILE=b selects 'b' in this shell."
    assert done.stderr == ""


# --- a file others can read ----------------------------------------------------------------


def test_a_file_others_can_read_works_with_a_warning_and_the_fix(profiles_path: Path) -> None:
    write_profiles(profiles_path, '[profiles.a]\nkind = "standalone-in-cluster"\n', mode=0o644)
    done = cli("list")
    assert done.returncode == 0
    assert done.stderr == (
        f"kfp-profiles: warning: {profiles_path} can be read by other users; "
        f"run `chmod 600 {profiles_path}`.\n"
    )


def test_an_edit_of_a_file_others_can_read_warns_once_and_tightens_it(
    profiles_path: Path,
) -> None:
    # `use` loads the file, then edits it: each read used to repeat the warning. The
    # write makes the file 0600 and says so; the next command has nothing to say.
    write_profiles(profiles_path, '[profiles.a]\nkind = "standalone-in-cluster"\n', mode=0o644)
    done = cli("use", "a")
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        f"kfp-profiles: warning: {profiles_path} can be read by other users; "
        f"run `chmod 600 {profiles_path}`.\n"
        f"kfp-profiles: warning: tightened {profiles_path} from 0644 to 0600: others could "
        f"read it.\n"
    )
    assert stat.S_IMODE(profiles_path.stat().st_mode) == 0o600
    done = cli("add", "b", "--kind", "standalone-in-cluster")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_list_without_a_file_or_with_an_empty_one_says_how_to_start(profiles_path: Path) -> None:
    done = cli("list")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"No profiles file yet in {profiles_path}: add one with "
        "`kfp-profiles add NAME --kind KIND`.\n"
    )
    write_profiles(profiles_path, "# nothing yet\n")
    done = cli("list")
    assert (done.returncode, done.stdout) == (
        0,
        f"No profiles yet in {profiles_path}: add one with `kfp-profiles add NAME --kind KIND`.\n",
    )


def test_list_shows_descriptions_and_prints_json_for_scripts(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        """
        default = "prod"
        [profiles.prod]
        kind = "standalone-in-cluster"
        description = "the team's cluster"
        [profiles.typo]
        kind = "standalone-in-cluster"
        hots = "x"
        """,
    )
    lines = cli("list").stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "HOST", "NAMESPACE", "DESCRIPTION"]
    assert lines[1].split() == [
        "*", "prod", "standalone-in-cluster", "http://ml-pipeline-ui.kubeflow", "-", "the",
        "team's", "cluster",
    ]  # fmt: skip
    assert lines[2].split()[:2] == ["typo", "broken:"]
    listed = json.loads(cli("list", "--json").stdout)
    jsonschema.validate(listed, json.loads((ROOT / "schemas" / "list.schema.json").read_text()))
    assert listed["default"] == "prod"
    assert listed["profiles"][0] == {
        "name": "prod",
        "kind": "standalone-in-cluster",
        "host": "http://ml-pipeline-ui.kubeflow",
        "namespace": None,
        "description": "the team's cluster",
        "file": str(profiles_path),
        "default": True,
        "problem": None,
    }
    assert listed["profiles"][1]["problem"].startswith("Profile 'typo' in ")


def test_removing_a_profile_says_which_definition_now_shows_through(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_profiles(profiles_path, '[profiles.dev]\nkind = "standalone-in-cluster"\n')
    second = write_profiles(
        profiles_path.with_name("team.toml"),
        '[profiles.dev]\nkind = "standalone-in-cluster"\nk8s_namespace = "team"\n',
    )
    monkeypatch.setenv("KFP_PROFILES_FILE", f"{first}:{second}")
    done = cli("remove", "dev")
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == f"Removed profile 'dev' from {first}."
    assert done.stdout.splitlines()[-1] == (
        f"'dev' is still defined in {second}, which now shows through."
    )
