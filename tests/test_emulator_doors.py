"""The emulated front doors answer as Kubeflow's do (kfp_profiles/testing/doors.py).

oauth2-proxy in its two configs (Kubeflow 1.9.1+ and 1.9.0), and
oidc-authservice (1.8 and earlier): what each answers without a session,
its cookies, its login, and what the real kfp SDK sees when a session ends.

Everything runs over real HTTP on loopback, driven with ``requests``, with
``http.client`` (tests/browser.py) and with the real ``kfp`` SDK. The
emulator is itself the stand-in for a cluster, so nothing here is mocked.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from kfp_profiles.testing import Emulator

from .browser import (
    API,
    NAMESPACE,
    PASSWORD,
    TIMEOUT,
    USER,
    attributes,
    browser_login,
    cookie_header,
    cookie_value,
    dex_walk_to_form,
    error_of,
    oauth2_proxy_login,
    parse_page,
    post_form,
    query_of,
    raw,
)

# --- oauth2-proxy, second config (Kubeflow 1.9.1+) -----------------------------------------


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
    # Istio, not oauth2-proxy, checks them (tests/test_emulator_bearer.py has the details):
    # a token that is not a JWT is refused by the gateway itself now, no longer by KFP.
    with Emulator(door="oauth2-proxy") as emu:
        api = f"/pipeline{API}/experiments?namespace={NAMESPACE}"
        sa_token = emu.service_account_token(NAMESPACE, "default-editor")
        service_account = raw(emu, "GET", api, headers={"Authorization": f"Bearer {sa_token}"})
        forged = raw(emu, "GET", api, headers={"Authorization": "Bearer forged"})
        id_token = emu.issue_id_token(USER)
        dex_user = raw(emu, "GET", api, headers={"Authorization": f"Bearer {id_token}"})
        emu.expire_sessions()
        expired = raw(emu, "GET", api, headers={"Authorization": f"Bearer {id_token}"})
    assert service_account.status == 200
    assert forged.status == 401 and forged.body.startswith(b"Jwt is not in the form")
    assert dex_user.status == 200
    assert (expired.status, expired.body) == (401, b"Jwt is expired")


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


# --- oidc-authservice (Kubeflow 1.8 and earlier) -------------------------------------------


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


# --- the real kfp SDK when the session ends ------------------------------------------------


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
