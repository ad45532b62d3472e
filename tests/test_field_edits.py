"""`set` and `unset` (field_edits.py, cli/edit.py): one field at a time, checked against the
kind before the file is written, lossless, secrets refused with the command that stores them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kfp_profiles import errors
from kfp_profiles.field_edits import set_fields, unset_fields
from kfp_profiles.resolution import resolve

from .helpers import cli, write_profiles

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FILE = """\
# my profiles
default = "dev"

[profiles.dev]   # the laptop
kind = "standalone-port-forward"
local_port = 3000  # the usual one

# the team's cluster
[profiles.prod]
kind = "platform-dex"
host = "https://kf.example.com/pipeline"
username = "me@example.com"
namespace = "team"
"""


@pytest.fixture
def profiles(profiles_path: Path) -> Path:
    profiles_path.parent.mkdir(parents=True, exist_ok=True)
    profiles_path.write_text(FILE)
    profiles_path.chmod(0o600)
    return profiles_path


def test_set_changes_one_field_and_keeps_every_other_byte(profiles: Path) -> None:
    done = cli("set", "dev", "local_port=3005", "manage=false")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"Profile 'dev' in {profiles}: local_port = 3005, manage = False.\n"
    text = profiles.read_text()
    assert text == FILE.replace("local_port = 3000", "local_port = 3005").replace(
        "# the usual one\n", "# the usual one\nmanage = false\n"
    )
    assert resolve("dev").values()["local_port"] == 3005


def test_unset_brings_the_default_back(profiles: Path) -> None:
    done = cli("unset", "dev", "local_port")
    assert done.stdout == f"Profile 'dev' in {profiles}: removed local_port.\n"
    assert "local_port" not in tomllib.loads(profiles.read_text())["profiles"]["dev"]
    assert resolve("dev").values()["local_port"] == 3000  # the kind's default
    assert cli("unset", "dev", "local_port").stdout == (
        f"Profile 'dev' in {profiles} sets none of local_port.\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["set", "dev", "local_port=many"],
            "Profile 'dev' in {file}: `local_port` = 'many' is invalid: it must be a valid "
            "integer (Local port; 0 lets kubectl pick one).",
        ),
        (
            ["set", "prod", "password=hunter2"],
            "Profile 'prod': cannot change `password`: it is a secret and never goes in the "
            "file; store it with `kfp-profiles secret set prod` (or set KFP_PASSWORD for one "
            "process).",
        ),
        (
            ["set", "dev", "kind=platform-dex"],
            "Profile 'dev': cannot change `kind`: a profile keeps its kind "
            "('standalone-port-forward'); remove it and add it again.",
        ),
        (
            ["set", "dev", "hots=x"],
            "Profile 'dev': cannot change `hots`: it is not a field of kind "
            "'standalone-port-forward' (did you mean 'host'?); its fields are ca_bundle, "
            "description, host, k8s_namespace, kube_context, kubectl, local_port, manage, "
            "namespace, proxy, remote_port, service, timeout, ui_host, verify_tls.",
        ),
        (
            ["unset", "prod", "username"],
            "Profile 'prod' in {file}: `username` is required for kind 'platform-dex': Dex "
            "login, e.g. user@example.com.",
        ),
    ],
)
def test_a_refused_edit_writes_nothing(profiles: Path, args: list[str], message: str) -> None:
    done = cli(*args)
    assert done.returncode == 2
    assert done.stderr == f"kfp-profiles: error: {message.format(file=profiles)}\n"
    assert "hunter2" not in done.stderr
    assert profiles.read_text() == FILE


def test_the_python_api_takes_typed_values(profiles: Path) -> None:
    changed = set_fields("prod", {"timeout": 5, "verify_tls": False})
    assert changed.set == {"timeout": 5, "verify_tls": False}
    assert resolve("prod").values()["timeout"] == 5.0
    assert unset_fields("prod", ["timeout"]).unset == ("timeout",)
    with pytest.raises(errors.ProfileNotFoundError):
        set_fields("nosuch", {"timeout": 5})


def test_use_unset_clears_the_default(profiles: Path) -> None:
    done = cli("use", "--unset")
    assert (done.returncode, done.stdout) == (0, f"Cleared the default (in {profiles}).\n")
    assert "default" not in tomllib.loads(profiles.read_text())
    assert cli("use", "--unset").stdout == "No default was set.\n"
    assert cli("use").returncode == 2


def test_init_writes_the_schema_its_first_line_names(profiles_path: Path) -> None:
    import json

    from kfp_profiles.schema import json_schema

    assert cli("init").returncode == 0
    first = profiles_path.read_text().splitlines()[0]
    assert first == "#:schema ./profiles.schema.json"
    schema = profiles_path.with_name("profiles.schema.json")
    assert json.loads(schema.read_text()) == json_schema()
    write_profiles(profiles_path, profiles_path.read_text())  # still a valid file
    assert cli("list").returncode == 0
