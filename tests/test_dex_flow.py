"""The Dex login generator, stepped with canned answers: no network, no emulator.

Each canned door answers by method and path the way front-door.md says that
door and Dex version answer; the tests check which requests the flow sends,
in which order, and what it concludes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, get_args
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from pydantic import SecretStr

from kfp_profiles.auth.dex_flow import LoginOutcome, dex_login
from kfp_profiles.auth.doors import Door
from kfp_profiles.auth.exchange import (
    REDACTED,
    DexLoginSettings,
    HttpRequest,
    HttpResponse,
)
from kfp_profiles.errors import (
    InsecurePasswordPostError,
    InvalidCredentialsError,
    LoginFlowError,
    LoginStop,
    UnknownConnectorError,
)

ORIGIN = "http://kf.test"
PASSWORD = "pw-Sekr1t-9931"
CODE = "one-time-code-77aa"
NOW = 1_800_000_000.0

SETTINGS = DexLoginSettings(
    profile="prod", api_url=f"{ORIGIN}/pipeline", username="user@example.com"
)


def dex_auth_location(callback: str) -> str:
    params = {
        "client_id": "kubeflow-oidc-authservice",
        "redirect_uri": callback,
        "response_type": "code",
        "scope": "openid profile email groups",
        "state": "nonce123:/pipeline",
    }
    return f"/dex/auth?{urlencode(params)}"


OAUTH2_AUTH = dex_auth_location("/oauth2/callback")
AUTHSERVICE_AUTH = dex_auth_location("/authservice/oidc/callback")


def redirect(location: str, status: int = 302, *cookies: str) -> HttpResponse:
    headers = [("Location", location), *(("Set-Cookie", c) for c in cookies)]
    return HttpResponse(status=status, url="", headers=tuple(headers))


def page(status: int, body: str, content_type: str = "text/html") -> HttpResponse:
    return HttpResponse(
        status=status, url="", headers=(("Content-Type", content_type),), body_text=body
    )


PASSWORD_FORM = (
    '<form method="post" action="{action}"><input type="text" name="login">'
    '<input type="password" name="password"><button type="submit">Login</button></form>'
)


def session_cookie(name: str = "oauth2_proxy_kubeflow", value: str = "c2Vzc2lvbg|1|sig") -> str:
    return f"{name}={value}; Path=/; Max-Age=86400; HttpOnly"


CLEARED_CSRF = "oauth2_proxy_kubeflow_csrf=; Path=/; Max-Age=0; HttpOnly"

Answer = Callable[[HttpRequest], HttpResponse]


@dataclass
class CannedDoor:
    """Answers by (method, path); records every request, as a server log would."""

    routes: dict[tuple[str, str], Answer]
    sent: list[HttpRequest] = field(default_factory=list)

    def answer(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        route = self.routes.get((request.method, urlsplit(request.url).path))
        response = route(request) if route else page(404, "not found", "text/plain")
        # The driver reports the URL it requested; a canned answer does the same.
        return HttpResponse(response.status, request.url, response.headers, response.body_text)

    @property
    def hops(self) -> list[str]:
        return [f"{r.method} {urlsplit(r.url).path}" for r in self.sent]


def run(
    door: CannedDoor,
    settings: DexLoginSettings = SETTINGS,
    door_hint: Door | None = None,
    password: str = PASSWORD,
) -> LoginOutcome:
    flow = dex_login(settings, SecretStr(password), door_hint, clock=lambda: NOW)
    try:
        request = next(flow)
        while True:
            request = flow.send(door.answer(request))
    except StopIteration as finished:
        outcome: LoginOutcome = finished.value
        return outcome


def const(response: HttpResponse) -> Answer:
    return lambda _request: response


def password_post(good: Answer, *, bad_status: int = 401) -> Answer:
    """Dex's POST: ``good`` for the right password, the form again otherwise."""

    def answer(request: HttpRequest) -> HttpResponse:
        data = request.form_data() or {}
        if data.get("login") == "user@example.com" and data.get("password") == PASSWORD:
            return good(request)
        return page(bad_status, PASSWORD_FORM.format(action=""))

    return answer


def callback_sets(*cookies: str) -> Answer:
    return const(redirect("/pipeline", 302, CLEARED_CSRF, *cookies))


