"""What a forward asks kubectl, and what kubectl's lines mean (portforward/kubectl.py).

The command lines we build are ones a real kubectl accepts. There is no
cluster here. A real kubectl (``/usr/bin/kubectl`` or whichever is first on
PATH) is run against a kubeconfig in a temporary folder that points either at
an API server that refuses connections, or at a small stub of the Kubernetes
API (the only thing mocked: discovery, one Service, one Pod, namespaces) that
lets kubectl parse and translate the ports and go as far as upgrading the
connection to the pod. Either way it must fail on the network, never on its
usage. The stub also shows that the stand-in kubectl of ``tests/fakes``
prints the real kubectl's messages, and that those messages become the right
typed errors; the stand-in then shows each typed error whole, with its fix.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kfp_profiles.errors import (
    ConfigError,
    KubeContextNotFoundError,
    NamespaceNotFoundError,
    NotAPortForwardProfileError,
    PortForwardError,
    PortForwardExitedError,
    ServiceNotFoundError,
    ServicePortNotFoundError,
)
from kfp_profiles.portforward import (
    PortForward,
    PortForwardSpec,
    classify_kubectl_failure,
    ensure_forward,
    kubectl_command,
    spec_for,
)
from kfp_profiles.portforward.kubectl import forwarding_address
from kfp_profiles.resolution import resolve

from .forwarding import spec as dev_spec
from .helpers import FakeCluster, free_port, write_profiles

FAKE_KUBECTL = (Path(__file__).parent / "fakes" / "kubectl").resolve()


def _real_kubectl() -> str | None:
    found = shutil.which("kubectl")
    if found is None or Path(found).resolve() == FAKE_KUBECTL:
        return None
    return found


REAL_KUBECTL = _real_kubectl()
needs_kubectl = pytest.mark.skipif(
    REAL_KUBECTL is None,
    reason="no real kubectl on PATH (Debian: apt-get install kubernetes-client)",
)
# Messages that mean kubectl rejected its command line rather than the network.
USAGE_MARKERS = (
    "unknown flag",
    "unknown shorthand",
    "Usage:",
    "required for port-forward",
    "error parsing",
    "invalid",
    "See 'kubectl",
)
CONTEXT = "kfp-test"
# Bounds a kubectl that would hang: it fails within a second when it works.
RUN_BOUND = 60.0


def write_kubeconfig(folder: Path, server: str) -> Path:
    path = folder / "kubeconfig"
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster:
    server: {server}
    insecure-skip-tls-verify: true
contexts:
- name: {CONTEXT}
  context:
    cluster: nowhere
    user: nobody
current-context: {CONTEXT}
users:
- name: nobody
  user:
    token: placeholder-not-a-credential
"""
    )
    return path


SPEC_SHAPES = {
    "guide-defaults": PortForwardSpec(profile="dev"),
    "with-context": PortForwardSpec(profile="dev", kube_context=CONTEXT),
    "port-zero": PortForwardSpec(profile="dev", local_port=0),
    "everything-set": PortForwardSpec(
        profile="dev",
        k8s_namespace="kubeflow",
        service="ml-pipeline-ui",
        local_port=8080,
        remote_port=80,
        kube_context=CONTEXT,
        kubectl="kubectl",
    ),
}


# kubectl's messages for a wrong context, namespace, service or service port: the
# typed error each becomes, and the fix its message gives.
KUBECTL_ERRORS = [
    (
        {"kube_context": "nope"},
        KubeContextNotFoundError,
        'error: context "nope" does not exist',
        "kubectl config get-contexts",
    ),
    (
        {"k8s_namespace": "nope"},
        NamespaceNotFoundError,
        'Error from server (NotFound): namespaces "nope" not found',
        "set `k8s_namespace`",
    ),
    (
        {"service": "nope"},
        ServiceNotFoundError,
        'Error from server (NotFound): services "nope" not found',
        "check `service` and `k8s_namespace`",
    ),
    (
        {"remote_port": 81},
        ServicePortNotFoundError,
        "error: Service ml-pipeline-ui does not have a service port 81",
        "set `remote_port`",
    ),
]
ERROR_IDS = ["unknown-context", "missing-namespace", "missing-service", "missing-service-port"]


# --- the command line itself --------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "argv"),
    [
        (
            PortForwardSpec(profile="dev"),
            ["kubectl", "port-forward", "--namespace", "kubeflow", "svc/ml-pipeline-ui", "3000:80"],
        ),
        (
            PortForwardSpec(
                profile="dev", local_port=0, kube_context="kind-kfp", kubectl="/opt/k8s/bin/kubectl"
            ),
            [
                "/opt/k8s/bin/kubectl",
                "port-forward",
                "--context",
                "kind-kfp",
                "--namespace",
                "kubeflow",
                "svc/ml-pipeline-ui",
                ":80",
            ],
        ),
        (
            PortForwardSpec(
                profile="dev", k8s_namespace="team", service="ui", local_port=8080, remote_port=8888
            ),
            ["kubectl", "port-forward", "--namespace", "team", "svc/ui", "8080:8888"],
        ),
    ],
    ids=["guide", "context-and-port-zero", "custom-target"],
)
def test_kubectl_command_is_the_guides_command(spec: PortForwardSpec, argv: list[str]) -> None:
    assert kubectl_command(spec) == argv


