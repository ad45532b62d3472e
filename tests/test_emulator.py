"""The emulator answers as front-door.md says Kubeflow's doors, Dex and the KFP API do.

Everything runs over real HTTP on loopback, driven with ``requests``, with
``http.client`` (to see raw status lines, relative ``Location`` headers and
every ``Set-Cookie``), and with the real ``kfp`` SDK. The emulator is itself
the stand-in for a cluster, so nothing here is mocked.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from kfp_profiles.testing import Blackhole, Emulator

USER, PASSWORD = "user@example.com", "12341234"
NAMESPACE = "kubeflow-user-example-com"
TIMEOUT = 10.0  # generous: only there so a broken emulator fails instead of hanging
API = "/apis/v2beta1"
DEX_QUERY = (
    "client_id=kubeflow-oidc-authservice&redirect_uri=%2Foauth2%2Fcallback"
    "&response_type=code&scope=openid&state=s1"
)


# --- reading pages as a browser would ------------------------------------------


@dataclass
class Form:
    method: str
    action: str | None
    fields: dict[str, str] = field(default_factory=dict)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append(
                Form((attributes.get("method") or "get").lower(), attributes.get("action"))
            )
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1].fields[attributes["name"] or ""] = attributes.get("value") or ""
        elif tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")


def parse_page(text: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(text)
    return parser


def browser_login(
    emu: Emulator,
    session: requests.Session,
    *,
    start: str = "/pipeline/",
    connector: str = "local",
    password: str = PASSWORD,
) -> requests.Response:
    """Log in the way a person with a browser does, whatever the door and Dex version."""
    response = session.get(emu.url + start, timeout=TIMEOUT)
    for _ in range(8):
        page = parse_page(response.text)
        form = page.forms[0] if page.forms else None
        connector_links = [link for link in page.links if f"/dex/auth/{connector}?" in link]
        if form is not None and form.action == "/oauth2/start":
            url = urljoin(response.url, form.action)
            response = session.get(url, params=form.fields, timeout=TIMEOUT)
        elif connector_links:
            response = session.get(urljoin(response.url, connector_links[0]), timeout=TIMEOUT)
        elif form is not None and "password" in form.fields:
            url = urljoin(response.url, form.action or "")
            data = {"login": USER, "password": password}
            response = session.post(url, data=data, timeout=TIMEOUT)
            if response.url == url:  # no redirect: Dex showed the form again
                return response
        elif form is not None and form.fields.get("approval") == "approve":
            url = urljoin(response.url, form.action or "")
            response = session.post(url, data=form.fields, timeout=TIMEOUT)
        else:
            return response
    raise AssertionError(f"login did not settle; last page {response.url}")


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


# --- raw HTTP ----------------------------------------------------------------------


@dataclass
class Raw:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    @property
    def set_cookies(self) -> dict[str, str]:
        """Set-Cookie lines by cookie name."""
        lines = self.headers.get_all("Set-Cookie") or []
        return {line.split("=", 1)[0]: line for line in lines}

    def json(self) -> Any:
        return json.loads(self.body)


def raw(
    emu: Emulator,
    method: str,
    target: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Raw:
    """One request with http.client: no redirect followed, no cookie kept."""
    connection = http.client.HTTPConnection("127.0.0.1", port_of(emu.url), timeout=TIMEOUT)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return Raw(response.status, response.msg, response.read())
    finally:
        connection.close()


def post_form(emu: Emulator, target: str, body: str) -> Raw:
    """POST a url-encoded form, as a browser submits Dex's pages."""
    return raw(
        emu,
        "POST",
        target,
        body=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def attributes(set_cookie_line: str) -> dict[str, str]:
    """``name=v; Path=/; Max-Age=9`` as ``{"path": "/", "max-age": "9", ...}``."""
    parts = [part.strip() for part in set_cookie_line.split(";")[1:]]
    return {p.split("=", 1)[0].lower(): [*p.split("=", 1), ""][1] for p in parts}


def cookie_value(set_cookie_line: str) -> str:
    return set_cookie_line.split(";", 1)[0].split("=", 1)[1]


def dex_walk_to_form(emu: Emulator, auth_url: str) -> str:
    """GET ``auth_url`` (a door's redirect to /dex/auth), then the connector it picks.

    Returns the login form's URL.
    """
    connector = raw(emu, "GET", auth_url)
    return raw(emu, "GET", connector.location).location


def oauth2_proxy_login(emu: Emulator, rd: str = "/pipeline") -> Raw:
    """The four requests of a fast oauth2-proxy login; returns the callback's answer."""
    start = raw(emu, "GET", f"/oauth2/start?rd={rd}")
    csrf = cookie_value(start.set_cookies["oauth2_proxy_kubeflow_csrf"])
    connector = raw(emu, "GET", start.location.replace("/dex/auth?", "/dex/auth/local?"))
    password = post_form(emu, connector.location, f"login={USER}&password={PASSWORD}")
    assert password.status == 303, password.body
    return raw(
        emu, "GET", password.location, headers={"Cookie": f"oauth2_proxy_kubeflow_csrf={csrf}"}
    )


def dex_minor(version: str) -> int:
    """``"v2.36"`` -> 36: Dex behaviour changes at minor versions of v2."""
    return int(version.split(".")[1])


def error_of(response: requests.Response | Raw) -> tuple[int, int, str]:
    body = response.json()
    assert set(body) == {"error", "code", "message", "details"}
    status = response.status_code if isinstance(response, requests.Response) else response.status
    return status, body["code"], body["message"]


# --- standalone KFP (no door) ----------------------------------------------------


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


# --- multi-user errors, identity, tokens -------------------------------------------


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


# --- the real kfp SDK --------------------------------------------------------------------


@pytest.fixture
def kfp_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """kfp, with its context file kept in tmp_path and its FutureWarning silenced."""
    import kfp

    monkeypatch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "context.json"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield kfp


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


def test_real_kfp_client_through_oauth2_proxy_then_expired_session(kfp_module: Any) -> None:
    import kfp_server_api

    with Emulator.for_release("1.11") as emu, requests.Session() as session:
        emu.add_experiment("behind-the-door", namespace=NAMESPACE)
        browser_login(emu, session)
        client = kfp_module.Client(
            host=emu.api_url, cookies=cookie_header(session), namespace=NAMESPACE
        )
        names = [e.display_name for e in client.list_experiments().experiments]
        emu.expire_sessions()
        with pytest.raises(kfp_server_api.ApiException) as caught:
            client.list_experiments()
    assert names == ["behind-the-door"]
    assert caught.value.status == 401 and caught.value.body in ("{}", b"{}")


@pytest.mark.parametrize("release", ["1.9.0", "1.8"])
def test_real_kfp_client_after_a_redirecting_door_expires_the_session(
    kfp_module: Any, release: str
) -> None:
    import kfp_server_api

    with Emulator.for_release(release) as emu, requests.Session() as session:
        emu.add_experiment("behind-the-door", namespace=NAMESPACE)
        browser_login(emu, session)
        client = kfp_module.Client(
            host=emu.api_url, cookies=cookie_header(session), namespace=NAMESPACE
        )
        before = client.list_experiments().experiments
        emu.expire_sessions()
        after = client.list_experiments().experiments
        with pytest.raises(kfp_server_api.ApiException) as caught:
            client.create_experiment("needs-a-post")
    assert [e.display_name for e in before] == ["behind-the-door"]
    # front-door.md's table: GET follows the 302s to Dex's HTML and comes back
    # empty without an error; the POST is re-sent to Dex, which refuses it.
    assert after is None
    assert caught.value.status == 400 and "Unsupported request method." in caught.value.body


# --- oauth2-proxy, second config (Kubeflow 1.9.1+) -------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/pipeline{API}/healthz",
        f"{API}/experiments",
        "/pipeline/ml_metadata.MetadataStoreService/GetArtifacts",
        "/api/workgroup/env-info",
    ],
)
def test_second_config_api_paths_answer_401_empty_json(path: str) -> None:
    with Emulator(door="oauth2-proxy") as emu:
        for method in ("GET", "POST"):
            answer = raw(emu, method, path, body=b"{}" if method == "POST" else None)
            assert answer.status == 401
            assert answer.headers["Content-Type"] == "application/json"
            assert answer.json() == {}