def second_config_door(**extra: Answer) -> CannedDoor:
    """Kubeflow 1.9.1+: oauth2-proxy second config, Dex v2.39+ (no approval)."""
    routes: dict[tuple[str, str], Answer] = {
        ("GET", "/pipeline"): const(page(403, "<form action='/oauth2/start'>Sign in</form>")),
        ("GET", "/oauth2/start"): const(
            redirect(OAUTH2_AUTH, 302, "oauth2_proxy_kubeflow_csrf=x; Max-Age=900")
        ),
        ("GET", "/dex/auth"): const(redirect("/dex/auth/local?" + OAUTH2_AUTH.split("?")[1])),
        ("GET", "/dex/auth/local"): const(
            redirect("/dex/auth/local/login?back=&state=abcdefghijklmnopqrstuvwxy")
        ),
        ("POST", "/dex/auth/local/login"): password_post(
            const(redirect(f"/oauth2/callback?code={CODE}&state=nonce123%3A%2Fpipeline", 303))
        ),
        ("GET", "/oauth2/callback"): callback_sets(session_cookie()),
    }
    routes.update({tuple(key.split(" ", 1)): value for key, value in extra.items()})  # type: ignore[misc]
    return CannedDoor(routes)


# --- the doors --------------------------------------------------------------------------------


def test_second_config_cold_login_costs_four_requests_and_skips_the_page_after_the_callback() -> (
    None
):
    door = second_config_door()
    outcome = run(door)
    assert door.hops == [
        "GET /oauth2/start",
        "GET /dex/auth/local",
        "POST /dex/auth/local/login",
        "GET /oauth2/callback",
    ]
    assert parse_qs(urlsplit(door.sent[0].url).query) == {"rd": ["/pipeline"]}
    # The connector URL carries the door's OAuth parameters unchanged.
    assert parse_qs(urlsplit(door.sent[1].url).query) == parse_qs(OAUTH2_AUTH.split("?")[1])
    assert door.sent[2].form_data() == {"login": "user@example.com", "password": PASSWORD}
    assert outcome.requests == 4
    assert outcome.door == "oauth2-proxy"
    assert outcome.cookies == (("oauth2_proxy_kubeflow", "c2Vzc2lvbg|1|sig"),)
    assert outcome.expires_at == NOW + 86400
    assert outcome.cookie_header() == "oauth2_proxy_kubeflow=c2Vzc2lvbg|1|sig"


def test_split_session_cookies_are_all_kept_in_order_and_the_cleared_csrf_cookie_is_not() -> None:
    parts = [session_cookie(f"oauth2_proxy_kubeflow_{i}", f"part{i}") for i in range(3)]
    door = second_config_door(**{"GET /oauth2/callback": callback_sets(*parts)})
    outcome = run(door)
    assert [name for name, _ in outcome.cookies] == [
        "oauth2_proxy_kubeflow_0",
        "oauth2_proxy_kubeflow_1",
        "oauth2_proxy_kubeflow_2",
    ]
    assert outcome.cookie_header() == "; ".join(
        f"oauth2_proxy_kubeflow_{i}=part{i}" for i in range(3)
    )


def test_expiry_is_the_earliest_of_the_cookies_and_reads_expires_dates() -> None:
    cookies = (
        "oauth2_proxy_kubeflow_0=a; Path=/; Expires=Sat, 16 Jan 2027 08:00:00 GMT",
        "oauth2_proxy_kubeflow_1=b; Path=/; Expires=Sat, 16-Jan-2027 07:00:00 GMT",
    )
    door = second_config_door(**{"GET /oauth2/callback": callback_sets(*cookies)})
    outcome = run(door)
    assert outcome.expires_at == NOW + 23 * 3600  # 2027-01-16T07:00:00Z


def test_first_config_posts_the_approval_dex_shows_one_request_more() -> None:
    approval = "/dex/approval?req=reqid123&hmac=mac456"
    door = second_config_door(
        **{
            "GET /pipeline": const(redirect(OAUTH2_AUTH)),
            "POST /dex/auth/local/login": password_post(const(redirect(approval, 303))),
            "POST /dex/approval": lambda r: (
                redirect(f"/oauth2/callback?code={CODE}&state=s", 303)
                if r.form_data() == {"req": "reqid123", "approval": "approve"}
                else page(400, "bad approval")
            ),
        }
    )
    outcome = run(door)
    assert door.hops[2:] == [
        "POST /dex/auth/local/login",
        "POST /dex/approval",
        "GET /oauth2/callback",
    ]
    assert "hmac=mac456" in door.sent[3].url
    assert outcome.requests == 5


