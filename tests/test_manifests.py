"""`kfp-profiles manifest`: valid YAML, valid Kubernetes, the fields the PodDefault webhook reads.

Pod and RoleBinding are checked offline against the Kubernetes OpenAPI schemas
with kubernetes-validate (strict: unknown fields fail). PodDefault is a
Kubeflow CRD that schema set does not know, so its spec is checked for the
fields Kubeflow's admission webhook reads, and the volumes, mounts and env it
injects are validated as part of a Pod, which is what the webhook produces.
"""

from __future__ import annotations

import copy
import posixpath
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kfp_profiles import manifests
from kfp_profiles.cli import run
from kfp_profiles.errors import ConfigError

K8S_VERSION = kubernetes_validate.latest_version()


def validate(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def cli_yaml(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert run(["manifest", *args]) == 0
    out = capsys.readouterr().out
    documents = list(yaml.safe_load_all(out))
    assert len(documents) == 1
    document: dict[str, Any] = documents[0]
    return document


def test_pod_is_valid_kubernetes_with_the_projected_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pod = cli_yaml(capsys, "pod", "--namespace", "kubeflow-user-example-com")
    validate(pod)
    assert pod["metadata"]["namespace"] == "kubeflow-user-example-com"
    spec = pod["spec"]
    assert spec["serviceAccountName"] == "default-editor"
    (volume,) = spec["volumes"]
    (source,) = volume["projected"]["sources"]
    token = source["serviceAccountToken"]
    assert token == {
        "path": "token",
        "expirationSeconds": 7200,
        "audience": "pipelines.kubeflow.org",
    }
    (container,) = spec["containers"]
    (mount,) = container["volumeMounts"]
    assert mount == {
        "mountPath": "/var/run/secrets/kubeflow/pipelines",
        "name": volume["name"],
        "readOnly": True,
    }
    assert {
        "name": "KF_PIPELINES_SA_TOKEN_PATH",
        "value": "/var/run/secrets/kubeflow/pipelines/token",
    } in container["env"]


def test_rolebinding_is_valid_kubernetes_and_binds_kubeflow_edit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    binding = cli_yaml(capsys, "rolebinding", "--namespace", "team-b", "--from-namespace", "team-a")
    validate(binding)
    assert binding["metadata"]["namespace"] == "team-b"
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "kubeflow-edit",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "default-editor", "namespace": "team-a"}
    ]


def test_the_validator_would_catch_a_broken_manifest() -> None:
    broken = manifests.pod("team-a")
    broken["spec"]["containers"][0]["volumeMount"] = []  # a typo of volumeMounts
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
    unbound = manifests.rolebinding("team-b", "team-a")
    del unbound["roleRef"]
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(unbound)


def test_poddefault_carries_what_the_admission_webhook_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = cli_yaml(capsys, "poddefault", "--namespace", "kubeflow-user-example-com")
    assert document["apiVersion"] == "kubeflow.org/v1alpha1"
    assert document["kind"] == "PodDefault"
    assert document["metadata"] == {
        "name": "access-ml-pipeline",
        "namespace": "kubeflow-user-example-com",
    }
    spec = document["spec"]
    assert spec["selector"] == {"matchLabels": {"access-ml-pipeline": "true"}}
    assert spec["desc"]
    token = spec["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
    assert token["audience"] == "pipelines.kubeflow.org"
    assert token["expirationSeconds"] == 7200
    (mount,) = spec["volumeMounts"]
    (env,) = spec["env"]
    assert env["name"] == "KF_PIPELINES_SA_TOKEN_PATH"
    assert env["value"] == posixpath.join(mount["mountPath"], token["path"])
    assert mount["name"] == spec["volumes"][0]["name"]

    # What the webhook does with it: merge into a labelled pod, which must stay valid.
    pod = manifests.pod("kubeflow-user-example-com")
    container = pod["spec"]["containers"][0]
    container["env"], container["volumeMounts"], pod["spec"]["volumes"] = [], [], []
    injected = copy.deepcopy(pod)
    injected["metadata"]["labels"] = dict(spec["selector"]["matchLabels"])
    injected["spec"]["volumes"] = spec["volumes"]
    injected["spec"]["containers"][0]["volumeMounts"] = spec["volumeMounts"]
    injected["spec"]["containers"][0]["env"] = spec["env"]
    validate(injected)


@pytest.mark.parametrize(
    "make",
    [
        lambda: manifests.poddefault("Team_A"),
        lambda: manifests.pod("team-a", name="Bad Name"),
        lambda: manifests.pod("team-a", token_path="relative/token"),
        lambda: manifests.pod("team-a", expiration=60),
        lambda: manifests.rolebinding("team-b", "a" * 64),
    ],
)
def test_values_kubernetes_would_reject_are_refused_up_front(make: Any) -> None:
    with pytest.raises(ConfigError):
        make()
