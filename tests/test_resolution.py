"""Which profile is picked, which value wins, and where each value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfp_profiles.errors import (
    KindChangeError,
    ProfileNotFoundError,
    ProfileValidationError,
    SecretInFileError,
)
from kfp_profiles.files import load_config
from kfp_profiles.resolution import _explain_source, resolve
from kfp_profiles.testing.tls import write_tls_files

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
def profiles_file(profiles_path: Path) -> Path:
    written = write_profiles(profiles_path, TWO_CLUSTERS)
    (written.parent / "certs").mkdir()  # a CA bundle is checked when the profile resolves
    write_tls_files(written.parent / "certs").ca_path.rename(
        written.parent / "certs" / "corp-ca.pem"
    )
    return written


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
    assert resolve("pod").profile.token_path == "/var/run/secrets/kubeflow/pipelines/token"  # type: ignore[union-attr]
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", "/sdk/token")
    pod = resolve("pod")
    assert pod.profile.token_path == "/sdk/token"  # type: ignore[union-attr]
    assert pod.sources["token_path"] == "env:KF_PIPELINES_SA_TOKEN_PATH"
    monkeypatch.setenv("KFP_TOKEN_PATH", "/ours/token")
    assert resolve("pod").profile.token_path == "/ours/token"  # type: ignore[union-attr]
    assert resolve("pod", token_path="/arg/token").profile.token_path == "/arg/token"  # type: ignore[union-attr]


def test_env_for_a_field_the_kind_lacks_is_ignored(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_USERNAME", "someone@example.com")  # meant for a dex profile
    assert "username" not in resolve("staging").values()
    assert resolve("prod").profile.username == "someone@example.com"  # type: ignore[union-attr]


def test_env_values_are_parsed_like_file_values(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_LOCAL_PORT", "4000")
    monkeypatch.setenv("KFP_VERIFY_TLS", "false")
    dev = resolve("dev")
    assert dev.profile.local_port == 4000  # type: ignore[union-attr]
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


def test_keyword_argument_cannot_change_the_kind(profiles_file: Path) -> None:
    with pytest.raises(KindChangeError) as caught:
        resolve("staging", kind="standalone-port-forward")
    assert str(caught.value) == (
        f"Profile 'staging' in {profiles_file} is of kind 'standalone-in-cluster' but "
        "kind='standalone-port-forward' was passed: a keyword argument cannot change a "
        "profile's kind; drop kind= or pass the name of a profile of kind "
        "'standalone-port-forward'."
    )
    assert caught.value.exit_code == 2
    # Naming the kind the profile already has changes nothing, as with KFP_KIND.
    assert resolve("staging", kind="standalone-in-cluster").sources["kind"] == "arg"


def test_secret_named_keyword_is_refused_as_no_field(profiles_file: Path) -> None:
    with pytest.raises(ProfileValidationError) as caught:
        resolve("prod", token="s3cr3t-value")
    assert str(caught.value) == (
        "Profile 'prod' in the keyword arguments: `token` is not a field of kind 'platform-dex'."
    )


def test_explaining_the_source_keeps_a_secret_in_file_error_whole() -> None:
    error = SecretInFileError(profile="prod", source="/p.toml", field="token")
    assert _explain_source(error, {"token": "arg"}, "prod") is error


def test_forward_is_managed_only_for_a_managed_forward_on_the_default_host(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve("dev").forward_is_managed
    assert not resolve("staging").forward_is_managed
    assert not resolve("dev", manage=False).forward_is_managed
    assert not resolve("dev", host="http://127.0.0.1:8888").forward_is_managed
    monkeypatch.setenv("KFP_HOST", "http://127.0.0.1:8888")
    assert not resolve("dev").forward_is_managed
