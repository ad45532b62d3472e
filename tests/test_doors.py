"""The front-door recogniser (kfp_profiles.auth.doors): answers and URLs -> door and Dex page.

First tables of canned answers, one row per shape a Kubeflow door or Dex answers;
then every Kubeflow release of the emulator, asked over real HTTP on loopback,
read by the same functions the login and the doctor use.
"""

from __future__ import annotations

from contextlib import closing
from urllib.parse import urlencode

import pytest

from kfp_profiles.auth import doors
from kfp_profiles.auth.doors import (
    DOOR_DESCRIPTIONS,
    LOGIN_DOORS,
    ApiAnswer,
    DoorName,
    approval_page,
    connector_of,
    connector_url,
    door_from_text,
    door_into_dex,
    is_approval_url,
    is_dex_auth_url,
    is_password_form_url,
    login_door,
    oauth2_start_url,
    offered_connectors,
    password_form_target,
    password_rejected,
    read_api_answer,
    uses_old_dex_paths,
)
from kfp_profiles.auth.exchange import DexLoginSettings, HttpRequest, HttpResponse
from kfp_profiles.auth.http import new_http_session, send_once
from kfp_profiles.constants import HEALTHZ_PATH
from kfp_profiles.testing import Emulator

ORIGIN = "http://kf.test"
API_URL = f"{ORIGIN}/pipeline"
HEALTHZ = API_URL + HEALTHZ_PATH


def dex_auth(callback: str, **extra: str) -> str:
    params = {"client_id": "kubeflow-oidc-authservice", "redirect_uri": callback, **extra}
    return f"{ORIGIN}/dex/auth?{urlencode(params)}"


OAUTH2_AUTH = dex_auth("/oauth2/callback", prompt="none")
FIRST_CONFIG_AUTH = dex_auth("/oauth2/callback", approval_prompt="force")
AUTHSERVICE_AUTH = dex_auth("/authservice/oidc/callback")


def answer(
    status: int,
    url: str = HEALTHZ,
    *,
    location: str | None = None,
    cookies: tuple[str, ...] = (),
    content_type: str = "text/html",
    body: str = "",
) -> HttpResponse:
    headers = [("Content-Type", content_type)]
    if location is not None:
        headers.append(("Location", location))
    headers.extend(("Set-Cookie", cookie) for cookie in cookies)
    return HttpResponse(status, url, tuple(headers), body)


PASSWORD_FORM = (
    '<form method="post" action="{action}"><input name="login">'
    '<input type="password" name="password"></form>'
)


# --- the door, from the API URL's answer -----------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        pytest.param(
            answer(200, content_type="application/json", body='{"multi_user": false}'),
            ApiAnswer("none"),
            id="standalone-200",
        ),
        pytest.param(
            answer(401, content_type="application/json", body="{}"),
            ApiAnswer("oauth2-proxy"),
            id="1.9.1+-api-401",
        ),
        pytest.param(
            answer(403, f"{ORIGIN}/", body="<form action='/oauth2/start'>Sign in</form>"),
            ApiAnswer("oauth2-proxy"),
            id="1.9.1+-page-403",
        ),
        pytest.param(
            answer(302, location=FIRST_CONFIG_AUTH, cookies=("oauth2_proxy_kubeflow_csrf=n",)),
            ApiAnswer("oauth2-proxy-first", dex_auth_url=FIRST_CONFIG_AUTH),
            id="1.9.0-302-into-dex",
        ),
        pytest.param(
            answer(302, location=AUTHSERVICE_AUTH, cookies=("oidc_state_csrf=q; Path=/",)),
            ApiAnswer("oidc-authservice", dex_auth_url=AUTHSERVICE_AUTH),
            id="1.8-302-into-dex",
        ),
        pytest.param(
            answer(302, location=OAUTH2_AUTH, cookies=("oidc_state_csrf=q; Path=/",)),
            ApiAnswer("oidc-authservice", dex_auth_url=OAUTH2_AUTH),
            id="authservice-told-by-its-state-cookie",
        ),
        pytest.param(
            answer(301, API_URL, location="/pipeline/"),
            ApiAnswer("unknown", follow=f"{ORIGIN}/pipeline/"),
            id="trailing-slash-redirect-to-follow",
        ),
        pytest.param(
            answer(302, location="https://elsewhere.example/login"),
            ApiAnswer("unknown"),
            id="redirect-to-another-host",
        ),
        pytest.param(
            answer(302, location=f"{ORIGIN}/dex/auth"),
            ApiAnswer("unknown", follow=f"{ORIGIN}/dex/auth"),
            id="dex-auth-without-an-oauth-request",
        ),
        pytest.param(answer(404, content_type="text/plain"), ApiAnswer("unknown"), id="404"),
        pytest.param(answer(500), ApiAnswer("unknown"), id="500"),
    ],
)
def test_the_api_urls_answer_names_the_door(response: HttpResponse, expected: ApiAnswer) -> None:
    assert read_api_answer(response) == expected