def test_second_config_pages_answer_403_with_the_sign_in_form() -> None:
    with Emulator(door="oauth2-proxy") as emu:
        answer = raw(emu, "GET", "/pipeline/?ns=a")
    assert answer.status == 403
    assert answer.headers["Content-Type"].startswith("text/html")
    (form,) = parse_page(answer.body.decode()).forms
    assert (form.method, form.action, form.fields) == (
        "get",
        "/oauth2/start",
        {"rd": "/pipeline/?ns=a"},
    )


def test_oauth2_start_sets_the_csrf_cookie_and_redirects_relative_into_dex() -> None:
    with Emulator(door="oauth2-proxy") as emu:
        answer = raw(emu, "GET", "/oauth2/start?rd=/pipeline")
        offsite = raw(emu, "GET", "/oauth2/start?rd=https://elsewhere.example/")
    assert answer.status == 302
    assert answer.location.startswith("/dex/auth?")
    params = query_of(answer.location)
    assert params["client_id"] == "kubeflow-oidc-authservice"
    assert params["redirect_uri"] == "/oauth2/callback"
    assert params["prompt"] == "none" and "approval_prompt" not in params
    csrf_line = answer.set_cookies["oauth2_proxy_kubeflow_csrf"]
    assert params["state"] == f"{cookie_value(csrf_line)}:/pipeline"
    assert attributes(csrf_line)["max-age"] == "900"
    assert attributes(csrf_line)["path"] == "/"
    assert query_of(offsite.location)["state"].endswith(":/")


