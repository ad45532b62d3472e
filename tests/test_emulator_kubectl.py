"""The stand-in `kubectl create token` gets real tokens from the emulated cluster (tests/fakes).

It is run as a process, as the product runs a ``token_command``; it asks the
emulator's Kubernetes API (``Emulator.kube_url``) for a TokenRequest over real
HTTP, prints what the real kubectl prints, fails with its words, and logs
each run so tests can count them. The cluster's side (kfp_profiles/testing/kube.py)
is checked through it. There is no Kubernetes cluster in the tests: that is
the one thing stood in for.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from kfp_profiles.testing import Emulator
from kfp_profiles.testing.jwt import claims_of

from .browser import API, NAMESPACE, raw
from .helpers import FAKES, free_port

KUBECTL = str(FAKES / "kubectl")
LIST = f"/pipeline{API}/experiments?namespace={NAMESPACE}"
#: `kubectl -n kubeflow-user-example-com create token default-editor`, the issue's example.
CREATE_TOKEN = ("-n", NAMESPACE, "create", "token", "default-editor")


def epoch_of(timestamp: str) -> float:
    """An RFC 3339 UTC timestamp, as Kubernetes writes ``expirationTimestamp``, in epoch seconds."""
    moment = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ")
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


def kubectl(
    emu: Emulator, *args: str, log: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    variables = {**os.environ, "FAKE_KUBECTL_API": emu.kube_url, **env}
    if log is not None:
        variables["FAKE_KUBECTL_TOKEN_LOG"] = str(log)
    return subprocess.run(
        [KUBECTL, *args], capture_output=True, text=True, env=variables, timeout=60
    )


def test_create_token_prints_a_token_the_gateway_takes_and_logs_its_run(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    with Emulator.for_release("1.11") as emu:
        done = kubectl(
            emu, "-n", NAMESPACE, "create", "token", "default-editor", "--duration", "1h", log=log
        )
        answer = raw(emu, "GET", LIST, headers={"Authorization": f"Bearer {done.stdout}"})
        created, kube_counts = emu.tokens_created, emu.kube_counts
    assert (done.returncode, done.stderr) == (0, "")
    assert "\n" not in done.stdout  # not a terminal: the bare token, as kubectl prints it
    claims = claims_of(done.stdout)
    assert claims["sub"] == f"system:serviceaccount:{NAMESPACE}:default-editor"
    assert claims["exp"] - claims["iat"] == 3600
    assert answer.status == 200
    (run,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert run["argv"][1:] == [
        "-n",
        NAMESPACE,
        "create",
        "token",
        "default-editor",
        "--duration",
        "1h",
    ]
    assert created == 1
    path = f"POST /api/v1/namespaces/{NAMESPACE}/serviceaccounts/default-editor/token"
    assert kube_counts == {path: 1}


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ["create", "token", "default-editor"],  # the namespace "default" has no such account
            'error: failed to create token: serviceaccounts "default-editor" not found\n',
        ),
        (
            ["-n", "kubeflow-nobody", "create", "token", "default-editor"],
            'error: failed to create token: serviceaccounts "default-editor" not found\n',
        ),
        (
            ["-n", NAMESPACE, "create", "token", "default-editor", "--duration", "5m"],
            'error: failed to create token: TokenRequest.authentication.k8s.io "default-editor" '
            "is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration "
            "less than 10 minutes\n",
        ),
        (
            ["-n", NAMESPACE, "create", "token", "default-editor", "--duration", "soon"],
            'error: invalid argument "soon" for "--duration" flag: time: invalid duration "soon"\n'
            "See 'kubectl create token --help' for usage.\n",
        ),
        (
            ["-n", NAMESPACE, "create", "token"],
            "error: exactly one NAME is required, got 0\n"
            "See 'kubectl create token -h' for help and examples\n",
        ),
        (
            ["--context", "elsewhere", "-n", NAMESPACE, "create", "token", "default-editor"],
            'error: context "elsewhere" does not exist\n',
        ),
    ],
)
def test_create_token_fails_with_kubectls_words(
    args: list[str], stderr: str, tmp_path: Path
) -> None:
    log = tmp_path / "runs.jsonl"
    with Emulator.for_release("1.11") as emu:
        done = kubectl(emu, *args, log=log)
        created = emu.tokens_created
    assert (done.returncode, done.stdout, done.stderr) == (1, "", stderr)
    assert len(log.read_text().splitlines()) == 1 and created == 0


def test_the_api_server_may_give_a_shorter_life_than_asked() -> None:
    with Emulator.for_release("1.11") as emu:
        emu.service_account_token_lifetime = 5
        done = kubectl(emu, *CREATE_TOKEN, "--duration", "1h")
    claims = claims_of(done.stdout)
    assert claims["exp"] - claims["iat"] == 5


def test_audiences_and_the_token_request_as_json() -> None:
    with Emulator.for_release("1.11") as emu:
        done = kubectl(
            emu,
            *CREATE_TOKEN,
            "--audience",
            "pipelines.kubeflow.org",
            "--audience=https://kubernetes.default.svc.cluster.local",
            "-o",
            "json",
        )
    request = json.loads(done.stdout)
    assert request["kind"] == "TokenRequest"
    claims = claims_of(request["status"]["token"])
    assert claims["aud"] == [
        "pipelines.kubeflow.org",
        "https://kubernetes.default.svc.cluster.local",
    ]
    assert request["spec"]["audiences"] == claims["aud"]
    assert epoch_of(request["status"]["expirationTimestamp"]) == claims["exp"]


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_an_exec_credential_as_credential_helpers_print_it(version: str) -> None:
    with Emulator.for_release("1.11") as emu:
        done = kubectl(emu, *CREATE_TOKEN, FAKE_KUBECTL_EXEC_CREDENTIAL=version)
    credential = json.loads(done.stdout)
    assert credential["apiVersion"] == f"client.authentication.k8s.io/{version}"
    assert credential["kind"] == "ExecCredential"
    status = credential["status"]
    assert epoch_of(status["expirationTimestamp"]) == claims_of(status["token"])["exp"]


def test_no_api_server_is_a_refused_connection() -> None:
    with Emulator.for_release("1.11") as emu:
        api = f"http://127.0.0.1:{free_port()}"
        done = kubectl(emu, "-n", NAMESPACE, "create", "token", "x", FAKE_KUBECTL_API=api)
    url = f"{api}/api/v1/namespaces/{NAMESPACE}/serviceaccounts/x/token"
    assert done.returncode == 1
    assert done.stderr == (
        f'error: failed to create token: Post "{url}": dial tcp {api[7:]}: '
        "connect: connection refused\n"
    )


def test_every_run_is_counted_even_when_many_run_at_once(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    with Emulator.for_release("1.11") as emu, ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(lambda _: kubectl(emu, *CREATE_TOKEN, log=log), range(8)))
        created = emu.tokens_created
    assert [r.returncode for r in runs] == [0] * 8
    assert len(log.read_text().splitlines()) == 8 == created


def test_a_service_account_given_a_namespace_can_get_tokens() -> None:
    account = "system:serviceaccount:ci:runner"
    with Emulator.for_release("1.11") as emu:
        emu.add_user_namespace(account, NAMESPACE)
        done = kubectl(emu, "-n", "ci", "create", "token", "runner")
        answer = raw(emu, "GET", LIST, headers={"Authorization": f"Bearer {done.stdout}"})
    assert done.returncode == 0 and answer.status == 200


def test_port_forward_flags_are_unknown_to_create_token() -> None:
    with Emulator.for_release("1.11") as emu:
        done = kubectl(emu, *CREATE_TOKEN, "--address", "0")
    assert done.returncode == 1
    assert done.stderr == (
        "Error: unknown flag: --address\nSee 'kubectl create token --help' for usage.\n"
    )


def test_the_cluster_answers_token_reviews() -> None:
    with Emulator.for_release("1.11") as emu:
        token = kubectl(emu, *CREATE_TOKEN, "--audience", "pipelines.kubeflow.org").stdout

        def review(audiences: list[str]) -> dict[str, object]:
            body = {"spec": {"token": token, "audiences": audiences}}
            answer = requests.post(
                f"{emu.kube_url}/apis/authentication.k8s.io/v1/tokenreviews", json=body, timeout=10
            )
            status: dict[str, object] = answer.json()["status"]
            return status

        right, wrong = review(["pipelines.kubeflow.org"]), review(["someone-else"])
    assert right["authenticated"] is True
    assert right["user"] == {
        "username": f"system:serviceaccount:{NAMESPACE}:default-editor",
        "groups": [
            "system:serviceaccounts",
            f"system:serviceaccounts:{NAMESPACE}",
            "system:authenticated",
        ],
    }
    assert wrong["authenticated"] is False
