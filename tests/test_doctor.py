"""The doctor's functions (kfp_profiles.doctor), called directly.

The fingerprint is stepped with canned answers, then run over real HTTP
against every release of the emulator; the token, machine and report checks
read files and environment variables set up here; ``check`` runs its steps on
profiles written here. The `doctor` and `check` commands themselves are tested
through the command line in tests/test_cli.py.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles.auth.exchange import HttpRequest, HttpResponse
from kfp_profiles.constants import HEALTHZ_PATH
from kfp_profiles.doctor.check import CHECK_STEPS, run_check
from kfp_profiles.doctor.findings import Finding
from kfp_profiles.doctor.fingerprint import FrontDoor, fingerprint, fingerprint_flow
from kfp_profiles.doctor.machine import check_in_cluster, check_kubectl
from kfp_profiles.doctor.report import describe_door, render_suggestion, run_doctor
from kfp_profiles.doctor.token import decode_jwt_claims, describe_token_file, token_path_in_use
from kfp_profiles.errors import ConfigError, TokenCheckError
from kfp_profiles.testing import Emulator

from .helpers import write_profiles

ORIGIN = "http://kf.test"
API_URL = f"{ORIGIN}/pipeline"
NOW = 1_800_000_000.0


# --- the fingerprint, stepped with canned answers ----------------------------------------------


def page(status: int, body: str = "", content_type: str = "text/html") -> HttpResponse:
    return HttpResponse(status, "", (("Content-Type", content_type),), body)


def redirect(location: str, status: int = 302) -> HttpResponse:
    return HttpResponse(status, "", (("Location", location),))


DEX_AUTH = "/dex/auth?client_id=kubeflow-oidc-authservice&redirect_uri=%2Foauth2%2Fcallback"


def step(
    flow: Generator[HttpRequest, HttpResponse, Any], routes: dict[str, HttpResponse]
) -> tuple[Any, list[str]]:
    """Run ``flow`` against answers by path; returns its value and the paths it asked."""
    asked: list[str] = []
    try:
        request = next(flow)
        while True:
            path = request.url.removeprefix(ORIGIN).split("?")[0]
            asked.append(path)
            canned = routes.get(path, page(404, "not found", "text/plain"))
            request = flow.send(
                HttpResponse(canned.status, request.url, canned.headers, canned.body_text)
            )
    except StopIteration as finished:
        return finished.value, asked


HEALTHZ = "/pipeline" + HEALTHZ_PATH


def test_the_second_config_is_told_by_401_and_oauth2_start() -> None:
    door, asked = step(
        fingerprint_flow(API_URL),
        {
            HEALTHZ: page(401, "{}", "application/json"),
            "/oauth2/start": redirect(DEX_AUTH + "&prompt=none"),
            "/dex/auth": redirect("/dex/auth/local?client_id=kubeflow-oidc-authservice"),
        },
    )
    assert asked == [HEALTHZ, "/oauth2/start", "/dex/auth"]
    assert door == FrontDoor(
        API_URL,
        "oauth2-proxy",
        "the API path answers 401 and /oauth2/start leads into Dex",
        connectors=("local",),
        approval="not shown",
        client_id="kubeflow-oidc-authservice",  # the door's own client, from its redirect
    )


def test_a_redirect_on_the_gateway_is_followed_to_the_api() -> None:
    healthz = {"multi_user": True, "tag_name": "2.4.1"}
    door, asked = step(
        fingerprint_flow(API_URL + "/"),
        {
            HEALTHZ: redirect(HEALTHZ + "/", 301),
            HEALTHZ + "/": page(200, json.dumps(healthz), "application/json"),
        },
    )
    assert asked == [HEALTHZ, HEALTHZ + "/"]
    assert door == FrontDoor(
        API_URL, "none", "healthz answered 200 with no login", multi_user=True, kfp_version="2.4.1"
    )


@pytest.mark.parametrize(
    ("url", "routes", "evidence", "requests"),
    [
        pytest.param(
            API_URL,
            {HEALTHZ: page(200, "<html>KFP UI</html>")},
            "healthz answered 200 text/html",
            1,
            id="200-not-json",
        ),
        pytest.param(
            API_URL,
            {HEALTHZ: page(401, "{}", "application/json")},
            "healthz answered 401 but /oauth2/start answered 404, not Dex",
            2,
            id="401-without-oauth2-proxy",
        ),
        pytest.param(
            ORIGIN,
            {},
            f"no KFP API at {ORIGIN}{HEALTHZ_PATH}: 404 "
            "(behind a Kubeflow gateway the API is under /pipeline)",
            1,
            id="404-outside-pipeline",
        ),
        pytest.param(
            API_URL, {}, f"no KFP API at {API_URL}{HEALTHZ_PATH}: 404", 1, id="404-at-pipeline"
        ),
        pytest.param(
            API_URL,
            {HEALTHZ: page(500, "boom", "text/plain")},
            "healthz answered 500 (text/plain)",
            1,
            id="500",
        ),
        pytest.param(
            API_URL,
            {HEALTHZ: redirect("https://sso.example/login")},
            "healthz answered 302 (redirect to /login)",
            1,
            id="redirect-elsewhere",
        ),
        pytest.param(
            API_URL,
            {HEALTHZ: redirect(HEALTHZ)},
            "healthz answered 302 (redirect to /pipeline/apis/v2beta1/healthz)",
            4,
            id="redirect-loop-stops-after-4",
        ),
    ],
)
def test_what_is_not_a_known_door_is_unknown_with_what_was_seen(
    url: str, routes: dict[str, HttpResponse], evidence: str, requests: int
) -> None:
    door, asked = step(fingerprint_flow(url), routes)
    assert (door.door, door.evidence) == ("unknown", evidence)
    assert len(asked) == requests


def test_authservice_is_told_by_its_callback_and_several_connectors_by_dexs_list() -> None:
    links = "".join(f'<a href="/dex/auth/{c}?client_id=k&amp;state=s">{c}</a>' for c in ("a", "b"))
    door, _ = step(
        fingerprint_flow(API_URL),
        {
            HEALTHZ: redirect(
                "/dex/auth?client_id=k&redirect_uri=%2Fauthservice%2Foidc%2Fcallback"
            ),
            "/dex/auth": page(200, f"<ul>{links}</ul>"),
        },
    )
    assert (door.door, door.connectors, door.approval) == (
        "oidc-authservice",
        ("a", "b"),
        "auto-approved",
    )
    assert door.evidence == "the API path redirects into Dex with an /authservice/ callback"


# --- the fingerprint of every release, over real HTTP ------------------------------------------

#: release -> (door, approval page, old Dex paths, evidence)
RELEASES: dict[str, tuple[str, str, bool, str]] = {
    "1.5": (
        "oidc-authservice",
        "auto-approved",
        True,
        "the API path redirects into Dex with an /authservice/ callback",
    ),
    **{
        release: (
            "oidc-authservice",
            "auto-approved",
            False,
            "the API path redirects into Dex with an /authservice/ callback",
        )
        for release in ("1.6", "1.7", "1.8")
    },
    "1.9.0": (
        "oauth2-proxy-first",
        "shown",
        False,
        "the API path redirects into Dex with an /oauth2/ callback",
    ),
    **{
        release: (
            "oauth2-proxy",
            "not shown",
            False,
            "the API path answers 401 and /oauth2/start leads into Dex",
        )
        for release in ("1.9.1", "1.10", "1.11")
    },
}


def test_the_table_covers_every_release_the_emulator_knows() -> None:
    assert set(RELEASES) == set(Emulator.RELEASES)


@pytest.mark.parametrize("release", list(RELEASES))
def test_every_release_is_fingerprinted(release: str) -> None:
    door_name, approval, old_paths, evidence = RELEASES[release]
    with Emulator.for_release(release) as emulator:
        api_url = emulator.api_url
        door = fingerprint(api_url)
        assert not [key for key in emulator.counts if "login" in key or "POST" in key]
    assert door == FrontDoor(
        api_url,
        door_name,  # type: ignore[arg-type]
        evidence,
        connectors=("local",),
        approval=approval,  # type: ignore[arg-type]
        old_dex_paths=old_paths,
        client_id="kubeflow-oidc-authservice",  # the door's own client, from its redirect
    )
    assert door.suggestion()["kind"] == "platform-dex"


def test_a_standalone_kfp_is_fingerprinted_with_its_mode_and_version() -> None:
    with Emulator(door="none") as emulator:
        door = fingerprint(emulator.url)
    assert (door.door, door.multi_user, door.approval) == ("none", False, None)
    assert door.evidence == "healthz answered 200 with no login"


# --- what a door suggests, and how it is reported -----------------------------------------------


@pytest.mark.parametrize(
    ("door", "suggested"),
    [
        (
            FrontDoor(API_URL, "oauth2-proxy", "e", connectors=("ldap", "local")),
            {
                "kind": "platform-dex",
                "host": API_URL,
                "username": "<your Dex login, e.g. user@example.com>",
                "connector": "ldap",
                "namespace": "<your profile namespace, e.g. kubeflow-user-example-com>",
            },
        ),
        (
            FrontDoor(ORIGIN, "none", "e", multi_user=True),
            {"kind": "platform-in-cluster", "host": ORIGIN},
        ),
        (
            FrontDoor("http://localhost:3000", "none", "e", multi_user=False),
            {"kind": "standalone-port-forward", "local_port": 3000},
        ),
        (
            FrontDoor("http://127.0.0.1:8080/pipeline", "none", "e"),
            {"kind": "standalone-in-cluster", "host": "http://127.0.0.1:8080/pipeline"},
        ),
        (FrontDoor(ORIGIN, "unknown", "e"), {}),
    ],
)
def test_each_door_suggests_the_profile_it_calls_for(
    door: FrontDoor, suggested: dict[str, Any]
) -> None:
    assert door.suggestion() == suggested


def test_a_door_and_its_suggestion_as_report_lines() -> None:
    dex = FrontDoor(
        API_URL,
        "oidc-authservice",
        "seen it",
        approval="auto-approved",
        old_dex_paths=True,
    )
    assert describe_door(dex) == [
        f"{API_URL}: oidc-authservice (Kubeflow 1.8 and earlier: every path redirects into Dex)",
        "seen: seen it",
        "Dex connectors: none seen; approval page: auto-approved; old Dex paths (v2.28 or earlier)",
    ]
    none = FrontDoor(ORIGIN, "none", "e", multi_user=None, kfp_version="2.4.1")
    assert describe_door(none)[2] == "KFP: mode unknown, KFP 2.4.1"
    assert render_suggestion(
        {"kind": "standalone-port-forward", "local_port": 3000, "x": True}
    ) == [
        'kind = "standalone-port-forward"',
        "local_port = 3000",
        "x = true",
    ]


# --- the ServiceAccount token -------------------------------------------------------------------


def jwt(claims: Any) -> str:
    def part(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_jwt_claims_are_decoded_only_from_a_jwt() -> None:
    assert decode_jwt_claims(jwt({"aud": "x"})) == {"aud": "x"}
    assert decode_jwt_claims("not-a-jwt") is None
    assert decode_jwt_claims("a.!!!.c") is None
    assert decode_jwt_claims(jwt(["a", "list"])) is None


GOOD = {
    "aud": ["pipelines.kubeflow.org"],
    "kubernetes.io": {"namespace": "team-a", "serviceaccount": {"name": "default-editor"}},
}


@pytest.mark.parametrize(
    ("content", "status", "text"),
    [
        (None, "info", "{path} does not exist (not a pod with the token volume)"),
        ("", "fail", "{path} is empty"),
        ("secret-but-not-a-jwt", "fail", "{path} does not hold a JWT"),
        (
            jwt({**GOOD, "exp": NOW + 7100}),
            "ok",
            "{path}: audience pipelines.kubeflow.org; expires 2027-01-15 09:58:20 UTC "
            "(in 118 min); namespace team-a; service account default-editor",
        ),
        (
            jwt({**GOOD, "exp": NOW + 3 * 86400}),
            "ok",
            "{path}: audience pipelines.kubeflow.org; expires 2027-01-18 08:00:00 UTC "
            "(in 3 days); namespace team-a; service account default-editor",
        ),
        (
            jwt({"aud": "kubernetes.default.svc", "exp": NOW - 90}),
            "fail",
            "{path}: audience kubernetes.default.svc; expired 2027-01-15 07:58:30 UTC "
            "(90 s ago); the KFP API needs audience pipelines.kubeflow.org",
        ),
        (
            jwt({"aud": ["pipelines.kubeflow.org"], "exp": NOW - 5 * 3600 - 60}),
            "fail",
            "{path}: audience pipelines.kubeflow.org; expired 2027-01-15 02:59:00 UTC "
            "(5 h 1 min ago)",
        ),
        (
            jwt({}),
            "fail",
            "{path}: audience none; the KFP API needs audience pipelines.kubeflow.org",
        ),
    ],
    ids=[
        "missing",
        "empty",
        "not-a-jwt",
        "good",
        "days",
        "expired-wrong-audience",
        "hours",
        "bare",
    ],
)
def test_the_token_is_described_never_shown(
    tmp_path: Path, content: str | None, status: str, text: str
) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    finding = describe_token_file(str(path), now=NOW)
    assert (finding.topic, finding.status, finding.text) == (
        "token",
        status,
        text.format(path=path),
    )
    if content:
        for piece in content.split("."):
            assert piece not in finding.text


def test_the_token_path_is_the_profiles_else_the_sdks_variable_else_the_default(
    monkeypatch: pytest.MonkeyPatch, profiles_path: Path
) -> None:
    from kfp_profiles.resolution import resolve

    write_profiles(
        profiles_path,
        '[profiles.pod]\nkind = "platform-in-cluster"\ntoken_path = "/mine/token"\n'
        '[profiles.sa]\nkind = "standalone-in-cluster"\n',
    )
    assert token_path_in_use(None) == "/var/run/secrets/kubeflow/pipelines/token"
    assert token_path_in_use(resolve("pod")) == "/mine/token"
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", "/elsewhere/token")
    assert token_path_in_use(None) == "/elsewhere/token"
    assert token_path_in_use(resolve("sa")) == "/elsewhere/token"


# --- this machine ---------------------------------------------------------------------------------


def test_a_pod_is_told_by_kubernetes_service_host(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount/namespace"):
        pytest.skip("runs in a pod")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert check_in_cluster() == Finding(
        "in-cluster", "info", "not in a pod (KUBERNETES_SERVICE_HOST is unset)"
    )
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert check_in_cluster() == Finding("in-cluster", "info", "in a pod (namespace unknown)")


FAKE_KUBECTL = """#!/bin/sh
case "$*" in
  "version --client -o json") echo '{"clientVersion": {"gitVersion": "v1.30.2"}}' ;;
  "config get-contexts -o name") printf '%s\\n' {contexts} ;;
  "config current-context") echo prod-b ;;
  *) exit 1 ;;