# --- a real kubectl, an API server that refuses connections -------------------------------


def run_real(argv: list[str], kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    assert REAL_KUBECTL is not None
    return subprocess.run(
        [REAL_KUBECTL, *argv[1:]],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_BOUND,
        check=False,
    )


@needs_kubectl
@pytest.mark.parametrize("shape", list(SPEC_SHAPES))
def test_real_kubectl_accepts_the_command_and_fails_on_the_connection(
    shape: str, tmp_path: Path
) -> None:
    port = free_port()
    kubeconfig = write_kubeconfig(tmp_path, f"https://127.0.0.1:{port}")

    done = run_real(kubectl_command(SPEC_SHAPES[shape]), kubeconfig)

    assert done.returncode != 0
    assert f"127.0.0.1:{port}" in done.stderr and "refused" in done.stderr, done.stderr
    assert not any(marker in done.stderr for marker in USAGE_MARKERS), done.stderr


@needs_kubectl
def test_a_refused_api_server_becomes_a_typed_error_with_kubectl_own_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path, f"https://127.0.0.1:{port}")))
    assert REAL_KUBECTL is not None

    with pytest.raises(PortForwardExitedError) as raised:
        PortForward(PortForwardSpec(profile="dev", kubectl=REAL_KUBECTL, timeout=RUN_BOUND)).start()

    # kubectl's own last line, not the klog noise (E1128 ... memcache.go) before it.
    assert raised.value.kubectl_message == (
        f"The connection to the server 127.0.0.1:{port} was refused - "
        "did you specify the right host or port?"
    )
    assert "run that command yourself" in str(raised.value)


# --- a real kubectl, a stub of the Kubernetes API -------------------------------------------

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "ml-pipeline-ui", "namespace": "kubeflow"},
    "spec": {
        "selector": {"app": "ml-pipeline-ui"},
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 3000}],
    },
}
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "ml-pipeline-ui-5d8f7",
        "namespace": "kubeflow",
        "labels": {"app": "ml-pipeline-ui"},
        "creationTimestamp": "2026-01-01T00:00:00Z",
    },
    "spec": {"containers": [{"name": "ui", "image": "ui", "ports": [{"containerPort": 3000}]}]},
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
}
RESOURCES = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {
            "name": "namespaces",
            "singularName": "namespace",
            "namespaced": False,
            "kind": "Namespace",
            "verbs": ["get", "list"],
            "shortNames": ["ns"],
        },
        {
            "name": "services",
            "singularName": "service",
            "namespaced": True,
            "kind": "Service",
            "verbs": ["get", "list"],
            "shortNames": ["svc"],
        },
        {
            "name": "pods",
            "singularName": "pod",
            "namespaced": True,
            "kind": "Pod",
            "verbs": ["get", "list"],
            "shortNames": ["po"],
        },
        {
            "name": "pods/portforward",
            "singularName": "",
            "namespaced": True,
            "kind": "PodPortForwardOptions",
            "verbs": ["create", "get"],
        },
    ],
}


def not_found(resource: str, name: str) -> tuple[int, dict[str, Any]]:
    message = (
        f'{resource} "{name}" not found'
        if name
        else "the server could not find the requested resource"
    )
    return 404, {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "NotFound",
        "details": {"name": name, "kind": resource},
        "code": 404,
    }


def api_answer(path: str) -> tuple[int, dict[str, Any]]:
    """What the API server of a cluster with KFP in ``kubeflow`` answers (no portforward)."""
    fixed: dict[str, dict[str, Any]] = {
        "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.4"},
        "/api": {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}
            ],
        },
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
        "/api/v1": RESOURCES,
        "/api/v1/namespaces/kubeflow": NAMESPACE,
        "/api/v1/namespaces/kubeflow/services/ml-pipeline-ui": SERVICE,
        "/api/v1/namespaces/kubeflow/pods": {
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {},
            "items": [POD],
        },
        "/api/v1/namespaces/kubeflow/pods/ml-pipeline-ui-5d8f7": POD,
    }
    if path in fixed:
        return 200, fixed[path]
    if match := re.fullmatch(r"/api/v1/namespaces/([^/]+)", path):
        return not_found("namespaces", match[1])
    if match := re.fullmatch(r"/api/v1/namespaces/[^/]+/services/([^/]+)", path):
        return not_found("services", match[1])
    return not_found("", "")  # the pod's portforward too: no upgrade to SPDY or WebSocket


class StubApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status, payload = api_answer(urlsplit(self.path).path)
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stub_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubApiHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    kubeconfig = write_kubeconfig(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    yield kubeconfig
    server.shutdown()
    server.server_close()


@needs_kubectl
@pytest.mark.parametrize("shape", list(SPEC_SHAPES))
def test_real_kubectl_parses_every_shape_up_to_the_pod_connection(
    shape: str, stub_api: Path
) -> None:
    done = run_real(kubectl_command(SPEC_SHAPES[shape]), stub_api)

    # The service, its pod and the port translation all passed: only the upgrade failed.
    assert done.returncode != 0
    assert "error upgrading connection" in done.stderr, done.stderr


@needs_kubectl
@pytest.mark.parametrize(("fields", "error", "kubectl_line", "fix"), KUBECTL_ERRORS, ids=ERROR_IDS)
def test_real_kubectl_messages_become_typed_errors_and_the_stand_in_prints_the_same(
    stub_api: Path,
    fields: dict[str, Any],
    error: type[PortForwardError],
    kubectl_line: str,
    fix: str,
) -> None:
    assert REAL_KUBECTL is not None
    real = PortForwardSpec(profile="dev", kubectl=REAL_KUBECTL, timeout=RUN_BOUND, **fields)
    with pytest.raises(error) as raised:
        PortForward(real).start()
    assert raised.value.kubectl_message == kubectl_line

    stand_in = subprocess.run(
        [str(FAKE_KUBECTL), *kubectl_command(real)[1:]],
        env={**os.environ, "FAKE_KUBECTL_CONTEXTS": CONTEXT},
        capture_output=True,
        text=True,
        timeout=RUN_BOUND,
        check=False,
    )
    assert stand_in.returncode == 1
    assert stand_in.stderr.strip().splitlines()[-1] == kubectl_line


# --- the stand-in kubectl's messages, as the typed errors a caller sees -----------------------


@pytest.mark.parametrize(("fields", "error", "kubectl_line", "fix"), KUBECTL_ERRORS, ids=ERROR_IDS)
def test_kubectl_errors_become_typed_errors_with_kubectl_message_and_fix(
    cluster: FakeCluster,
    fields: dict[str, Any],
    error: type[PortForwardError],
    kubectl_line: str,
    fix: str,
) -> None:
    with pytest.raises(error) as raised:
        ensure_forward(dev_spec(**fields))

    assert raised.value.kubectl_message == kubectl_line
    message = str(raised.value)
    assert message.startswith("Profile 'dev': ")
    assert f"`{kubectl_line}`" in message
    assert fix in message
    assert raised.value.exit_code == 8


def test_kubectl_exit_message_skips_klog_noise_as_the_restart_line_does() -> None:
    stderr = [
        "error: lost connection to pod",
        "E1128 20:07:04.781573   12 portforward.go:413] an error occurred forwarding",
        "",
    ]
    error = classify_kubectl_failure(dev_spec(), "kubectl port-forward", 1, stderr)
    assert isinstance(error, PortForwardExitedError)
    assert error.fields["kubectl_message"] == "error: lost connection to pod"


@pytest.mark.parametrize(
    ("line", "address"),
    [
        ("Forwarding from 127.0.0.1:3000 -> 3000", ("127.0.0.1", 3000)),
        ("Forwarding from [::1]:41234 -> 3000", ("::1", 41234)),
        ("Handling connection for 3000", None),
    ],
)
def test_forwarding_address_reads_the_port_kubectl_listens_on(
    line: str, address: tuple[str, int] | None
) -> None:
    assert forwarding_address(line) == address


# --- a resolved profile's forward ---------------------------------------------------------


def test_spec_for_takes_every_field_of_a_port_forward_profile(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        """
        [profiles.dev]
        kind = "standalone-port-forward"
        k8s_namespace = "team"
        service = "ui"
        local_port = 0
        remote_port = 8888
        kube_context = "kind-kfp"
        kubectl = "/opt/k8s/bin/kubectl"
        timeout = 12.5
        """,
    )

    assert spec_for(resolve("dev")) == PortForwardSpec(
        profile="dev",
        k8s_namespace="team",
        service="ui",
        local_port=0,
        remote_port=8888,
        kube_context="kind-kfp",
        kubectl="/opt/k8s/bin/kubectl",
        timeout=12.5,
    )


def test_spec_for_a_profile_of_another_kind_is_a_config_error(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        """
        [profiles.prod]
        kind = "platform-dex"
        host = "http://127.0.0.1:9/pipeline"
        username = "me@example.com"
        namespace = "team-a"
        """,
    )

    with pytest.raises(NotAPortForwardProfileError) as raised:
        spec_for(resolve("prod"))

    assert isinstance(raised.value, ConfigError)
    assert str(raised.value) == (
        "Profile 'prod' is of kind 'platform-dex': only standalone-port-forward profiles have "
        "a port-forward."
    )
