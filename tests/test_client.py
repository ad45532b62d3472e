"""get_client for every kind, through the real kfp SDK over real HTTP to the emulator."""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles import get_client
from kfp_profiles.errors import CaBundleError, ConnectionFailedError, SessionError
from kfp_profiles.testing import Blackhole, Emulator

from .helpers import write_profiles

NAMESPACE = "kubeflow-user-example-com"
SA_TOKEN = "sa-token-one"
SA_IDENTITY = f"system:serviceaccount:{NAMESPACE}:default-editor"


@pytest.fixture
def standalone() -> Iterator[Emulator]:
    with Emulator(door="none") as emu:
        emu.add_experiment("standalone-experiment")
        yield emu


@pytest.fixture
def in_cluster_platform() -> Iterator[Emulator]:
    tokens = {SA_TOKEN: SA_IDENTITY, "sa-token-two": SA_IDENTITY}
    with Emulator(door="none", multi_user=True, tokens=tokens) as emu:
        emu.add_experiment("team-experiment", namespace=NAMESPACE)
        emu.add_experiment("other-team", namespace="someone-else")
        yield emu


@pytest.fixture
def dex_platform() -> Iterator[Emulator]:
    with Emulator.for_release("1.11") as emu:
        emu.add_experiment("dex-experiment", namespace=NAMESPACE)
        yield emu


def use_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> Path:
    path = write_profiles(tmp_path / "profiles.toml", text)
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    return path


def use_pod_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, emu: Emulator, token: Path | None = None
) -> None:
    """Profile `pod`: platform-in-cluster against ``emu``, token at ``token`` when given."""
    token_line = f'token_path = "{token}"' if token else ""
    use_file(
        monkeypatch,
        tmp_path,
        f"""
        [profiles.pod]
        kind = "platform-in-cluster"
        host = "{emu.api_url}"
        namespace = "{NAMESPACE}"
        {token_line}
        """,
    )


def names(client: Any) -> list[str]:
    response = client.list_experiments()
    return sorted(e.display_name for e in (response.experiments or []))


def last_api_request(emu: Emulator) -> Any:
    return [r for r in emu.requests if "/apis/" in r.path][-1]