def test_oauth2_callback_without_the_csrf_cookie_is_403() -> None:
    with Emulator(door="oauth2-proxy") as emu:
        answer = raw(emu, "GET", "/oauth2/callback?code=abc&state=nonce:/pipeline")
    assert answer.status == 403
    assert b"Login Failed: Unable to find a valid CSRF token" in answer.body


def test_oauth2_proxy_login_sets_a_real_session_cookie_and_dex_sets_none() -> None:
    with Emulator(door="oauth2-proxy") as emu:
        emu.add_user_namespace("admin@example.com", "admin-ns")
        callback = oauth2_proxy_login(emu)
        session_line = callback.set_cookies["oauth2_proxy_kubeflow"]
        cookie = f"oauth2_proxy_kubeflow={cookie_value(session_line)}"
        own = raw(
            emu,
            "GET",
            f"/pipeline{API}/experiments?namespace={NAMESPACE}",
            headers={"Cookie": cookie},
        )
        # A kubeflow-userid sent by the client is replaced by the session's user.
        forged = raw(
            emu,
            "GET",
            f"/pipeline{API}/experiments?namespace=admin-ns",
            headers={"Cookie": cookie, "kubeflow-userid": "admin@example.com"},
        )
        forged_alone = raw(
            emu,
            "GET",
            f"/pipeline{API}/experiments?namespace=admin-ns",
            headers={"kubeflow-userid": "admin@example.com"},
        )
        dex_cookies = [r for r in emu.requests if r.path.startswith("/dex/")]
    assert callback.status == 302 and callback.location == "/pipeline"
    assert attributes(callback.set_cookies["oauth2_proxy_kubeflow_csrf"])["max-age"] == "0"
    session_attributes = attributes(session_line)
    assert session_attributes["max-age"] == "86400" and session_attributes["path"] == "/"
    assert "httponly" in session_attributes
    expires = time.mktime(time.strptime(session_attributes["expires"], "%a, %d %b %Y %H:%M:%S GMT"))
    assert abs(expires - time.mktime(time.gmtime()) - 86400) < 120
    assert own.status == 200
    status, code, message = error_of(forged)
    assert (status, code) == (403, 7) and message.startswith(f"User '{USER}'")
    assert forged_alone.status == 401
    assert (
        len(dex_cookies) == 2
    )  # the two Dex requests of the fast login, none of them set a cookie


def test_large_sessions_are_split_into_numbered_cookies() -> None:
    with Emulator(door="oauth2-proxy", pad_session_cookie=9000) as emu:
        callback = oauth2_proxy_login(emu)
        lines = {k: v for k, v in callback.set_cookies.items() if not k.endswith("_csrf")}
        chunks = {name: cookie_value(line) for name, line in lines.items()}
        whole = "; ".join(f"{n}={v}" for n, v in chunks.items())
        partial = "; ".join(f"{n}={v}" for n, v in list(chunks.items())[:-1])
        api = f"/pipeline{API}/experiments?namespace={NAMESPACE}"
        with_all = raw(emu, "GET", api, headers={"Cookie": whole})
        with_some = raw(emu, "GET", api, headers={"Cookie": partial})
    assert sorted(chunks) == [
        "oauth2_proxy_kubeflow_0",
        "oauth2_proxy_kubeflow_1",
        "oauth2_proxy_kubeflow_2",
    ]
    assert all(len(line.split(";")[0]) <= 4000 for line in lines.values())
    assert sum(len(v) for v in chunks.values()) >= 9000
    assert with_all.status == 200 and with_some.status == 401