@pytest.mark.parametrize(
    ("response", "door"),
    [
        (answer(302, location=OAUTH2_AUTH), "oauth2-proxy"),
        (answer(302, location=FIRST_CONFIG_AUTH), "oauth2-proxy"),
        (answer(302, location=AUTHSERVICE_AUTH), "oidc-authservice"),
        (answer(404, content_type="text/plain"), None),
        (answer(302, location=f"{ORIGIN}/somewhere"), None),
    ],
    ids=["2nd-config", "1st-config", "authservice", "no-oauth2-proxy", "not-into-dex"],
)
def test_the_answer_of_oauth2_start_names_the_door(
    response: HttpResponse, door: DoorName | None
) -> None:
    assert door_into_dex(response, at_api_path=False) == door


def test_oauth2_start_returns_to_the_api_path() -> None:
    assert oauth2_start_url(API_URL) == f"{ORIGIN}/oauth2/start?rd=%2Fpipeline"
    assert oauth2_start_url("HTTP://KF.test") == f"{ORIGIN}/oauth2/start?rd=%2F"


# --- the door names a login remembers --------------------------------------------------------


def test_a_login_names_the_two_oauth2_proxy_configs_as_one_door() -> None:
    assert {door: login_door(door) for door in DOOR_DESCRIPTIONS} == {
        "none": "none",
        "oauth2-proxy": "oauth2-proxy",
        "oauth2-proxy-first": "oauth2-proxy",
        "oidc-authservice": "oidc-authservice",
        "unknown": None,
    }


@pytest.mark.parametrize(
    ("stored", "door"),
    [
        ("oauth2-proxy", "oauth2-proxy"),
        ("oidc-authservice", "oidc-authservice"),
        ("none", "none"),
        ("oauth2-proxy-first", None),
        ("unknown", None),
        ("OAuth2-Proxy", None),
        (None, None),
    ],
)
def test_the_door_a_session_cache_stored_is_read_back(stored: str | None, door: str | None) -> None:
    assert door_from_text(stored) == door


def test_the_stored_door_names_are_those_sessions_were_cached_with() -> None:
    assert LOGIN_DOORS == ("oauth2-proxy", "oidc-authservice", "none")


# --- Dex's URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "dex_auth", "connector", "password_form", "old_paths", "approval"),
    [
        (OAUTH2_AUTH, True, None, False, False, False),
        (f"{ORIGIN}/dex/auth/?client_id=c", True, None, False, False, False),
        (f"{ORIGIN}/dex/auth", False, None, False, False, False),
        (f"{ORIGIN}/dex/auth/local?client_id=c&state=s", False, "local", False, False, False),
        (f"{ORIGIN}/dex/auth/ldap", False, "ldap", False, False, False),
        (f"{ORIGIN}/dex/auth/my%20ldap", False, "my ldap", False, False, False),
        (f"{ORIGIN}/dex/auth/local/login?back=&state=s", False, None, True, False, False),
        (f"{ORIGIN}/dex/auth/local?req=r1", False, "local", True, True, False),
        (f"{ORIGIN}/dex/auth/local?req=r1&client_id=c", False, "local", False, False, False),
        (f"{ORIGIN}/dex/approval?req=r&hmac=h", False, None, False, False, True),
        (f"{ORIGIN}/oauth2/callback?code=c", False, None, False, False, False),
    ],
)
def test_dex_urls_are_recognised(
    url: str,
    dex_auth: bool,
    connector: str | None,
    password_form: bool,
    old_paths: bool,
    approval: bool,
) -> None:
    assert is_dex_auth_url(url) is dex_auth
    assert connector_of(url) == connector
    assert is_password_form_url(url) is password_form
    assert uses_old_dex_paths(url) is old_paths
    assert is_approval_url(url) is approval


def test_the_connector_url_keeps_the_doors_oauth_request() -> None:
    url = dex_auth("/oauth2/callback", connector_id="ldap", state="n:/pipeline")
    assert connector_url(url, "local") == (
        f"{ORIGIN}/dex/auth/local?client_id=kubeflow-oidc-authservice"
        "&redirect_uri=%2Foauth2%2Fcallback&state=n%3A%2Fpipeline"
    )


