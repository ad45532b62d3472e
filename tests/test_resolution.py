"""Which profile is picked, which value wins, and where each value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfp_profiles.errors import ProfileNotFoundError
from kfp_profiles.files import load_config
from kfp_profiles.resolution import resolve

from .helpers import write_profiles

TWO_CLUSTERS = """
    default = "prod"

    [profiles.prod]
    kind = "platform-dex"
    host = "https://kubeflow.example.com"
    username = "user@example.com"
    namespace = "kubeflow-user-example-com"
    ca_bundle = "certs/corp-ca.pem"

    [profiles.staging]
    kind = "standalone-in-cluster"
    k8s_namespace = "kfp-staging"

    [profiles.pod]
    kind = "platform-in-cluster"
    namespace = "team-a"

    [profiles.dev]
    kind = "standalone-port-forward"
    local_port = 3001
"""


@pytest.fixture
def profiles_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_profiles(tmp_path / "profiles.toml", TWO_CLUSTERS)
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    return path


def test_name_comes_from_argument_then_env_then_default(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve().name == "prod"
    assert resolve().sources["profile"] == f"file:{profiles_file}"
    monkeypatch.setenv("KFP_PROFILE", "staging")
    assert resolve().name == "staging"
    assert resolve().sources["profile"] == "env:KFP_PROFILE"
    assert resolve("dev").name == "dev"
    assert resolve("dev").sources["profile"] == "arg"


def test_kind_defaults_fill_the_host(profiles_file: Path) -> None:
    assert resolve("staging").host == "http://ml-pipeline-ui.kfp-staging"
    assert resolve("dev").host == "http://localhost:3001"
    assert resolve("pod").host == "http://ml-pipeline-ui.kubeflow.svc.cluster.local"
    assert resolve("pod").sources["host"] == "default"


def test_dex_host_without_path_gets_pipeline_and_paths_are_relative_to_the_file(
    profiles_file: Path,
) -> None:
    prod = resolve("prod")
    assert prod.host == "https://kubeflow.example.com/pipeline"
    assert prod.profile.ca_bundle == str(profiles_file.parent / "certs" / "corp-ca.pem")


def test_precedence_argument_over_env_over_file(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_NAMESPACE", "from-env")
    resolved = resolve("prod")
    assert resolved.profile.namespace == "from-env"
    assert resolved.sources["namespace"] == "env:KFP_NAMESPACE"
    resolved = resolve("prod", namespace="from-arg")
    assert resolved.profile.namespace == "from-arg"
    assert resolved.sources["namespace"] == "arg"
    assert resolved.sources["username"] == f"file:{profiles_file}"


def test_sdk_endpoint_only_fills_a_host_the_profile_leaves_open(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KF_PIPELINES_ENDPOINT", "http://leftover.example:8888")
    # prod sets its host: a leftover variable must not send its cookies elsewhere.
    assert resolve("prod").host == "https://kubeflow.example.com/pipeline"
    staging = resolve("staging")
    assert staging.host == "http://leftover.example:8888"
    assert staging.sources["host"] == "env:KF_PIPELINES_ENDPOINT"
    monkeypatch.setenv("KFP_HOST", "http://explicit.example")
    assert resolve("prod").host == "http://explicit.example/pipeline"


def test_token_path_precedence(
    profiles_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve("pod").profile.token_path == "/var/run/secrets/kubeflow/pipelines/token"  # type: ignore[attr-defined]
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", "/sdk/token")
    pod = resolve("pod")
    assert pod.profile.token_path == "/sdk/token"  # type: ignore[attr-defined]
    assert pod.sources["token_path"] == "env:KF_PIPELINES_SA_TOKEN_PATH"
    monkeypatch.setenv("KFP_TOKEN_PATH", "/ours/token")
    assert resolve("pod").profile.token_path == "/ours/token"  # type: ignore[attr-defined]
    assert resolve("pod", token_path="/arg/token").profile.token_path == "/arg/token"  # type: ignore[attr-defined]


def test_env_for_a_field_the_kind_lacks_is_ignored(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_USERNAME", "someone@example.com")  # meant for a dex profile
    assert "username" not in resolve("staging").values()
    assert resolve("prod").profile.username == "someone@example.com"  # type: ignore[attr-defined]


def test_env_values_are_parsed_like_file_values(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_LOCAL_PORT", "4000")
    monkeypatch.setenv("KFP_VERIFY_TLS", "false")
    dev = resolve("dev")
    assert dev.profile.local_port == 4000  # type: ignore[attr-defined]
    assert dev.profile.verify_tls is False
    assert dev.host == "http://localhost:4000"


def test_password_from_env_is_masked_everywhere(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_PASSWORD", "hunter2-secret")
    resolved = resolve("prod")
    assert resolved.password is not None
    assert resolved.password.get_secret_value() == "hunter2-secret"
    assert resolved.sources["password"] == "env:KFP_PASSWORD"
    shown = repr(resolved) + str(resolved.describe()) + str(resolved.values())
    assert "hunter2" not in shown
    assert ("password", "********", "env:KFP_PASSWORD") in resolved.describe()


def test_merged_files_first_definition_wins_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_profiles(
        tmp_path / "a.toml",
        """
        [profiles.shared]
        kind = "standalone-in-cluster"
        k8s_namespace = "from-a"
        """,
    )
    second = write_profiles(
        tmp_path / "b.toml",
        """
        default = "only-b"
        [profiles.shared]
        kind = "standalone-in-cluster"
        description = "b's copy, must not be mixed in"
        [profiles.only-b]
        kind = "standalone-in-cluster"
        """,
    )
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv("KFP_PROFILES_FILE", f"{first}:{missing}:{second}")
    config = load_config()
    assert sorted(config.profiles) == ["only-b", "shared"]
    shared = resolve("shared")
    assert shared.profile.k8s_namespace == "from-a"  # type: ignore[attr-defined]
    assert shared.profile.description is None
    assert shared.file == first
    assert resolve().name == "only-b"


def test_broken_profile_does_not_hide_the_others(profiles_file: Path) -> None:
    with profiles_file.open("a") as handle:
        handle.write('\n[profiles.broken]\nkind = "platform-dex"\nhots = "x"\n')
    assert resolve("staging").name == "staging"
    assert "broken" in load_config().profiles


def test_unknown_name_lists_profiles_and_suggests(profiles_file: Path) -> None:
    with pytest.raises(ProfileNotFoundError) as caught:
        resolve("stagign")
    message = str(caught.value)
    assert "did you mean 'staging'?" in message
    assert "dev, pod, prod, staging" in message
    assert str(profiles_file) in message