def test_standalone_in_cluster(
    standalone: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_file(
        monkeypatch,
        tmp_path,
        f"""
        [profiles.lab]
        kind = "standalone-in-cluster"
        host = "{standalone.api_url}"
    """,
    )
    client = get_client("lab")
    assert standalone.total_requests == 0, "building the client does no network I/O"
    assert names(client) == ["standalone-experiment"]


def test_standalone_port_forward_reuses_a_running_forward(
    standalone: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = int(standalone.url.rsplit(":", 1)[1])
    use_file(
        monkeypatch,
        tmp_path,
        f"""
        [profiles.dev]
        kind = "standalone-port-forward"
        local_port = {port}
        manage = false
    """,
    )
    client = get_client("dev")
    assert names(client) == ["standalone-experiment"]


def test_platform_in_cluster_sends_token_and_namespace(
    in_cluster_platform: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text(SA_TOKEN + "\n")
    use_pod_profile(monkeypatch, tmp_path, in_cluster_platform, token)
    client = get_client("pod")
    assert names(client) == ["team-experiment"]
    sent = last_api_request(in_cluster_platform)
    assert sent.headers.get("Authorization") == f"Bearer {SA_TOKEN}"
    assert sent.query.get("namespace") == NAMESPACE


def test_platform_in_cluster_token_path_from_sdk_variable(
    in_cluster_platform: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "mounted" / "token"
    token.parent.mkdir()
    token.write_text(SA_TOKEN)
    use_pod_profile(monkeypatch, tmp_path, in_cluster_platform)
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(token))
    assert names(get_client("pod")) == ["team-experiment"]


def test_token_rotation_by_kubelet_symlink_swap(
    in_cluster_platform: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The layout the kubelet writes for a projected volume: token -> ..data/token,
    # ..data -> a timestamped folder, swapped atomically on rotation.
    volume = tmp_path / "volume"
    volume.mkdir()
    first, second = volume / "..2026_11_28_01", volume / "..2026_11_28_02"
    for folder, token in ((first, SA_TOKEN), (second, "sa-token-two")):
        folder.mkdir()
        (folder / "token").write_text(token)
    (volume / "..data").symlink_to(first.name)
    (volume / "token").symlink_to("..data/token")
    use_pod_profile(monkeypatch, tmp_path, in_cluster_platform, volume / "token")
    client = get_client("pod")
    client.list_experiments()
    assert last_api_request(in_cluster_platform).headers["Authorization"] == f"Bearer {SA_TOKEN}"
    staging = volume / "..data_tmp"
    staging.symlink_to(second.name)
    staging.replace(volume / "..data")
    client.list_experiments()
    assert last_api_request(in_cluster_platform).headers["Authorization"] == "Bearer sa-token-two"


@pytest.mark.keyring
def test_platform_dex_password_travels_from_keyring_to_login(
    dex_platform: Emulator,
    keyring_backend: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keyring

    keyring.set_password("kfp-profiles", "prod", "12341234")
    use_file(
        monkeypatch,
        tmp_path,
        f"""
        [profiles.prod]
        kind = "platform-dex"
        host = "{dex_platform.api_url}"
        username = "user@example.com"
        namespace = "{NAMESPACE}"
    """,
    )
    client = get_client("prod")
    assert names(client) == ["dex-experiment"]
    sent = last_api_request(dex_platform)
    assert "oauth2_proxy_kubeflow" in sent.cookies
    assert sent.query.get("namespace") == NAMESPACE


def test_kfp_profile_switches_cluster_without_code_change(
    standalone: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(door="none") as other:
        other.add_experiment("staging-experiment")
        use_file(
            monkeypatch,
            tmp_path,
            f"""
            default = "prod"
            [profiles.prod]
            kind = "standalone-in-cluster"
            host = "{standalone.api_url}"
            [profiles.staging]
            kind = "standalone-in-cluster"
            host = "{other.api_url}"
        """,
        )
        assert names(get_client()) == ["standalone-experiment"]
        monkeypatch.setenv("KFP_PROFILE", "staging")
        assert names(get_client()) == ["staging-experiment"]


def test_kfp_host_redirects_one_profile(
    standalone: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_file(
        monkeypatch,
        tmp_path,
        """
        [profiles.lab]
        kind = "standalone-in-cluster"
        host = "http://127.0.0.1:9"
    """,
    )
    monkeypatch.setenv("KFP_HOST", standalone.api_url)
    assert names(get_client("lab")) == ["standalone-experiment"]


def test_context_json_is_neither_read_nor_written(
    in_cluster_platform: Emulator,
    isolated_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kfp

    context = isolated_home / ".config" / "kfp" / "context.json"
    context.parent.mkdir(parents=True)
    stale = {
        "namespace": "stale-namespace",
        "client_authentication_cookie": "stale_cookie=leaked",
        "client_authentication_header_name": "X-Stale-Header",
        "client_authentication_header_value": "leaked",
    }
    context.write_text(json.dumps(stale))
    before = (context.read_bytes(), context.stat().st_mtime_ns)
    # The SDK fixes this path when kfp is imported: point it at this test's home.
    monkeypatch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(context))
    token = tmp_path / "token"
    token.write_text(SA_TOKEN)
    use_pod_profile(monkeypatch, tmp_path, in_cluster_platform, token)
    client = get_client("pod")
    assert names(client) == ["team-experiment"]
    client.create_experiment("made-here")
    client.set_user_namespace(NAMESPACE)
    for request in in_cluster_platform.requests:
        assert "stale_cookie" not in request.headers.get("Cookie", "")
        assert "X-Stale-Header" not in request.headers
        assert request.query.get("namespace") in (None, NAMESPACE)
    assert (context.read_bytes(), context.stat().st_mtime_ns) == before


def test_no_future_warning_reaches_the_user(
    standalone: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_file(
        monkeypatch,
        tmp_path,
        f"""
        [profiles.lab]
        kind = "standalone-in-cluster"
        host = "{standalone.api_url}"
    """,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_client("lab")
    assert [w for w in caught if issubclass(w.category, FutureWarning)] == []


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: the worst server there is."""
    with Blackhole() as url:
        yield url


def test_server_that_never_answers_fails_instead_of_hanging(
    silent_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_file(
        monkeypatch,
        tmp_path,
        f"""
        [profiles.stuck]
        kind = "standalone-in-cluster"
        host = "{silent_server}"
        timeout = 1
    """,
    )
    started = time.monotonic()
    client = get_client("stuck")
    built = time.monotonic() - started
    with pytest.raises(ConnectionFailedError) as caught:
        client.list_experiments()
    failed = time.monotonic() - started
    # Generous bounds: the promise is "returns at once, fails instead of hanging".
    assert built < 5
    assert failed < 15
    assert silent_server in str(caught.value)
    # The timeout is a deadline: the message names the request and what it was waiting for.
    assert str(caught.value) == (
        f"{silent_server} did not finish GET /apis/v2beta1/experiments for profile 'stuck' "
        "within the 1 s `timeout`: no answer came (not even its whole status line); check "
        "the server, or raise `timeout` in the profile."
    )


@pytest.mark.parametrize(
    ("host", "cause"),
    [
        ("http://127.0.0.1:9", "refused"),
        ("http://no-such-host.invalid", "does not resolve"),
    ],
)
def test_unreachable_host_is_a_typed_error_naming_host_and_cause(
    host: str, cause: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_file(
        monkeypatch,
        tmp_path,
        f"""
        [profiles.away]
        kind = "standalone-in-cluster"
        host = "{host}"
        timeout = 5
    """,
    )
    with pytest.raises(ConnectionFailedError) as caught:
        get_client("away").list_experiments()
    assert host in str(caught.value)
    assert cause in str(caught.value)


def test_tls_failure_is_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(door="none", tls=True) as emu:
        emu.add_experiment("over-tls")
        use_file(
            monkeypatch,
            tmp_path,
            f"""
            [profiles.tls]
            kind = "standalone-in-cluster"
            host = "{emu.api_url}"
        """,
        )
        with pytest.raises(ConnectionFailedError) as caught:
            get_client("tls").list_experiments()
        assert "TLS failed" in str(caught.value)
        assert "ca_bundle" in str(caught.value)
        # With the emulator's CA the same profile works.
        listed = get_client("tls", ca_bundle=str(emu.ca_path)).list_experiments()
        assert listed is not None
        assert [e.display_name for e in listed.experiments or []] == ["over-tls"]


def test_login_page_is_an_error_never_an_empty_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A standalone profile pointed at a Platform: the door redirects to Dex. The
    # bare SDK would decode the login page into experiments=None.
    with Emulator.for_release("1.9.0") as emu:
        emu.add_experiment("hidden", namespace=NAMESPACE)
        use_file(
            monkeypatch,
            tmp_path,
            f"""
            [profiles.wrong]
            kind = "standalone-in-cluster"
            host = "{emu.api_url}"
        """,
        )
        with pytest.raises(SessionError) as caught:
            get_client("wrong").list_experiments()
        assert "platform-dex" in str(caught.value)


def test_import_is_light() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import kfp_profiles"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    ).stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.splitlines()[1:]}
    assert "kfp_profiles" in imported
    for heavy in ("kfp", "kfp_server_api", "requests", "keyring", "pydantic_settings", "urllib3"):
        assert heavy not in imported


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_an_unreadable_ca_bundle_from_the_environment_is_named_with_its_variable(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No `ca_bundle` in the profile: the trust in use is the variable's path.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "/nonexistent/ca.pem")
    with Emulator(door="none", tls=True) as emu:
        use_file(
            monkeypatch,
            tmp_path,
            f"""
            [profiles.tls]
            kind = "standalone-in-cluster"
            host = "{emu.api_url}"
            timeout = 5
        """,
        )
        with pytest.raises(ConnectionFailedError) as caught:
            get_client("tls").list_experiments()
        assert str(caught.value) == (
            f"Cannot reach {emu.url} for profile 'tls': the CA bundle /nonexistent/ca.pem named "
            f"by {variable} cannot be read; point {variable} at an existing PEM file, or unset it."
        )


def test_an_unreadable_ca_bundle_of_the_profile_is_named_as_its_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/from-the-environment.pem")
    missing = tmp_path / "gone" / "ca.pem"
    with Emulator(door="none", tls=True) as emu:
        use_file(
            monkeypatch,
            tmp_path,
            f"""
            [profiles.tls]
            kind = "standalone-in-cluster"
            host = "{emu.api_url}"
        """,
        )
        # Issue 10: a configuration error when the profile is resolved (exit 2), no
        # longer a connection failure at the first call (exit 5).
        with pytest.raises(CaBundleError) as caught:
            get_client("tls", ca_bundle=str(missing))
        assert str(caught.value) == (
            f"Profile 'tls': `ca_bundle` {missing} (set in the keyword arguments) does not "
            "exist; point it at the PEM file of your cluster's CA, or remove it to trust the "
            "system's CAs."
        )
        assert caught.value.exit_code == 2


def test_a_profile_that_skips_tls_checks_is_warned_about_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from kfp_profiles import client as client_module

    monkeypatch.setattr(client_module, "_UNVERIFIED_WARNED", set())
    with Emulator(door="none", tls=True) as emu:
        use_file(
            monkeypatch,
            tmp_path,
            f"""
            [profiles.lab]
            kind = "standalone-in-cluster"
            host = "{emu.api_url}"
            verify_tls = false
            [profiles.lab2]
            kind = "standalone-in-cluster"
            host = "{emu.api_url}"
            verify_tls = false
            """,
        )
        with caplog.at_level("WARNING", logger="kfp_profiles"):
            for _ in range(3):
                get_client("lab").list_experiments()
            get_client("lab2")
    warned = [r.getMessage() for r in caplog.records if "does not check TLS" in r.getMessage()]
    assert warned == [
        f"Profile '{name}' does not check TLS certificates (verify_tls = false, from "
        f"file:{tmp_path / 'profiles.toml'}): anyone on the network path can read its "
        "credentials; set `ca_bundle` to your cluster's CA instead."
        for name in ("lab", "lab2")
    ]