def authservice_door(**extra: Answer) -> CannedDoor:
    """Kubeflow 1.6/1.7: oidc-authservice sends every path into Dex, auto-approval."""
    callback = f"/authservice/oidc/callback?code={CODE}&state=st"
    routes: dict[tuple[str, str], Answer] = {
        ("GET", "/pipeline"): const(redirect(AUTHSERVICE_AUTH, 302, "oidc_state_csrf=q; Path=/")),
        ("GET", "/oauth2/start"): const(
            redirect(AUTHSERVICE_AUTH, 302, "oidc_state_csrf=q; Path=/")
        ),
        ("GET", "/dex/auth/local"): const(redirect("/dex/auth/local/login?back=&state=s2")),
        ("POST", "/dex/auth/local/login"): password_post(
            const(redirect("/dex/approval?req=r&hmac=h", 303)), bad_status=200
        ),
        ("POST", "/dex/approval"): const(redirect(callback, 303)),
        ("GET", "/authservice/oidc/callback"): const(
            redirect(
                "/pipeline", 302, "authservice_session=sess; Path=/; Max-Age=86400; SameSite=Lax"
            )
        ),
    }
    routes.update({tuple(key.split(" ", 1)): value for key, value in extra.items()})  # type: ignore[misc]
    return CannedDoor(routes)


def test_authservice_is_recognised_from_where_its_redirect_sends_dex() -> None:
    door = authservice_door()
    outcome = run(door)
    assert outcome.door == "oidc-authservice"
    assert outcome.cookies == (("authservice_session", "sess"),)
    assert outcome.requests == 5


def test_a_known_authservice_door_is_entered_through_the_api_url() -> None:
    door = authservice_door()
    run(door, door_hint="oidc-authservice")
    assert door.hops[0] == "GET /pipeline"


def test_old_dex_paths_fall_back_to_dex_auth_and_post_to_the_req_url() -> None:
    # Dex before v2.29: /dex/auth creates the request; /dex/auth/local?req= shows and takes
    # the form.
    door = authservice_door(
        **{
            "GET /dex/auth/local": lambda r: (
                page(200, PASSWORD_FORM.format(action=""))
                if "req" in parse_qs(urlsplit(r.url).query)
                else page(400, "Login session expired.")
            ),
            "GET /dex/auth": const(redirect("/dex/auth/local?req=oldreq")),
            "POST /dex/auth/local": password_post(const(redirect("/dex/approval?req=oldreq", 303))),
        }
    )
    outcome = run(door)
    assert door.hops == [
        "GET /oauth2/start",
        "GET /dex/auth/local",
        "GET /dex/auth",
        "POST /dex/auth/local",
        "POST /dex/approval",
        "GET /authservice/oidc/callback",
    ]
    assert parse_qs(urlsplit(door.sent[3].url).query) == {"req": ["oldreq"]}
    assert door.sent[4].form_data() == {"req": "oldreq", "approval": "approve"}
    assert outcome.cookies == (("authservice_session", "sess"),)


def test_a_connector_page_that_renders_the_form_is_posted_to_its_action() -> None:
    door = authservice_door(
        **{
            "GET /dex/auth/local": const(
                page(200, PASSWORD_FORM.format(action="/dex/auth/local?req=r9"))
            ),
            "POST /dex/auth/local": password_post(const(redirect("/dex/approval?req=r9", 303))),
        }
    )
    run(door)
    assert door.sent[2].method == "POST"
    assert door.sent[2].url == f"{ORIGIN}/dex/auth/local?req=r9"


def test_the_ldap_connector_is_reached_directly() -> None:
    door = second_config_door(
        **{
            "GET /dex/auth/ldap": const(
                redirect("/dex/auth/ldap/login?back=%2Fdex%2Fauth&state=s")
            ),
            "POST /dex/auth/ldap/login": password_post(
                const(redirect(f"/oauth2/callback?code={CODE}", 303))
            ),
        }
    )
    outcome = run(door, replace(SETTINGS, connector="ldap"))
    assert door.hops[1:3] == ["GET /dex/auth/ldap", "POST /dex/auth/ldap/login"]
    assert outcome.requests == 4