def test_split_cookie_size_can_be_lowered_and_requests_sends_the_chunks_back() -> None:
    with Emulator(door="oauth2-proxy", split_cookie_size=40) as emu, requests.Session() as session:
        browser_login(emu, session)
        names = sorted(c.name for c in session.cookies)
        answer = session.get(
            f"{emu.api_url}{API}/experiments", params={"namespace": NAMESPACE}, timeout=TIMEOUT
        )
    assert len(names) >= 3 and all(re.fullmatch(r"oauth2_proxy_kubeflow_\d", n) for n in names)
    assert answer.status_code == 200


def test_sessions_really_expire_and_can_be_expired_at_once() -> None:
    with Emulator(door="oauth2-proxy", session_lifetime=0.5) as emu:
        line = oauth2_proxy_login(emu).set_cookies["oauth2_proxy_kubeflow"]
        cookie = {"Cookie": line.split(";", 1)[0]}
        api = f"/pipeline{API}/experiments?namespace={NAMESPACE}"
        fresh = raw(emu, "GET", api, headers=cookie)
        time.sleep(0.7)
        stale = raw(emu, "GET", api, headers=cookie)
    with Emulator(door="oauth2-proxy") as emu:
        cookie = {
            "Cookie": oauth2_proxy_login(emu).set_cookies["oauth2_proxy_kubeflow"].split(";")[0]
        }
        before = raw(emu, "GET", api, headers=cookie)
        emu.expire_sessions()
        after = raw(emu, "GET", api, headers=cookie)
    assert attributes(line)["max-age"] == "1"  # whole seconds, never rounded down to 0
    assert (fresh.status, stale.status) == (200, 401)
    assert (before.status, after.status) == (200, 401)


def test_bearer_requests_bypass_oauth2_proxy() -> None:
    tokens = {"sa-token": f"system:serviceaccount:{NAMESPACE}:default-editor"}
    with Emulator(door="oauth2-proxy", tokens=tokens) as emu:
        api = f"/pipeline{API}/experiments?namespace={NAMESPACE}"
        service_account = raw(emu, "GET", api, headers={"Authorization": "Bearer sa-token"})
        forged = raw(emu, "GET", api, headers={"Authorization": "Bearer forged"})
        id_token = emu.issue_id_token(USER)
        dex_user = raw(emu, "GET", api, headers={"Authorization": f"Bearer {id_token}"})
        emu.expire_sessions()
        expired = raw(emu, "GET", api, headers={"Authorization": f"Bearer {id_token}"})
    assert service_account.status == 200
    assert error_of(forged)[:2] == (401, 16)  # KFP's answer, not the door's `{}`
    assert dex_user.status == 200
    assert error_of(expired)[:2] == (401, 16)


# --- oauth2-proxy, first config (Kubeflow 1.9.0) -------------------------------------------


def test_first_config_redirects_every_path_into_dex() -> None:
    with Emulator(door="oauth2-proxy-first") as emu:
        answers = [
            raw(emu, "GET", f"/pipeline{API}/healthz"),
            raw(emu, "POST", f"/pipeline{API}/experiments", body=b"{}"),
            raw(emu, "GET", "/"),
        ]
    for answer in answers:
        assert answer.status == 302
        assert answer.location.startswith("/dex/auth?")
        assert query_of(answer.location)["approval_prompt"] == "force"
        assert "oauth2_proxy_kubeflow_csrf" in answer.set_cookies


