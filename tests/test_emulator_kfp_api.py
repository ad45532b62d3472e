"""The emulated KFP API answers as the real one does (kfp_profiles/testing/kfp_api.py).

Everything runs over real HTTP on loopback, driven with ``requests``, with
``http.client`` (tests/browser.py) and with the real ``kfp`` SDK. The
emulator is itself the stand-in for a cluster, so nothing here is mocked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from kfp_profiles.testing import Emulator

from .browser import (
    API,
    NAMESPACE,
    TIMEOUT,
    USER,
    error_of,
    raw,
)

# --- standalone KFP (no door) --------------------------------------------------------------


def test_standalone_root_answers_200_without_redirect_or_cookie() -> None:
    with Emulator() as emu:
        answer = raw(emu, "GET", "/")
    assert answer.status == 200
    assert answer.location == ""
    assert answer.set_cookies == {}


@pytest.mark.parametrize("prefix", ["", "/pipeline"])
def test_standalone_serves_the_api_at_root_and_under_pipeline(prefix: str) -> None:
    with Emulator() as emu:
        assert emu.api_url == emu.url
        response = requests.get(f"{emu.url}{prefix}{API}/healthz", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    health = response.json()
    assert health["multi_user"] is False
    assert health["tag_name"] == "2.4.1"
    assert health["commit_sha"]


def test_single_user_ignores_the_namespace_and_empty_lists_are_empty_objects() -> None:
    with Emulator() as emu:
        assert requests.get(f"{emu.url}{API}/experiments", timeout=TIMEOUT).json() == {}
        assert requests.get(f"{emu.url}{API}/runs", timeout=TIMEOUT).json() == {}
        created = requests.post(
            f"{emu.url}{API}/experiments",
            json={"display_name": "exp", "namespace": "somebody"},
            timeout=TIMEOUT,
        ).json()
        listed = requests.get(
            f"{emu.url}{API}/experiments", params={"namespace": "another"}, timeout=TIMEOUT
        ).json()
    assert "namespace" not in created
    assert "description" not in created  # empty fields are left out
    assert set(created) == {"experiment_id", "display_name", "created_at", "storage_state"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created["created_at"])
    assert listed == {"experiments": [created], "total_size": 1}


def test_experiments_list_pages_sorts_and_filters() -> None:
    with Emulator() as emu:
        for name in ["c", "a", "e", "b", "d"]:
            emu.add_experiment(name)

        def names(**params: str) -> tuple[list[str], dict[str, Any]]:
            body = requests.get(
                f"{emu.url}{API}/experiments", params=params, timeout=TIMEOUT
            ).json()
            return [e["display_name"] for e in body.get("experiments", [])], body

        seen, body = names(page_size="2")
        assert body["total_size"] == 5
        while "next_page_token" in body:
            more, body = names(page_size="2", page_token=body["next_page_token"])
            seen += more
        assert seen == ["c", "a", "e", "b", "d"]
        assert names(sort_by="display_name desc")[0] == ["e", "d", "c", "b", "a"]
        sdk_filter = {
            "predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": "b"}]
        }
        assert names(filter=json.dumps(sdk_filter))[0] == ["b"]
        substring = {"predicates": [{"operation": 9, "key": "name", "string_value": "d"}]}
        assert names(filter=json.dumps(substring))[0] == ["d"]
        bad_token = requests.get(
            f"{emu.url}{API}/experiments", params={"page_token": "%%"}, timeout=TIMEOUT
        )
        assert error_of(bad_token)[:2] == (400, 3)


@pytest.mark.parametrize("resource", ["experiments", "runs"])
def test_a_bad_filter_is_rejected_even_when_there_is_nothing_to_list(resource: str) -> None:
    unsupported = {"predicates": [{"operation": "LESS_THAN", "key": "name", "int_value": 1}]}
    with Emulator() as emu:
        for bad_filter in ("not json", json.dumps(unsupported)):
            answer = requests.get(
                f"{emu.url}{API}/{resource}", params={"filter": bad_filter}, timeout=TIMEOUT
            )
            assert error_of(answer)[:2] == (400, 3)


def test_experiment_get_by_id_and_unknown_id() -> None:
    with Emulator() as emu:
        made = emu.add_experiment("wanted", description="why")
        found = requests.get(f"{emu.url}{API}/experiments/{made['experiment_id']}", timeout=TIMEOUT)
        missing = requests.get(f"{emu.url}{API}/experiments/no-such-id", timeout=TIMEOUT)
    assert found.json() == made
    assert made["description"] == "why"
    assert error_of(missing)[:2] == (404, 5)


def test_runs_go_pending_running_succeeded_over_successive_gets() -> None:
    with Emulator() as emu:
        experiment = emu.add_experiment("exp")
        body = {
            "experiment_id": experiment["experiment_id"],
            "display_name": "run-1",
            "pipeline_spec": {"pipelineInfo": {"name": "p"}},
            "runtime_config": {"parameters": {"x": 1}},
        }
        created = requests.post(f"{emu.url}{API}/runs", json=body, timeout=TIMEOUT).json()
        run_url = f"{emu.url}{API}/runs/{created['run_id']}"
        states = [requests.get(run_url, timeout=TIMEOUT).json() for _ in range(3)]
        listed = requests.get(
            f"{emu.url}{API}/runs",
            params={"experiment_id": experiment["experiment_id"]},
            timeout=TIMEOUT,
        ).json()
        unknown = requests.get(f"{emu.url}{API}/runs/nope", timeout=TIMEOUT)
        nameless = requests.post(
            f"{emu.url}{API}/runs", json={**body, "display_name": ""}, timeout=TIMEOUT
        )
    assert created["state"] == "PENDING"
    assert created["runtime_config"] == {"parameters": {"x": 1}}
    assert [s["state"] for s in states] == ["RUNNING", "SUCCEEDED", "SUCCEEDED"]
    assert "finished_at" not in states[0] and "finished_at" in states[1]
    assert [h["state"] for h in states[1]["state_history"]] == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert [r["run_id"] for r in listed["runs"]] == [created["run_id"]]
    assert error_of(unknown)[:2] == (404, 5)
    assert error_of(nameless)[:2] == (400, 3)


# --- multi-user errors, identity, tokens ---------------------------------------------------


def test_multi_user_api_errors_are_grpc_gateway_bodies() -> None:
    with Emulator(multi_user=True) as emu:
        url = f"{emu.url}{API}/experiments"
        as_user = {"kubeflow-userid": USER}
        no_namespace = requests.get(url, headers=as_user, timeout=TIMEOUT)
        no_identity = requests.get(url, params={"namespace": NAMESPACE}, timeout=TIMEOUT)
        stranger = requests.get(
            url,
            params={"namespace": NAMESPACE},
            headers={"kubeflow-userid": "other@example.com"},
            timeout=TIMEOUT,
        )
        allowed = requests.get(
            url, params={"namespace": NAMESPACE}, headers=as_user, timeout=TIMEOUT
        )
        emu.add_user_namespace("other@example.com", NAMESPACE)
        granted = requests.get(
            url,
            params={"namespace": NAMESPACE},
            headers={"kubeflow-userid": "other@example.com"},
            timeout=TIMEOUT,
        )
        create_without_namespace = requests.post(
            url, json={"display_name": "x"}, headers=as_user, timeout=TIMEOUT
        )
        health = requests.get(f"{emu.url}{API}/healthz", timeout=TIMEOUT).json()

    status, code, message = error_of(no_namespace)
    assert (status, code) == (400, 3)
    assert message.endswith("An experiment cannot have an empty namespace in multi-user mode")
    status, code, message = error_of(no_identity)
    assert (status, code) == (401, 16)
    assert message.endswith("User identity is empty in the request header")
    status, code, message = error_of(stranger)
    assert (status, code) == (403, 7)
    assert message.startswith("User 'other@example.com' is not authorized")
    assert allowed.status_code == 200 and granted.status_code == 200
    assert error_of(create_without_namespace)[:2] == (400, 3)
    assert health["multi_user"] is True


def test_bearer_tokens_stand_in_for_tokenreview() -> None:
    account = "system:serviceaccount:team-a:runner"
    with Emulator(multi_user=True, tokens={"sa-token": account}) as emu:
        emu.add_experiment("theirs", namespace="team-a")
        url = f"{emu.url}{API}/experiments"

        def list_in(namespace: str, token: str) -> requests.Response:
            return requests.get(
                url,
                params={"namespace": namespace},
                headers={"Authorization": f"Bearer {token}"},
                timeout=TIMEOUT,
            )

        own = list_in("team-a", "sa-token")
        other = list_in(NAMESPACE, "sa-token")
        unknown = list_in("team-a", "forged")
    assert [e["display_name"] for e in own.json()["experiments"]] == ["theirs"]
    status, code, message = error_of(other)
    assert (status, code) == (403, 7) and message.startswith(f"User '{account}'")
    assert error_of(unknown)[:2] == (401, 16)


# --- the real kfp SDK ----------------------------------------------------------------------


def compile_tiny_pipeline(kfp: Any, path: Path) -> Path:
    from kfp import compiler, components, dsl

    say_hello = components.load_component_from_text(
        "name: say-hello\nimplementation:\n  container:\n    image: alpine\n    command: ['true']\n"
    )

    def pipeline() -> None:
        say_hello()

    # kfp reads annotations as types; this file's are strings (PEP 563).
    pipeline.__annotations__.clear()
    compiler.Compiler().compile(dsl.pipeline(name="emulated")(pipeline), str(path))
    return path


def test_real_kfp_client_lists_creates_and_waits(kfp_module: Any, tmp_path: Path) -> None:
    package = compile_tiny_pipeline(kfp_module, tmp_path / "pipeline.yaml")
    with Emulator() as emu:
        # A non-empty namespace keeps the constructor from probing healthz.
        client = kfp_module.Client(host=emu.api_url, namespace="ignored")
        assert client.list_experiments().experiments is None  # the server's `{}`
        emu.add_experiment("seeded")
        made = client.create_experiment("made-by-sdk")
        names = sorted(e.display_name for e in client.list_experiments().experiments)
        result = client.create_run_from_pipeline_package(
            str(package), arguments={}, experiment_name="made-by-sdk"
        )
        run = client.wait_for_run_completion(result.run_id, timeout=30, sleep_duration=0)
        run_gets = emu.counts[f"GET {API}/runs/{result.run_id}"]
        sent_run = next(r for r in emu.requests if r.method == "POST" and r.path == f"{API}/runs")
    assert names == ["made-by-sdk", "seeded"]
    assert run.state == "SUCCEEDED" and run.experiment_id == made.experiment_id
    assert run_gets == 2
    assert json.loads(sent_run.body)["pipeline_spec"]["pipelineInfo"]["name"] == "emulated"