CONNECTOR_LIST = """<html><body><h2>Log in to dex</h2><ul>
<li><a href="/dex/auth/local?client_id=kubeflow&amp;state=s">Log in with Email</a></li>
<li><a href="/dex/auth/ldap?client_id=kubeflow&amp;state=s">Log in with LDAP</a></li>
</ul></body></html>"""


def test_an_unknown_connector_is_an_error_listing_those_offered() -> None:
    door = second_config_door(
        **{
            "GET /dex/auth/github": const(
                page(404, "Connector ID does not match a valid Connector")
            ),
            "GET /dex/auth": const(page(200, CONNECTOR_LIST)),
        }
    )
    settings = replace(SETTINGS, connector="github")
    with pytest.raises(UnknownConnectorError) as caught:
        run(door, settings)
    message = str(caught.value)
    assert "'github'" in message and "'local', 'ldap'" in message and "prod" in message
    assert not any(r.method == "POST" for r in door.sent)


def test_an_unknown_connector_with_one_offered_names_that_one() -> None:
    door = second_config_door(**{"GET /dex/auth/github": const(page(400, "no such connector"))})
    settings = replace(SETTINGS, connector="github")
    with pytest.raises(UnknownConnectorError, match="offers 'local'"):
        run(door, settings)


def test_a_host_without_a_door_needs_no_login() -> None:
    door = CannedDoor({("GET", "/pipeline"): const(page(200, "<html>KFP</html>"))})
    outcome = run(door)
    assert outcome.door == "none" and not outcome.login_needed
    assert outcome.cookies == ()
    assert door.hops == ["GET /oauth2/start", "GET /pipeline"]

    known = CannedDoor(dict(door.routes))
    assert run(known, door_hint="none").requests == 1


def test_a_stale_door_hint_still_finds_oauth2_proxy() -> None:
    door = second_config_door()
    outcome = run(door, door_hint="none")
    assert door.hops[:2] == ["GET /pipeline", "GET /oauth2/start"]
    assert outcome.door == "oauth2-proxy" and outcome.requests == 5


def test_the_api_path_401_of_the_second_config_leads_to_oauth2_start() -> None:
    door = second_config_door(**{"GET /pipeline": const(page(401, "{}", "application/json"))})
    outcome = run(door, door_hint="oidc-authservice")
    assert door.hops[:2] == ["GET /pipeline", "GET /oauth2/start"]
    assert outcome.cookies


# --- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_status", [401, 200], ids=["dex-2.36+", "dex-before-2.36"])
def test_a_wrong_password_is_invalid_credentials_naming_profile_user_and_connector(
    bad_status: int,
) -> None:
    door = second_config_door(
        **{
            "POST /dex/auth/local/login": password_post(
                const(redirect("/never", 303)), bad_status=bad_status
            )
        }
    )
    with pytest.raises(InvalidCredentialsError) as caught:
        run(door, password="wrong-guess-123")
    message = str(caught.value)
    assert "prod" in message and "user@example.com" in message and "'local'" in message
    assert "wrong-guess-123" not in message and "wrong-guess-123" not in repr(caught.value)


def test_the_password_is_not_posted_over_http_when_the_host_is_https() -> None:
    door = second_config_door(
        **{
            "GET /dex/auth/local": const(
                redirect("http://kf.test/dex/auth/local/login?back=&state=s")
            )
        }
    )
    settings = replace(SETTINGS, api_url="https://kf.test/pipeline")
    with pytest.raises(InsecurePasswordPostError, match="plain HTTP"):
        run(door, settings)
    assert [r.method for r in door.sent] == ["GET", "GET"]


def test_an_unexpected_page_shows_the_redacted_redirect_trail() -> None:
    door = second_config_door(**{"GET /oauth2/callback": const(page(500, "boom", "text/plain"))})
    with pytest.raises(LoginFlowError) as caught:
        run(door)
    message = str(caught.value)
    assert "GET http://kf.test/oauth2/start?rd=%2Fpipeline -> 302" in message
    assert "POST http://kf.test/dex/auth/local/login?back=&state=REDACTED -> 303" in message
    assert f"GET http://kf.test/oauth2/callback?code={REDACTED}&state={REDACTED} -> 500" in message
    assert CODE not in message and PASSWORD not in message
    assert "abcdefghijklmnopqrstuvwxy" not in message