# --- Dex's answers ---------------------------------------------------------------------------

CONNECTOR_LIST = """<ul>
<li><a href="/dex/auth/local?client_id=c&amp;state=s">Log in with Email</a></li>
<li><a href="/dex/auth/ldap?client_id=c&amp;state=s">Log in with LDAP</a></li>
<li><a href="/dex/static/help.html">Help</a></li>
</ul>"""


@pytest.mark.parametrize(
    ("response", "offered"),
    [
        pytest.param(
            answer(302, OAUTH2_AUTH, location="/dex/auth/local?client_id=c"),
            {"local": f"{ORIGIN}/dex/auth/local?client_id=c"},
            id="one-connector",
        ),
        pytest.param(
            answer(302, OAUTH2_AUTH, location="/dex/auth/local?req=old"),
            {"local": f"{ORIGIN}/dex/auth/local?req=old"},
            id="old-paths",
        ),
        pytest.param(
            answer(200, OAUTH2_AUTH, body=CONNECTOR_LIST),
            {
                "local": f"{ORIGIN}/dex/auth/local?client_id=c&state=s",
                "ldap": f"{ORIGIN}/dex/auth/ldap?client_id=c&state=s",
            },
            id="list-page",
        ),
        pytest.param(answer(400, OAUTH2_AUTH, body="Invalid client_id"), {}, id="refused"),
    ],
)
def test_the_connectors_dex_offers(response: HttpResponse, offered: dict[str, str]) -> None:
    assert offered_connectors(response) == offered


@pytest.mark.parametrize(
    ("response", "target"),
    [
        pytest.param(
            answer(302, f"{ORIGIN}/dex/auth/local", location="/dex/auth/local/login?state=s"),
            f"{ORIGIN}/dex/auth/local/login?state=s",
            id="v2.29+-redirect",
        ),
        pytest.param(
            answer(200, f"{ORIGIN}/dex/auth/local?req=r", body=PASSWORD_FORM.format(action="")),
            f"{ORIGIN}/dex/auth/local?req=r",
            id="old-form-posts-to-itself",
        ),
        pytest.param(
            answer(200, f"{ORIGIN}/x", body=PASSWORD_FORM.format(action="/dex/auth/local?req=9")),
            f"{ORIGIN}/dex/auth/local?req=9",
            id="form-action",
        ),
        pytest.param(
            answer(302, f"{ORIGIN}/dex/auth/gh", location="https://github.com/login"),
            None,
            id="not-a-password-connector",
        ),
        pytest.param(answer(404, f"{ORIGIN}/dex/auth/x", body="no"), None, id="no-connector"),
    ],
)
def test_the_password_form_is_found(response: HttpResponse, target: str | None) -> None:
    assert password_form_target(response) == target


@pytest.mark.parametrize(
    ("response", "rejected"),
    [
        pytest.param(answer(401, body=PASSWORD_FORM.format(action="")), True, id="v2.36+-401"),
        pytest.param(answer(200, body=PASSWORD_FORM.format(action="")), True, id="older-200-form"),
        pytest.param(answer(303, location="/oauth2/callback?code=c"), False, id="accepted"),
        pytest.param(answer(200, body="<p>welcome</p>"), False, id="another-page"),
    ],
)
def test_a_rejected_password_is_recognised(response: HttpResponse, rejected: bool) -> None:
    assert password_rejected(response) is rejected


@pytest.mark.parametrize(
    ("door", "url", "old_paths", "approval"),
    [
        ("oauth2-proxy", OAUTH2_AUTH, False, "not shown"),
        ("oauth2-proxy-first", FIRST_CONFIG_AUTH, False, "shown"),
        ("oauth2-proxy", dex_auth("/oauth2/callback", prompt="consent"), False, "shown"),
        ("oauth2-proxy-first", FIRST_CONFIG_AUTH, True, "auto-approved"),
        ("oidc-authservice", AUTHSERVICE_AUTH, False, "auto-approved"),
        (
            "oidc-authservice",
            dex_auth("/authservice/cb", approval_prompt="force"),
            False,
            "auto-approved",
        ),
    ],
)
def test_whether_dex_shows_its_approval_page(
    door: DoorName, url: str, old_paths: bool, approval: str
) -> None:
    assert approval_page(door, url, old_paths=old_paths) == approval


# --- every Kubeflow release, as the emulator answers --------------------------------------------