def test_first_config_makes_dex_show_the_approval_page() -> None:
    with Emulator(door="oauth2-proxy-first", dex="v2.39") as emu:
        start = raw(emu, "GET", "/pipeline/")
        csrf = start.set_cookies["oauth2_proxy_kubeflow_csrf"].split(";")[0]
        form_url = dex_walk_to_form(emu, start.location)
        password = post_form(emu, form_url, f"login={USER}&password={PASSWORD}")
        page = raw(emu, "GET", password.location)
        approve, reject = parse_page(page.body.decode()).forms
        approved = post_form(
            emu, password.location, f"req={approve.fields['req']}&approval=approve"
        )
        callback = raw(emu, "GET", approved.location, headers={"Cookie": csrf})
    assert password.status == 303
    assert re.fullmatch(r"/dex/approval\?req=[a-z2-7]{25}&hmac=[\w-]+", password.location)
    assert page.status == 200
    assert (approve.method, approve.action, approve.fields["approval"]) == ("post", None, "approve")
    assert (reject.method, reject.action, reject.fields["approval"]) == ("post", None, "rejected")
    assert approve.fields["req"] == reject.fields["req"] == query_of(password.location)["req"]
    assert approved.status == 303 and approved.location.startswith("/oauth2/callback?code=")
    assert callback.status == 302 and callback.location == "/pipeline/"
    assert "oauth2_proxy_kubeflow" in callback.set_cookies


def test_approval_screen_can_be_switched_off() -> None:
    with Emulator(door="oauth2-proxy-first", approval_screen=False) as emu:
        start = raw(emu, "GET", "/pipeline/")
        form_url = dex_walk_to_form(emu, start.location)
        password = post_form(emu, form_url, f"login={USER}&password={PASSWORD}")
    assert password.status == 303 and password.location.startswith("/oauth2/callback?code=")


# --- oidc-authservice (Kubeflow 1.8 and earlier) -----------------------------------------------


def test_authservice_redirects_api_calls_too_and_never_answers_401() -> None:
    with Emulator(door="oidc-authservice", dex="v2.36") as emu:
        answers = [
            raw(emu, "GET", f"/pipeline{API}/healthz"),
            raw(emu, "POST", f"/pipeline{API}/experiments", body=b"{}"),
            raw(emu, "GET", "/pipeline/"),
        ]
    for answer in answers:
        assert answer.status == 302
        assert answer.location.startswith("/dex/auth?")
        assert "redirect_uri=%2Fauthservice%2Foidc%2Fcallback" in answer.location
        state_line = answer.set_cookies["oidc_state_csrf"]
        assert cookie_value(state_line) == query_of(answer.location)["state"]


def test_authservice_login_goes_through_auto_approval_and_sets_its_session() -> None:
    with Emulator(door="oidc-authservice", dex="v2.36") as emu:
        first = raw(emu, "GET", "/pipeline/?ns=1")
        state_cookie = first.set_cookies["oidc_state_csrf"].split(";")[0]
        form_url = dex_walk_to_form(emu, first.location)
        password = post_form(emu, form_url, f"login={USER}&password={PASSWORD}")
        approval = raw(emu, "GET", password.location)
        callback = raw(emu, "GET", approval.location, headers={"Cookie": state_cookie})
        session_line = callback.set_cookies["authservice_session"]
        api = f"/pipeline{API}/experiments?namespace={NAMESPACE}"
        by_cookie = raw(emu, "GET", api, headers={"Cookie": session_line.split(";")[0]})
        by_bearer = raw(
            emu, "GET", api, headers={"Authorization": f"Bearer {cookie_value(session_line)}"}
        )
        by_id_token = raw(
            emu, "GET", api, headers={"Authorization": f"Bearer {emu.issue_id_token()}"}
        )
    assert re.fullmatch(r"/dex/approval\?req=[a-z2-7]{25}&hmac=[\w-]+", password.location)
    assert approval.status == 303
    assert approval.location.startswith("/authservice/oidc/callback?code=")
    assert callback.status == 302 and callback.location == "/pipeline/?ns=1"
    session_attributes = attributes(session_line)
    assert session_attributes["samesite"] == "Lax" and session_attributes["max-age"] == "86400"
    assert session_attributes["path"] == "/"
    assert (by_cookie.status, by_bearer.status, by_id_token.status) == (200, 200, 200)


@pytest.mark.parametrize("cookie", ["oidc_state_csrf=other", None])
def test_authservice_callback_checks_the_state_cookie(cookie: str | None) -> None:
    with Emulator(door="oidc-authservice") as emu:
        state = query_of(raw(emu, "GET", "/pipeline/").location)["state"]
        answer = raw(
            emu,
            "GET",
            f"/authservice/oidc/callback?code=abc&state={state}",
            headers={"Cookie": cookie} if cookie else {},
        )
    assert answer.status == 400 and b"CSRF check failed" in answer.body


# --- Dex, version by version ----------------------------------------------------------