esac
"""


@pytest.mark.parametrize(
    ("contexts", "status", "tail"),
    [
        ("kind-a prod-b", "ok", "v1.30.2; contexts: kind-a, prod-b (current)"),
        ("", "warn", "v1.30.2; no contexts in the kubeconfig"),
    ],
)
def test_kubectl_is_reported_with_its_version_and_contexts(
    tmp_path: Path, contexts: str, status: str, tail: str
) -> None:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(FAKE_KUBECTL.replace("{contexts}", contexts))
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IXUSR)
    assert check_kubectl(str(kubectl)) == Finding("kubectl", status, f"{kubectl} {tail}")  # type: ignore[arg-type]


def test_a_missing_kubectl_is_only_a_note() -> None:
    assert check_kubectl("no-such-kubectl-here") == Finding(
        "kubectl",
        "info",
        "'no-such-kubectl-here' is not on PATH (needed by port-forward profiles only)",
    )


def test_the_offline_report_comes_in_order_and_names_the_profile(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        '[profiles.dev]\nkind = "standalone-port-forward"\n'
        'kubectl = "my-kubectl"\nlocal_port = 3001\n',
    )
    findings = list(run_doctor("dev", probe=False))
    assert [f.topic for f in findings] == [
        "file",
        "profiles",
        "keyring",
        "in-cluster",
        "profile",
        "token",
        "kubectl",
    ]
    by_topic = {f.topic: f for f in findings}
    assert by_topic["profile"] == Finding(
        "profile", "ok", "dev (standalone-port-forward) -> http://localhost:3001"
    )
    assert by_topic["kubectl"].text.startswith("'my-kubectl' is not on PATH")


def test_an_in_cluster_profile_is_not_probed_outside_a_pod(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    write_profiles(profiles_path, '[profiles.pod]\nkind = "platform-in-cluster"\n')
    findings = list(run_doctor("pod"))
    assert findings[-1] == Finding(
        "front door", "info", "not probed: the profile's host is reached from pods"
    )


def test_a_profile_of_the_wrong_kind_for_its_door_is_a_warning(profiles_path: Path) -> None:
    with Emulator.for_release("1.11") as emulator:
        write_profiles(
            profiles_path,
            f'[profiles.x]\nkind = "standalone-in-cluster"\nhost = "{emulator.api_url}"\n',
        )
        suggests = list(run_doctor("x"))[-1]
    assert suggests.topic == "suggests" and suggests.status == "warn"
    assert suggests.text.startswith('kind = "platform-dex"; host = ')
    assert suggests.text.endswith(" (the profile is of kind standalone-in-cluster)")


# --- check NAME -----------------------------------------------------------------------------------


def test_check_stops_at_a_token_the_kfp_api_would_refuse(
    tmp_path: Path, profiles_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text(jwt({"aud": "kubernetes.default.svc", "exp": time.time() + 3600}))
    write_profiles(
        profiles_path,
        f'[profiles.pod]\nkind = "platform-in-cluster"\nhost = "http://127.0.0.1:9"\n'
        f'token_path = "{token}"\n',
    )
    steps = list(run_check("pod"))
    assert [s.name for s in steps] == list(CHECK_STEPS)
    assert [s.status for s in steps] == ["ok", "skip", "fail", "skip", "skip"]
    assert [s.profile for s in steps] == ["pod"] * 5
    failed = steps[2]
    assert isinstance(failed.error, TokenCheckError) and isinstance(failed.error, ConfigError)
    assert failed.error.exit_code == 2
    assert failed.detail == str(failed.error)
    assert failed.detail.startswith(
        f"Profile 'pod': the token {token}: audience kubernetes.default.svc; "
    )
    assert failed.detail.endswith("; the KFP API needs audience pipelines.kubeflow.org.")
    assert steps[1].detail == "not a managed port-forward (platform-in-cluster)"
    assert steps[3].detail == steps[4].detail == "not run"


def test_check_of_a_profile_that_does_not_resolve_names_the_one_asked_for(
    profiles_path: Path,
) -> None:
    write_profiles(profiles_path, '[profiles.a]\nkind = "standalone-in-cluster"\n')
    steps = list(run_check("nosuch"))
    assert steps[0].status == "fail" and steps[0].detail.startswith("No profile named 'nosuch'")
    assert {s.profile for s in steps} == {"nosuch"}


def test_check_of_a_standalone_kfp_passes_every_step(profiles_path: Path) -> None:
    with Emulator(door="none") as emulator:
        emulator.add_experiment("one")
        write_profiles(
            profiles_path,
            f'[profiles.s]\nkind = "standalone-in-cluster"\nhost = "{emulator.url}"\n',
        )
        steps = {s.name: s for s in run_check("s")}
    assert [s.status for s in steps.values()] == ["ok", "skip", "skip", "ok", "ok"]
    assert steps["authenticate"].detail == "no login for kind standalone-in-cluster"
    assert steps["healthz"].detail.startswith("single-user KFP")
    assert steps["list experiments"].detail == "1 experiment"


def test_doctor_host_honours_its_timeout(profiles_path: Path) -> None:
    import time

    from kfp_profiles.testing import Blackhole

    from .helpers import cli

    with Blackhole() as url:
        started = time.monotonic()
        done = cli("doctor", "--host", url, "--timeout", "1")
        elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert "did not finish within 1 s" in done.stdout, done.stdout
    assert elapsed < 1 + 8  # the probe stops at its 1 s deadline, not the 10 s default