def test_a_403_after_the_password_restarts_the_login_once() -> None:
    calls = {"n": 0}

    def flaky_callback(request: HttpRequest) -> HttpResponse:
        calls["n"] += 1
        if calls["n"] == 1:
            return page(403, "Login Failed: Unable to find a valid CSRF token")
        return redirect("/pipeline", 302, session_cookie())

    door = second_config_door(**{"GET /oauth2/callback": flaky_callback})
    outcome = run(door)
    assert outcome.requests == 8
    assert door.hops.count("POST /dex/auth/local/login") == 2


def test_a_second_403_after_the_password_is_an_error() -> None:
    door = second_config_door(**{"GET /oauth2/callback": const(page(403, "Login Failed"))})
    with pytest.raises(LoginFlowError, match="403 again"):
        run(door)
    assert door.hops.count("POST /dex/auth/local/login") == 2


def test_a_callback_that_sets_no_session_cookie_is_an_error() -> None:
    door = second_config_door(**{"GET /oauth2/callback": callback_sets()})
    with pytest.raises(LoginFlowError, match="set no session cookie"):
        run(door)


def test_a_host_that_is_not_kubeflow_is_an_error_not_a_guess() -> None:
    door = CannedDoor({("GET", "/pipeline"): const(redirect("https://elsewhere.example/login"))})
    with pytest.raises(LoginFlowError, match=r"elsewhere\.example"):
        run(door)


@pytest.mark.parametrize(
    ("stop", "fields", "problem"),
    [
        (
            "refused-again",
            {"where": "the callback"},
            "the callback answered 403 again after a fresh start",
        ),
        (
            "api-url-answer",
            {"answer": "500 (text/plain)"},
            "the API URL answered 500 (text/plain)",
        ),
        ("start-without-dex", {}, "/oauth2/start does not lead to Dex"),
        (
            "sign-in-without-dex",
            {"status": 401},
            "the API URL answers 401 but /oauth2/start does not lead to Dex",
        ),
        ("redirect-loop", {}, "the host keeps redirecting without reaching Dex"),
        (
            "no-connector",
            {"answer": "400 (text/html)"},
            "Dex's /auth answered 400 (text/html), offering no connector",
        ),
        (
            "not-a-password-form",
            {"connector": "github", "answer": "302 to https://github.com/login"},
            "connector 'github' answered 302 to https://github.com/login, not a password form "
            "(is it a password connector?)",
        ),
        (
            "password-answer",
            {"answer": "500 (text/html)"},
            "Dex answered the password with 500 (text/html)",
        ),
        (
            "approval-answer",
            {"answer": "400 (text/html)"},
            "Dex answered the approval with 400 (text/html)",
        ),
        (
            "no-session-cookie",
            {"answer": "302 to http://kf.test/pipeline"},
            "the callback answered 302 to http://kf.test/pipeline and set no session cookie",
        ),
    ],
)
def test_each_way_a_login_stops_keeps_its_words(
    stop: LoginStop, fields: dict[str, Any], problem: str
) -> None:
    raised = LoginFlowError(stop=stop, profile="prod", host=ORIGIN, trail="GET x -> 302", **fields)
    assert raised.fields["problem"] == problem
    assert str(raised) == (
        f"The login of profile 'prod' at {ORIGIN} stopped: {problem}; check that `host` is "
        "the Kubeflow gateway's pipeline URL. Redirect trail: GET x -> 302"
    )


def test_every_way_a_login_stops_has_its_words() -> None:
    assert set(LoginFlowError.problems) == set(get_args(LoginStop))


# --- reprs -----------------------------------------------------------------------------------


def test_the_outcomes_repr_shows_no_cookie_value() -> None:
    outcome = LoginOutcome(
        cookies=(("oauth2_proxy_kubeflow", "cookievalue"),),
        expires_at=None,
        door="oauth2-proxy",
        requests=4,
    )
    assert "cookievalue" not in repr(outcome) and "oauth2_proxy_kubeflow" in repr(outcome)