@pytest.mark.parametrize("version", ["v2.31", "v2.36", "v2.39", "v2.41", "v2.44"])
def test_dex_new_paths(version: str) -> None:
    new_enough_for_401 = dex_minor(version) >= 36
    skips_approval_in_login = dex_minor(version) >= 39
    with Emulator(door="oauth2-proxy", dex=version) as emu:
        auth = raw(emu, "GET", f"/dex/auth?{DEX_QUERY}")
        connector = raw(emu, "GET", auth.location)
        wrong_method = raw(emu, "POST", auth.location, body=b"")
        form = raw(emu, "GET", connector.location)
        body = form.body.decode()
        bad = post_form(emu, connector.location, f"login={USER}&password=wrong")
        good = post_form(emu, connector.location, f"login={USER}&password={PASSWORD}")
        approval = None if skips_approval_in_login else raw(emu, "GET", good.location)
        all_dex = [r for r in emu.requests if r.path.startswith("/dex/")]
    assert auth.status == 302 and auth.location == f"/dex/auth/local?{DEX_QUERY}"
    assert connector.status == 302
    assert re.fullmatch(r"/dex/auth/local/login\?back=&state=[a-z2-7]{25}", connector.location)
    assert wrong_method.status == 400 and b"Unsupported request method." in wrong_method.body
    (login_form,) = parse_page(body).forms
    assert (login_form.method, login_form.action) == ("post", connector.location)
    assert set(login_form.fields) == {"login", "password"}  # no CSRF token
    assert form.set_cookies == {} and all_dex
    assert bad.status == (401 if new_enough_for_401 else 200)
    assert bad.location == "" and 'name="password"' in bad.body.decode()
    assert good.status == 303
    callback = good.location if approval is None else approval.location
    if approval is not None:
        assert re.fullmatch(r"/dex/approval\?req=[a-z2-7]{25}&hmac=[\w-]+", good.location)
        assert approval.status == 303
    assert callback.startswith("/oauth2/callback?code=") and query_of(callback)["state"] == "s1"


def test_dex_old_paths_before_v2_29() -> None:
    with Emulator(door="oidc-authservice", dex="v2.28") as emu:
        query = DEX_QUERY.replace("%2Foauth2%2Fcallback", "%2Fauthservice%2Foidc%2Fcallback")
        auth = raw(emu, "GET", f"/dex/auth?{query}")
        form = raw(emu, "GET", auth.location)
        bad = post_form(emu, auth.location, f"login={USER}&password=nope")
        good = post_form(emu, auth.location, f"login={USER}&password={PASSWORD}")
        approval = raw(emu, "GET", good.location)
        new_path = raw(emu, "GET", "/dex/auth/local/login?back=&state=x")
    assert auth.status == 302 and re.fullmatch(r"/dex/auth/local\?req=[a-z2-7]{25}", auth.location)
    (login_form,) = parse_page(form.body.decode()).forms
    assert form.status == 200 and login_form.action == auth.location
    assert bad.status == 200 and bad.location == ""
    assert (
        good.status == 303
        and good.location == f"/dex/approval?req={query_of(auth.location)['req']}"
    )
    assert approval.status == 303
    assert approval.location.startswith("/authservice/oidc/callback?code=")
    assert new_path.status == 404


def test_dex_with_several_connectors_shows_the_list() -> None:
    with (
        Emulator(door="oauth2-proxy", connectors=("local", "ldap")) as emu,
        requests.Session() as s,
    ):
        listing = raw(emu, "GET", f"/dex/auth?{DEX_QUERY}")
        direct = raw(emu, "GET", f"/dex/auth?{DEX_QUERY}&connector_id=ldap")
        unknown = raw(emu, "GET", f"/dex/auth/github?{DEX_QUERY}")
        to_login = raw(emu, "GET", f"/dex/auth/ldap?{DEX_QUERY}")
        final = browser_login(emu, s, connector="ldap")
    links = parse_page(listing.body.decode()).links
    assert listing.status == 200 and listing.location == ""
    assert sorted(urlsplit(link).path for link in links) == ["/dex/auth/ldap", "/dex/auth/local"]
    assert all(urlsplit(link).query == DEX_QUERY for link in links)
    assert direct.status == 302 and direct.location.startswith("/dex/auth/ldap?")
    assert unknown.status == 404
    assert query_of(to_login.location)["back"]  # a way back to the list
    assert final.status_code == 200 and final.url.endswith("/pipeline/")