#: release -> (door, door a login names, approval page, old Dex paths)
RELEASES: dict[str, tuple[DoorName, str, str, bool]] = {
    "1.5": ("oidc-authservice", "oidc-authservice", "auto-approved", True),
    "1.6": ("oidc-authservice", "oidc-authservice", "auto-approved", False),
    "1.7": ("oidc-authservice", "oidc-authservice", "auto-approved", False),
    "1.8": ("oidc-authservice", "oidc-authservice", "auto-approved", False),
    "1.9.0": ("oauth2-proxy-first", "oauth2-proxy", "shown", False),
    "1.9.1": ("oauth2-proxy", "oauth2-proxy", "not shown", False),
    "1.10": ("oauth2-proxy", "oauth2-proxy", "not shown", False),
    "1.11": ("oauth2-proxy", "oauth2-proxy", "not shown", False),
}


def test_the_table_covers_every_release_the_emulator_knows() -> None:
    assert set(RELEASES) == set(Emulator.RELEASES)


class Browser:
    """GETs over real HTTP, redirects not followed, cookies kept between hops."""

    def __init__(self, emulator: Emulator) -> None:
        self.settings = DexLoginSettings(profile="t", api_url=emulator.api_url, username="")
        self.http = new_http_session()

    def get(self, url: str) -> HttpResponse:
        return send_once(self.http, HttpRequest("GET", url), self.settings)

    def close(self) -> None:
        self.http.close()


@pytest.mark.parametrize("release", list(RELEASES))
def test_every_release_is_recognised_from_its_answers(release: str) -> None:
    door, named_by_login, approval, old_paths = RELEASES[release]
    with Emulator.for_release(release) as emulator, closing(Browser(emulator)) as browser:
        for url in (emulator.api_url + HEALTHZ_PATH, emulator.url + "/"):
            seen = read_api_answer(browser.get(url))
            assert seen.door == door, url
            assert login_door(seen.door) == named_by_login

        started = browser.get(oauth2_start_url(emulator.api_url))
        assert door_into_dex(started, at_api_path=False) == named_by_login
        dex_auth_url = started.location
        assert dex_auth_url is not None

        at_auth = browser.get(dex_auth_url)
        offered = offered_connectors(at_auth)
        assert list(offered) == ["local"]
        assert at_auth.location is not None
        assert uses_old_dex_paths(at_auth.location) is old_paths
        assert approval_page(door, dex_auth_url, old_paths=old_paths) == approval

        connector_page = offered["local"] if old_paths else connector_url(dex_auth_url, "local")
        form = password_form_target(browser.get(connector_page))
        assert form is not None and is_password_form_url(form)


def test_a_host_without_a_door_is_recognised_from_its_answers() -> None:
    with Emulator(door="none") as emulator, closing(Browser(emulator)) as browser:
        assert read_api_answer(browser.get(emulator.api_url + HEALTHZ_PATH)).door == "none"
        started = browser.get(oauth2_start_url(emulator.api_url))
        assert door_into_dex(started, at_api_path=False) is None


def test_several_connectors_are_read_off_dexs_list_page() -> None:
    with (
        Emulator.for_release("1.11", connectors=("local", "ldap")) as emulator,
        closing(Browser(emulator)) as browser,
    ):
        dex_auth_url = browser.get(oauth2_start_url(emulator.api_url)).location
        assert dex_auth_url is not None
        at_auth = browser.get(dex_auth_url)
        assert at_auth.status == 200
        assert list(offered_connectors(at_auth)) == ["local", "ldap"]


@pytest.mark.parametrize(
    ("status", "headers", "reason"),
    [
        (200, {"Content-Type": "application/json"}, None),
        (404, {"Content-Type": "application/json"}, None),
        (
            302,
            {"Location": "https://kf/dex/auth?client_id=x"},
            "a redirect to its login page (302)",
        ),
        (302, {"location": "/oauth2/start?rd=/pipeline"}, "a redirect to its login page (302)"),
        (302, {}, "a redirect to its login page (302)"),
        (301, {"Location": "https://kf/pipeline/"}, "an unexpected redirect (301) to /pipeline/"),
        (401, {"Content-Type": "application/json"}, "401 Unauthorized"),
        (403, {"Content-Type": "text/html"}, "an HTML page (403) where the API answers JSON"),
        (
            200,
            {"content-type": "text/html; charset=utf-8"},
            "an HTML page (200) where the API answers JSON",
        ),
    ],
)
def test_an_api_answer_that_is_the_door_says_why(
    status: int, headers: dict[str, str], reason: str | None
) -> None:
    assert doors.login_page_reason(status, headers) == reason
