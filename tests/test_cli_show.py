"""`show`, `env`, `schema` (cli/show.py): through the console script and in-process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kfp_profiles.cli import run
from tests.helpers import SCRIPT, cli, write_profiles

ROOT = Path(__file__).resolve().parent.parent


def test_env_prints_exports_a_shell_can_eval(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        """
        [profiles.local]
        kind = "standalone-port-forward"
        local_port = 3005
        [profiles.pod]
        kind = "platform-in-cluster"
        token_path = "/var/run/token dir/token"
        [profiles.dex]
        kind = "platform-dex"
        host = "https://kf.example.com"
        username = "me"
        namespace = "ns"
        """,
    )
    script = (
        f'eval "$({SCRIPT} env pod)"; printf "%s|%s|%s" '
        '"$KFP_PROFILE" "$KF_PIPELINES_ENDPOINT" "$KF_PIPELINES_SA_TOKEN_PATH"'
    )
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert (
        done.stdout
        == "pod|http://ml-pipeline-ui.kubeflow.svc.cluster.local|/var/run/token dir/token"
    )
    assert "export KF_PIPELINES_ENDPOINT=http://localhost:3005" in cli("env", "local").stdout
    dex = cli("env", "dex").stdout
    assert "export KFP_PROFILE=dex" in dex and "KF_PIPELINES_ENDPOINT" not in dex.replace("# ", "#")


def test_schema_prints_the_committed_schema(profiles_path: Path) -> None:
    done = cli("schema")
    assert done.returncode == 0
    assert done.stdout == (ROOT / "schemas" / "profiles.schema.json").read_text()


def test_show_sources_names_the_variable_that_won(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(
        profiles_path,
        """
        default = "dev"
        [profiles.dev]
        kind = "standalone-port-forward"
        local_port = 3001
        """,
    )
    monkeypatch.setenv("KFP_HOST", "http://localhost:4000")
    assert run(["show", "--sources"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert rows["profile"] == ["dev", f"file:{profiles_path}"]
    assert rows["host"] == ["http://localhost:4000", "env:KFP_HOST"]
    assert rows["local_port"] == ["3001", f"file:{profiles_path}"]
    assert rows["service"] == ["ml-pipeline-ui", "default"]


def test_current_says_which_profile_and_why(profiles_path: Path) -> None:
    import json

    import jsonschema

    write_profiles(
        profiles_path,
        'default = "prod"\n[profiles.prod]\nkind = "platform-in-cluster"\n'
        '[profiles.dev]\nkind = "standalone-in-cluster"\n',
    )
    done = cli("current")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"prod  (selected by `default` in {profiles_path})\n"
        f"platform-in-cluster, defined in {profiles_path}\n"
    )
    done = cli("current", "--json", env={"KFP_PROFILE": "dev"})
    document = json.loads(done.stdout)
    schema = json.loads((ROOT / "schemas" / "current.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert document == {
        "name": "dev",
        "selected_by": "KFP_PROFILE",
        "default_file": None,
        "file": str(profiles_path),
        "kind": "standalone-in-cluster",
    }
    done = cli("current", env={"KFP_PROFILE": "nosuch"})
    assert done.returncode == 0
    assert done.stderr == (
        "kfp-profiles: warning: no profile named 'nosuch' exists, so get_client() will fail.\n"
    )


def test_current_with_nothing_selected_fails_as_get_client_would(profiles_path: Path) -> None:
    write_profiles(profiles_path, '[profiles.dev]\nkind = "standalone-in-cluster"\n')
    done = cli("current")
    assert done.returncode == 2
    assert done.stderr == (
        f"kfp-profiles: error: No profile selected and {profiles_path} sets no `default`: "
        "pass a name, set KFP_PROFILE (profiles: dev), or run `kfp-profiles use NAME`.\n"
    )
