"""`check`, `doctor`, `port-forward` (cli/diagnose.py) against emulated Kubeflow.

`check` and `doctor` run in-process (``kfp_profiles.cli.run``, what the
console script calls) against the emulated Kubeflow front doors over real
HTTP on loopback. The only stand-in is for a Kubernetes cluster, which
cannot exist here: the fake `kubectl` of tests/fakes for `port-forward`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles.cli import run
from kfp_profiles.testing import Emulator
from tests.forwarding import sigint_as_at_a_terminal
from tests.helpers import (
    DEX_FILE,
    DEX_NAMESPACE,
    DEX_PASSWORD,
    DEX_USER,
    HANG_BOUND,
    SCRIPT,
    TWO_PROFILES,
    FakeCluster,
    free_port,
    step_lines,
    write_profiles,
)

# --- check and doctor against the emulated front doors -------------------------------------


DOORS = {
    # release -> (door doctor names, door the login names, approval page, login requests)
    "1.11": ("oauth2-proxy", "oauth2-proxy", "not shown", 4),
    "1.9.0": ("oauth2-proxy-first", "oauth2-proxy", "shown", 5),
    "1.8": ("oidc-authservice", "oidc-authservice", "auto-approved", 5),
}


def door_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith("front door")]
    assert lines, out
    return lines[0]


@pytest.mark.parametrize("release", list(DOORS))
def test_check_and_doctor_through_each_front_door(
    release: str,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    door, login_door, approval, requests = DOORS[release]
    with Emulator.for_release(release) as emulator:
        emulator.add_experiment("nightly", namespace=DEX_NAMESPACE)
        write_profiles(
            profiles_path,
            DEX_FILE.format(host=emulator.api_url, user=DEX_USER, namespace=DEX_NAMESPACE),
        )
        monkeypatch.setenv("KFP_PASSWORD", DEX_PASSWORD)

        assert run(["check", "prod"]) == 0
        out = capsys.readouterr().out
        steps = step_lines(out)
        assert [status[0] for status in steps.values()] == ["OK", "SKIP", "OK", "OK", "OK"]
        assert steps["authenticate"][-4:] == ["through", login_door, f"({requests}", "requests)"]
        assert steps["list experiments"][-4:] == ["experiment", "in", "namespace", DEX_NAMESPACE]
        assert out.splitlines()[-1] == "Profile 'prod' works."

        assert run(["doctor", "prod"]) == 0
        out = capsys.readouterr().out
        assert door_line(out).split()[3:5] == [f"{emulator.api_url}:", door]
        assert f"Dex connectors: local; approval page: {approval}" in out
        assert 'kind = "platform-dex"' in out
        assert DEX_PASSWORD not in out


def test_doctor_names_a_host_with_no_front_door_and_suggests_a_profile(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator(door="none") as emulator:
        assert run(["doctor", "--host", emulator.url]) == 0
        out = capsys.readouterr().out
        assert door_line(out).split()[3:6] == [f"{emulator.url}:", "none", "(no"]
        assert "KFP: single-user" in out
        port = emulator.url.rsplit(":", 1)[1]
        assert f'suggests    --    kind = "standalone-port-forward"; local_port = {port}' in out


def test_doctor_lists_several_connectors_and_old_dex_paths(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator.for_release("1.11", connectors=("local", "ldap")) as emulator:
        assert run(["doctor", "--host", emulator.api_url]) == 0
        assert "Dex connectors: local, ldap; approval page: not shown" in capsys.readouterr().out
    with Emulator.for_release("1.5") as emulator:
        assert run(["doctor", "--host", emulator.api_url]) == 0
        out = capsys.readouterr().out
        assert door_line(out).split()[4] == "oidc-authservice"
        assert "old Dex paths (v2.28 or earlier)" in out


def test_check_fails_with_the_login_error_and_its_exit_status(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator.for_release("1.11") as emulator:
        write_profiles(
            profiles_path,
            DEX_FILE.format(host=emulator.api_url, user=DEX_USER, namespace=DEX_NAMESPACE),
        )
        monkeypatch.setenv("KFP_PASSWORD", "wrong-password-123")
        assert run(["check", "prod"]) == 6
        captured = capsys.readouterr()
        steps = step_lines(captured.out)
        assert [status[0] for status in steps.values()] == ["OK", "SKIP", "FAIL", "SKIP", "SKIP"]
        assert captured.err.splitlines() == [
            "kfp-profiles: error: check of profile 'prod' failed: Dex at "
            f"{emulator.url} rejected the password of '{DEX_USER}' (connector 'local') for "
            "profile 'prod': it came from KFP_PASSWORD: set KFP_PASSWORD to the right one "
            "(or unset it to use the one in the OS keyring)."
        ]
        assert "wrong-password-123" not in captured.out + captured.err


def test_check_of_an_unreachable_host_fails_fast_with_status_5(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    write_profiles(
        profiles_path,
        f'[profiles.gone]\nkind = "standalone-in-cluster"\nhost = "http://127.0.0.1:{port}"\n',
    )
    started = time.monotonic()
    assert run(["check", "gone"]) == 5
    assert time.monotonic() - started < HANG_BOUND
    captured = capsys.readouterr()
    assert [s[0] for s in step_lines(captured.out).values()] == [
        "OK",
        "SKIP",
        "SKIP",
        "FAIL",
        "SKIP",
    ]
    assert "the connection was refused" in captured.err


def test_doctor_says_when_nothing_answers(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens there
    assert run(["doctor", "--host", f"http://127.0.0.1:{port}"]) == 1
    line = door_line(capsys.readouterr().out)
    assert line.startswith(f"front door  FAIL  nothing answers at http://127.0.0.1:{port}: ")
    assert "refused" in line and "profile" not in line

    write_profiles(
        profiles_path, f'[profiles.dev]\nkind = "standalone-port-forward"\nlocal_port = {port}\n'
    )
    assert run(["doctor", "dev"]) == 0  # a managed forward not running yet is no failure
    line = door_line(capsys.readouterr().out)
    assert line.startswith(f"front door  --    nothing answers at http://localhost:{port}: ")
    assert line.endswith("(or run `kfp-profiles port-forward dev`)")


def test_check_names_a_profile_with_a_space_whole(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens there
    write_profiles(
        profiles_path,
        f'[profiles."team a"]\nkind = "standalone-in-cluster"\nhost = "http://127.0.0.1:{port}"\n',
    )
    assert run(["check", "team a"]) == 5
    captured = capsys.readouterr()
    healthz = next(line for line in captured.out.splitlines() if line.startswith("healthz"))
    assert healthz.endswith(" s"), "the failure is said once, on the error line"
    assert captured.err.startswith(
        f"kfp-profiles: error: check of profile 'team a' failed: Cannot reach "
        f"http://127.0.0.1:{port} for profile 'team a'"
    )
    assert captured.err.count("\n") == 1


# --- the ServiceAccount token and kubectl, as doctor reports them --------------------------


def jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"


def test_doctor_decodes_the_token_and_never_prints_it(
    tmp_path: Path,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token_file = tmp_path / "token"
    claims = {
        "aud": ["pipelines.kubeflow.org"],
        "exp": int(time.time()) + 7200,
        "kubernetes.io": {"namespace": "team-a", "serviceaccount": {"name": "default-editor"}},
    }
    token = jwt(claims)
    token_file.write_text(token)
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(token_file))
    assert run(["doctor", "--offline"]) == 0
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("token")]
    assert line.startswith(
        f"token       ok    {token_file}: audience pipelines.kubeflow.org; expires "
    )
    assert "(in 119 min)" in line or "(in 120 min)" in line
    assert line.endswith("; namespace team-a; service account default-editor")
    for piece in token.split("."):
        assert piece not in out

    token_file.write_text(jwt({"aud": "kubernetes.default.svc", "exp": int(time.time()) - 60}))
    assert run(["doctor", "--offline"]) == 1  # a token the KFP API would refuse
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("token")]
    assert (
        "FAIL" in line
        and "ago" in line
        and "the KFP API needs audience pipelines.kubeflow.org" in line
    )


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs a real kubectl")
def test_doctor_lists_kubectl_contexts_from_the_kubeconfig(
    tmp_path: Path,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    clusters = "\n".join(
        f"- name: {name}\n  cluster: {{server: 'https://127.0.0.1:1'}}" for name in ("a", "b")
    )
    contexts = "\n".join(
        f"- name: {name}\n  context: {{cluster: {name[-1]}, user: u}}"
        for name in ("kind-a", "prod-b")
    )
    kubeconfig.write_text(
        f"apiVersion: v1\nkind: Config\nclusters:\n{clusters}\ncontexts:\n{contexts}\n"
        "users:\n- name: u\n  user: {}\ncurrent-context: prod-b\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    run(["doctor", "--offline"])
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("kubectl")]
    assert line.endswith("contexts: kind-a, prod-b (current)")


def test_check_of_an_in_cluster_profile_reads_the_token(
    tmp_path: Path, profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account = "system:serviceaccount:team-a:default-editor"
    token = jwt(
        {
            "aud": ["pipelines.kubeflow.org"],
            "exp": int(time.time()) + 3600,
            "kubernetes.io": {"namespace": "team-a", "serviceaccount": {"name": "default-editor"}},
        }
    )
    token_file = tmp_path / "token"
    token_file.write_text(token)
    with Emulator(door="none", multi_user=True, tokens={token: account}) as emulator:
        emulator.add_user_namespace(account, "team-a")
        emulator.add_experiment("in-the-pod", namespace="team-a")
        write_profiles(
            profiles_path,
            f"""
            [profiles.pod]
            kind = "platform-in-cluster"
            host = "{emulator.url}"
            namespace = "team-a"
            token_path = "{token_file}"
            """,
        )
        assert run(["check", "pod"]) == 0
    out = capsys.readouterr().out
    steps = step_lines(out)
    assert steps["authenticate"][0] == "OK"
    assert "audience pipelines.kubeflow.org" in " ".join(steps["authenticate"])
    assert steps["healthz"][-2:] == ["multi-user", "KFP"]
    assert steps["list experiments"][-5:] == ["1", "experiment", "in", "namespace", "team-a"]
    assert token not in out


# --- port-forward, through the stand-in kubectl (there is no cluster here) -----------------


def test_port_forward_runs_in_the_foreground_until_ctrl_c(
    cluster: FakeCluster, profiles_path: Path
) -> None:
    port = free_port()
    write_profiles(
        profiles_path, f'[profiles.dev]\nkind = "standalone-port-forward"\nlocal_port = {port}\n'
    )
    child = subprocess.Popen(
        [str(SCRIPT), "port-forward", "dev"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # like a shell job: Ctrl-C goes to the whole group
        preexec_fn=sigint_as_at_a_terminal,  # even when pytest runs as a background job
    )
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + HANG_BOUND
        line = ""
        while not line.startswith("Kubeflow Pipelines of profile 'dev'"):
            assert time.monotonic() < deadline
            line = child.stdout.readline()
            assert line, "port-forward exited early"
        assert f"http://localhost:{port}" in line
        with urllib.request.urlopen(
            f"http://localhost:{port}/apis/v2beta1/experiments", timeout=10
        ) as answer:
            names = [e["display_name"] for e in json.load(answer)["experiments"]]
        assert names == ["through-the-forward"]
        os.killpg(child.pid, signal.SIGINT)
        assert child.wait(HANG_BOUND) == 0
    finally:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(HANG_BOUND)


def test_check_starts_the_managed_port_forward(
    cluster: FakeCluster, profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    write_profiles(
        profiles_path, f'[profiles.dev]\nkind = "standalone-port-forward"\nlocal_port = {port}\n'
    )
    assert run(["check", "dev"]) == 0
    steps = step_lines(capsys.readouterr().out)
    assert steps["port-forward"][0] == "OK"
    assert steps["port-forward"][-4:] == ["KFP", "answers", "at", f"http://localhost:{port}"]
    assert steps["list experiments"][-2:] == ["1", "experiment"]


# --- the profiles file, as doctor reports it -----------------------------------------------


def test_doctor_reports_a_world_readable_file_once(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(profiles_path, '[profiles.a]\nkind = "standalone-in-cluster"\n', mode=0o644)
    run(["doctor", "--offline"])
    captured = capsys.readouterr()
    assert (
        f"file        WARN  {profiles_path} is mode 0644, readable by others: "
        f"run `chmod 600 {profiles_path}`"
    ) in captured.out.splitlines()
    assert "warning" not in captured.err


def test_doctor_fails_when_kfp_profile_names_no_profile(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(profiles_path, TWO_PROFILES)
    monkeypatch.setenv("KFP_PROFILE", "nosuch")
    assert run(["doctor", "--offline"]) == 1
    assert re.search(r"^profile     FAIL  No profile named 'nosuch'", capsys.readouterr().out, re.M)

    profiles_path.unlink()  # no file at all: a profile asked for still fails ...
    assert run(["doctor", "--offline"]) == 1
    assert re.search(r"^profile     FAIL  No profiles file at", capsys.readouterr().out, re.M)
    monkeypatch.delenv("KFP_PROFILE")  # ... and with none asked for it is only a note
    assert run(["doctor", "--offline"]) == 0
    assert re.search(r"^profile     --    No profiles file at", capsys.readouterr().out, re.M)


def test_doctor_reads_the_profiles_file_once(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kfp_profiles import files, resolution

    write_profiles(profiles_path, TWO_PROFILES)
    load = files.load_config
    loads: list[object] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads.append(args)
        return load(*args, **kwargs)

    monkeypatch.setattr(files, "load_config", counted)
    monkeypatch.setattr(resolution, "load_config", counted)
    assert run(["doctor", "--offline", "a"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^profile     ok    a \(standalone-in-cluster\)", out, re.M)
    assert len(loads) == 1


def test_doctor_fails_a_directory_named_as_the_profiles_file(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profiles_path.mkdir(parents=True)  # it said "profiles ok 0 profiles"
    run(["doctor", "--offline"])
    said = (
        f"{profiles_path} is a directory, not a profiles file; point KFP_PROFILES_FILE "
        f"at a file such as {profiles_path / 'profiles.toml'}."
    )
    lines = capsys.readouterr().out.splitlines()
    assert f"file        FAIL  {said}" in lines
    assert f"profiles    FAIL  {said}" in lines
