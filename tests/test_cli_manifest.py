"""`kfp-profiles manifest poddefault|pod|rolebinding` (cli/manifest.py): what --profile fills in.

The documents themselves are checked in test_manifests.py; here, the
command line's part: defaults equal to the library's, the namespace and
token path taken from a profile, and the one-line error when neither the
command line nor the profile names a namespace.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfp_profiles import manifests
from kfp_profiles.cli import run
from tests.helpers import write_profiles
from tests.test_manifests import cli_yaml, validate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def test_the_command_line_defaults_are_the_librarys(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_yaml(capsys, "poddefault", "--namespace", "team-a") == manifests.poddefault("team-a")
    assert cli_yaml(capsys, "pod", "--namespace", "team-a") == manifests.pod("team-a")
    assert cli_yaml(
        capsys, "rolebinding", "--namespace", "team-b", "--from-namespace", "team-a"
    ) == manifests.rolebinding("team-b", "team-a")


def test_a_profile_fills_in_namespace_and_token_path(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(
        profiles_path,
        """
        [profiles.pod]
        kind = "platform-in-cluster"
        namespace = "team-x"
        token_path = "/var/run/kfp/sa-token"
        """,
    )
    configmap, pod = cli_documents(capsys, "pod", "--profile", "pod")
    validate(pod)
    assert pod["metadata"]["namespace"] == "team-x"
    container = pod["spec"]["containers"][0]
    assert container["volumeMounts"][0]["mountPath"] == "/var/run/kfp"
    assert pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["path"] == (
        "sa-token"
    )
    assert {"name": "KF_PIPELINES_SA_TOKEN_PATH", "value": "/var/run/kfp/sa-token"} in container[
        "env"
    ]
    assert {"name": "KFP_PROFILE", "value": "pod"} in container["env"]
    # The pod gets the profile itself: a ConfigMap, mounted, named by KFP_PROFILES_FILE.
    assert_ships_the_profile(configmap, pod["spec"]["volumes"], container, profiles_path)

    configmap, default = cli_documents(capsys, "poddefault", "--profile", "pod")
    assert default["metadata"]["namespace"] == "team-x"
    assert default["spec"]["env"][0]["value"] == "/var/run/kfp/sa-token"
    assert_ships_the_profile(configmap, default["spec"]["volumes"], default["spec"], profiles_path)

    binding = cli_yaml(capsys, "rolebinding", "--profile", "pod", "--from-namespace", "ci")
    validate(binding)
    assert binding["metadata"]["namespace"] == "team-x"
    assert binding["subjects"][0]["namespace"] == "ci"


def cli_documents(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert run(["manifest", *args]) == 0
    return list(yaml.safe_load_all(capsys.readouterr().out))


def assert_ships_the_profile(
    configmap: dict[str, Any], volumes: list[Any], consumer: dict[str, Any], source: Path
) -> None:
    """The ConfigMap holds a profiles file with that profile alone, which the consumer
    mounts read-only and names in KFP_PROFILES_FILE: get_client() needs nothing else."""
    validate(configmap)
    assert configmap["kind"] == "ConfigMap"
    assert configmap["metadata"] == {"name": "kfp-profile-pod", "namespace": "team-x"}
    shipped = tomllib.loads(configmap["data"]["profiles.toml"])
    written = tomllib.loads(source.read_text())
    assert shipped == {"default": "pod", "profiles": {"pod": written["profiles"]["pod"]}}
    assert {"name": "kfp-profiles", "configMap": {"name": "kfp-profile-pod"}} in volumes
    assert {
        "mountPath": "/etc/kfp-profiles",
        "name": "kfp-profiles",
        "readOnly": True,
    } in consumer["volumeMounts"]
    assert {"name": "KFP_PROFILES_FILE", "value": "/etc/kfp-profiles/profiles.toml"} in consumer[
        "env"
    ]


def test_a_profile_that_does_not_run_in_a_pod_is_not_shipped(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(
        profiles_path,
        '[profiles.dex]\nkind = "platform-dex"\nhost = "https://kf.invalid"\n'
        'username = "me"\nnamespace = "team-x"\n',
    )
    assert run(["manifest", "pod", "--profile", "dex"]) == 0
    captured = capsys.readouterr()
    assert [document["kind"] for document in yaml.safe_load_all(captured.out)] == ["Pod"]
    assert captured.err == (
        "kfp-profiles: warning: kind 'platform-dex' does not run in a pod, so no profiles "
        "file is shipped with it: only KFP_PROFILE is set.\n"
    )


def test_a_namespace_on_the_command_line_wins_over_the_profiles(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(
        profiles_path, '[profiles.pod]\nkind = "platform-in-cluster"\nnamespace = "team-x"\n'
    )
    binding = cli_yaml(
        capsys, "rolebinding", "--profile", "pod", "--namespace", "other", "--from-namespace", "ci"
    )
    assert binding["metadata"]["namespace"] == "other"
    assert binding["subjects"][0]["namespace"] == "ci"


@pytest.mark.parametrize("command", ["poddefault", "pod"])
def test_a_profile_without_a_namespace_asks_for_one_and_prints_nothing(
    command: str, profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(profiles_path, '[profiles.dev]\nkind = "standalone-port-forward"\n')
    assert run(["manifest", command, "--profile", "dev"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "kfp-profiles: error: --namespace is required (profile 'dev' sets no namespace): pass "
        "the Kubeflow profile namespace, e.g. --namespace kubeflow-user-example-com, or "
        "--profile NAME.\n"
    )