def test_dex_refuses_an_unregistered_client() -> None:
    with Emulator(door="oauth2-proxy") as emu:
        answer = raw(emu, "GET", "/dex/auth?client_id=other&redirect_uri=%2Foauth2%2Fcallback")
    assert answer.status == 400 and answer.location == ""


def test_dex_auth_codes_work_once() -> None:
    with Emulator(door="oauth2-proxy") as emu:
        first = oauth2_proxy_login(emu)
        used = [r for r in emu.requests if r.path == "/oauth2/callback"][-1].query["code"]
        again = raw(emu, "GET", "/oauth2/start?rd=/pipeline")
        nonce = cookie_value(again.set_cookies["oauth2_proxy_kubeflow_csrf"])
        replay = raw(
            emu,
            "GET",
            f"/oauth2/callback?code={used}&state={nonce}:/pipeline",
            headers={"Cookie": f"oauth2_proxy_kubeflow_csrf={nonce}"},
        )
    assert first.status == 302
    assert replay.status == 500 and "oauth2_proxy_kubeflow" not in replay.set_cookies


# --- releases ------------------------------------------------------------------------------


@pytest.mark.parametrize("release", Emulator.RELEASES)
def test_every_release_logs_a_browser_in(release: str) -> None:
    with Emulator.for_release(release) as emu, requests.Session() as session:
        emu.add_experiment("mine", namespace=NAMESPACE)
        anonymous = raw(emu, "GET", f"/pipeline{API}/healthz")
        wrong = browser_login(emu, requests.Session(), password="wrong")
        landed = browser_login(emu, session)
        listed = session.get(
            f"{emu.api_url}{API}/experiments", params={"namespace": NAMESPACE}, timeout=TIMEOUT
        )
        assert emu.api_url == emu.url + "/pipeline"
    assert emu.release == release
    expected_anonymous = 401 if emu.door == "oauth2-proxy" else 302
    assert anonymous.status == expected_anonymous
    assert wrong.status_code == (200 if dex_minor(emu.dex_version) < 36 else 401)
    assert landed.status_code == 200 and urlsplit(landed.url).path == "/pipeline/"
    assert [e["display_name"] for e in listed.json()["experiments"]] == ["mine"]


def test_release_presets_accept_overrides() -> None:
    emu = Emulator.for_release("1.9.0", dex="v2.41", latency=0.01)
    assert (emu.door, emu.dex_version, emu.latency, emu.release) == (
        "oauth2-proxy-first",
        "v2.41",
        0.01,
        "1.9.0",
    )
    with pytest.raises(ValueError, match=r"1\.4"):
        Emulator.for_release("1.4")


# --- counters, latency, TLS, shutdown ---------------------------------------------------------


def test_counts_and_recorded_requests() -> None:
    with Emulator() as emu:
        requests.get(f"{emu.url}{API}/healthz?a=1", timeout=TIMEOUT)
        requests.get(f"{emu.url}{API}/healthz?a=2", timeout=TIMEOUT)
        requests.post(
            f"{emu.url}{API}/experiments",
            json={"display_name": "x"},
            headers={"Authorization": "Bearer secret-token", "Cookie": "c=secret-cookie"},
            timeout=TIMEOUT,
        )
        snapshot = emu.counts
        snapshot["GET /elsewhere"] += 5
        counts, total = emu.counts, emu.total_requests
        last = emu.requests[-1]
        emu.reset_counts()
        after_reset = (emu.total_requests, emu.counts, emu.requests)
    assert counts == {f"GET {API}/healthz": 2, f"POST {API}/experiments": 1}
    assert total == 3
    assert (last.method, last.path, last.query) == ("POST", f"{API}/experiments", {})
    assert last.headers["authorization"] == last.headers["Authorization"] == "Bearer secret-token"
    assert last.cookies == {"c": "secret-cookie"}
    assert "secret" not in repr(last)
    assert after_reset == (0, {}, [])


def test_latency_is_really_slept_and_can_change_while_running() -> None:
    with Emulator(latency=1.0) as emu:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(f"{emu.url}{API}/healthz", timeout=(TIMEOUT, 0.2))
        emu.latency = 0.0
        quick = requests.get(f"{emu.url}{API}/healthz", timeout=(TIMEOUT, 0.9))
    assert quick.status_code == 200


def test_tls_serves_a_loopback_certificate_signed_by_the_generated_ca() -> None:
    with Emulator(tls=True) as emu:
        assert emu.url.startswith("https://127.0.0.1:") and emu.ca_path is not None
        ca_path = emu.ca_path
        trusted = requests.get(f"{emu.url}{API}/healthz", verify=str(ca_path), timeout=TIMEOUT)
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{emu.url}{API}/healthz", timeout=TIMEOUT)
        port = port_of(emu.url)
        connection = http.client.HTTPSConnection(
            "localhost",
            port,
            timeout=TIMEOUT,
            context=ssl.create_default_context(cafile=str(ca_path)),
        )
        connection.request("GET", f"{API}/healthz")
        by_name = connection.getresponse().status
        connection.close()
    assert trusted.status_code == 200 and by_name == 200
    assert not ca_path.exists()  # removed with the emulator


def emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("kfp-emulator")]


def test_stop_is_prompt_with_keep_alive_and_slow_requests_in_flight() -> None:
    emu = Emulator(latency=60.0).start()
    port = port_of(emu.url)
    idle = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)  # says nothing
    outcome: list[BaseException | int] = []

    def slow_request() -> None:
        try:
            outcome.append(requests.get(f"{emu.url}{API}/healthz", timeout=TIMEOUT).status_code)
        except requests.RequestException as error:
            outcome.append(error)

    worker = threading.Thread(target=slow_request)
    worker.start()
    while not emu.total_requests:
        time.sleep(0.01)
    began = time.monotonic()
    emu.stop()
    stopped_in = time.monotonic() - began
    worker.join(TIMEOUT)
    idle.close()
    assert stopped_in < 5.0  # generous: a hang would take the 60 s latency
    assert not worker.is_alive() and len(outcome) == 1  # the slow request ended too
    assert emulator_threads() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()


def test_many_emulators_run_at_once_on_their_own_ports() -> None:
    doors = ["none", "oauth2-proxy", "oauth2-proxy-first", "oidc-authservice"]
    emulators = [Emulator(door=door).start() for door in doors]
    try:
        ports = {port_of(emu.url) for emu in emulators}
        statuses = [raw(emu, "GET", f"/pipeline{API}/healthz").status for emu in emulators]
    finally:
        for emu in emulators:
            emu.stop()
    assert len(ports) == len(doors)
    assert statuses == [200, 401, 302, 302]
    assert emulator_threads() == []


def test_blackhole_accepts_and_never_answers() -> None:
    hole = Blackhole()
    with hole as url:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(url, timeout=(TIMEOUT, 0.3))
        assert hole.accepted == 1
    port = port_of(url)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()


def test_importing_the_testing_package_loads_no_heavy_module() -> None:
    code = (
        "import sys, kfp_profiles.testing as t; t.Emulator; t.Blackhole; "
        "print(','.join(m for m in ('kfp', 'requests', 'keyring') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert loaded == ""


# --- the pytest fixture ------------------------------------------------------------------------


def test_kfp_emulator_fixture_starts_and_stops_emulators(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import urllib.request, urllib.error

        URLS = []

        def test_uses_it(kfp_emulator):
            plain = kfp_emulator()
            door = kfp_emulator(release="1.11")
            URLS.extend([plain.url, door.url])
            with urllib.request.urlopen(plain.api_url + "/apis/v2beta1/healthz", timeout=10) as r:
                assert r.status == 200
            try:
                urllib.request.urlopen(door.api_url + "/apis/v2beta1/healthz", timeout=10)
            except urllib.error.HTTPError as error:
                assert error.code == 401
            else:
                raise AssertionError("the door let a request with no session through")

        def test_they_are_stopped():
            for url in URLS:
                try:
                    urllib.request.urlopen(url, timeout=10)
                except urllib.error.URLError as error:
                    assert isinstance(error.reason, ConnectionRefusedError)
                else:
                    raise AssertionError(url + " still answers")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("resource", ["experiments", "runs"])
def test_a_bad_filter_is_rejected_even_when_there_is_nothing_to_list(resource: str) -> None:
    unsupported = {"predicates": [{"operation": "LESS_THAN", "key": "name", "int_value": 1}]}
    with Emulator() as emu:
        for bad_filter in ("not json", json.dumps(unsupported)):
            answer = requests.get(
                f"{emu.url}{API}/{resource}", params={"filter": bad_filter}, timeout=TIMEOUT
            )
            assert error_of(answer)[:2] == (400, 3)
