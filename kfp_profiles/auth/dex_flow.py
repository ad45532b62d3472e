"""The Dex login through a Kubeflow front door, as a generator of HTTP requests.

:func:`dex_login` does no I/O. In the manner of an httpx auth flow it yields one
:class:`HttpRequest` at a time and is sent back the :class:`HttpResponse`; no
redirect is followed for it, so every hop is a decision made here, and the
tests step it with canned answers. :mod:`kfp_profiles.auth.http` runs it over
real HTTP. What each answer means (which door, which Dex page) is read by
:mod:`kfp_profiles.auth.doors`; the messages themselves are those of
:mod:`kfp_profiles.auth.exchange`.

The steps, each a small function below:

1. ``start``: reach Dex's ``/auth`` endpoint through the door. Unless the door
   is known to be another, the first request is ``GET /oauth2/start?rd=<path>``:
   oauth2-proxy (Kubeflow 1.9+, either config) answers it with a 302 into Dex,
   and so does oidc-authservice, which sends every unauthenticated path there.
   Where it does not lead into Dex, the API URL itself is asked
   (``probe_api_url``): 200 means no door (nothing to log in to); 401 ``{}`` or
   the 403 sign-in page mean oauth2-proxy; a 302 into Dex is the first config
   or oidc-authservice. The door seen is returned, so the next login (a
   renewal, or a new process reading the session cache) passes it as
   ``door_hint`` and asks nothing it already knows.
2. ``reach_password_form``: go straight to ``/dex/auth/<connector>?<same
   params>``, which skips Dex's connector choice (the 302 of one connector, the
   list page of several). Dex v2.29+ answers with a 302 to
   ``.../login?back=&state=<id>``: that URL is the form's action and the form
   carries no token, so the password is posted there without fetching the form.
   Where the shortcut is not taken (Dex before v2.29, whose connector pages need
   ``?req=<id>``, or a connector Dex lacks), Dex's own ``/auth`` answer picks
   the connector, and an unknown one raises
   :class:`~kfp_profiles.errors.UnknownConnectorError` listing those offered.
3. ``post_password``: refused before anything is sent when the profile's host is
   HTTPS and the form is not. 401 (Dex v2.36+) or 200 with the form again
   (older Dex) is a wrong password; a 303 leads to the approval or the callback.
4. ``approve``: ``POST approval=approve`` to ``/dex/approval``, which every Dex
   version accepts, so one request whether or not Dex would show the page.
5. ``finish_at_callback``: the callback's answer sets the session cookies
   (``oauth2_proxy_kubeflow``, split ``_0``, ``_1``... when large, or
   ``authservice_session``); the page it redirects to is not fetched.

A 403 after the password (the door lost its CSRF cookie) restarts the login
once, as Kubeflow's own CI login does. Any other unexpected answer raises
:class:`~kfp_profiles.errors.LoginFlowError` with the redirect trail, query
values that are secrets or one-time codes redacted.

Requests for a cold login, measured against ``kfp_profiles.testing.Emulator``
(the same with or without a door hint, except where noted):

=====================================  =====  ================================
Kubeflow (door, Dex)                   reqs   why
=====================================  =====  ================================
1.9.1, 1.10, 1.11 (oauth2-proxy 2nd)   4      start, connector, password, callback
1.9.0 (oauth2-proxy 1st, Dex v2.39)    5      + approval (Dex shows the page)
1.8 (oidc-authservice, Dex v2.36)      5      + approval (auto-approved in Kubeflow)
1.6, 1.7 (oidc-authservice, v2.31)     5      + approval (auto-approved in Kubeflow)
1.5 (oidc-authservice, Dex v2.28)      6      + approval, + Dex's ``/auth`` (no shortcut)
no door (standalone KFP)               2      ``/oauth2/start`` not there, API URL 200;
                                              1 with ``door_hint="none"``
=====================================  =====  ================================

The KFP guide's login costs 8 to 9 requests on the same doors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from ..errors import (
    InsecurePasswordPostError,
    InvalidCredentialsError,
    LoginFlowError,
    LoginStop,
    PlainHttpOverrideError,
    UnknownConnectorError,
)
from ..transport import origin
from .doors import (
    Door,
    connector_url,
    door_from_text,
    door_into_dex,
    is_approval_url,
    is_password_form_url,
    login_door,
    oauth2_start_url,
    offered_connectors,
    password_form_target,
    password_rejected,
    read_api_answer,
)
from .exchange import (
    DexLoginSettings,
    HttpRequest,
    HttpResponse,
    TrailStep,
    describe_answer,
    redact_url,
    render_trail,
)
from .pages import format_cookie_header, query_params, set_cookies

# DexLoginSettings, Door, HttpRequest, HttpResponse and door_from_text are defined in
# auth.exchange and auth.doors; auth.dex imports them from here, as it did before they moved.
__all__ = [
    "DexLoginSettings",
    "Door",
    "HttpRequest",
    "HttpResponse",
    "LoginFlow",
    "LoginOutcome",
    "dex_login",
    "door_from_text",
]

#: Redirects followed on the host itself while looking for the door (e.g. /pipeline -> /pipeline/).
_MAX_PROBE_HOPS = 5
#: Kubeflow's CI login restarts once when the door answers 403 after the password.
_RESTARTS_AFTER_403 = 1


@dataclass(frozen=True, repr=False)
class LoginOutcome:
    """A finished login: the session cookies the door set, and when they end."""

    #: (name, value) of each session cookie, in the order the door set them.
    cookies: tuple[tuple[str, str], ...]
    #: Epoch seconds when the first of them expires; None when the door gave no expiry.
    expires_at: float | None
    door: Door
    #: HTTP requests the login sent.
    requests: int

    @property
    def login_needed(self) -> bool:
        """False for a host with no front door: its API needs no cookie."""
        return self.door != "none"

    def cookie_header(self) -> str:
        return format_cookie_header(self.cookies)

    def __repr__(self) -> str:
        names = [f"{name}=***" for name, _ in self.cookies]
        return (
            f"LoginOutcome(door={self.door!r}, cookies={names}, "
            f"expires_at={self.expires_at!r}, requests={self.requests})"
        )


LoginFlow = Generator[HttpRequest, HttpResponse, LoginOutcome]


# --- the login ------------------------------------------------------------------------------


#: The password, or what asks for it: asked only once the host has answered with a
#: password form, so a host that is down or has no front door never prompts anyone.
PasswordSource = SecretStr | Callable[[], SecretStr]


def dex_login(
    settings: DexLoginSettings,
    password: PasswordSource,
    door_hint: Door | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> LoginFlow:
    """Log ``settings.username`` in through the front door at ``settings.origin``.

    ``door_hint`` is the door a previous login met (``LoginOutcome.door``): it
    decides where the first request goes. ``clock`` gives epoch seconds, for
    cookie expiry.
    """
    walk = _LoginWalk(settings, clock)
    hint = door_hint
    refused = ""
    for _ in range(1 + _RESTARTS_AFTER_403):
        try:
            return (yield from _log_in_once(walk, password, hint))
        except _RefusedAfterPassword as exc:
            refused = exc.where
            hint = walk.door or hint
    raise walk.failure("refused-again", where=refused)


def _log_in_once(walk: _LoginWalk, password: PasswordSource, door_hint: Door | None) -> LoginFlow:
    walk.tried_oauth2_start = False
    dex_auth_url = yield from start(walk, door_hint)
    if dex_auth_url is None:
        return LoginOutcome(cookies=(), expires_at=None, door="none", requests=walk.requests)
    form_url = yield from reach_password_form(walk, dex_auth_url)
    after_password = yield from post_password(walk, form_url, password)
    callback_url = after_password
    if is_approval_url(after_password):
        callback_url = yield from approve(walk, after_password)
    return (yield from finish_at_callback(walk, callback_url))


class _RefusedAfterPassword(Exception):
    """The door answered 403 once the password was accepted: start over."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class _LoginWalk:
    """The state of one login: settings, the door seen, the trail of hops."""

    def __init__(self, settings: DexLoginSettings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self.trail: list[TrailStep] = []
        self.requests = 0
        self.door: Door | None = None
        self.tried_oauth2_start = False

    def send(self, request: HttpRequest) -> Generator[HttpRequest, HttpResponse, HttpResponse]:
        response = yield request
        self.requests += 1
        self.trail.append(TrailStep(request.method, request.url, response.status))
        return response

    def get(self, url: str) -> Generator[HttpRequest, HttpResponse, HttpResponse]:
        return self.send(HttpRequest("GET", url))

    def failure(self, stop: LoginStop, **fields: Any) -> LoginFlowError:
        """The login stopped as ``stop`` says: the error names the profile, host and trail."""
        return LoginFlowError(
            stop=stop,
            profile=self.settings.profile,
            host=self.settings.origin,
            trail=render_trail(self.trail),
            steps=tuple(self.trail),
            **fields,
        )


# --- step 1: through the door to Dex ---------------------------------------------------------


def start(
    walk: _LoginWalk, door_hint: Door | None
) -> Generator[HttpRequest, HttpResponse, str | None]:
    """Dex's ``/auth`` URL with the door's parameters, or None when there is no door."""
    if door_hint in (None, "oauth2-proxy"):
        dex_auth_url = yield from start_at_oauth2_proxy(walk)
        if dex_auth_url is not None:
            return dex_auth_url
    return (yield from probe_api_url(walk))


def start_at_oauth2_proxy(walk: _LoginWalk) -> Generator[HttpRequest, HttpResponse, str | None]:
    """``/oauth2/start`` leads into Dex where oauth2-proxy (or oidc-authservice) guards the host."""
    walk.tried_oauth2_start = True
    response = yield from walk.get(oauth2_start_url(walk.settings.api_url))
    door = door_into_dex(response, at_api_path=False)
    if door is None:
        return None
    walk.door = login_door(door)
    return response.location


def probe_api_url(walk: _LoginWalk) -> Generator[HttpRequest, HttpResponse, str | None]:
    """Ask the API URL itself which door guards it."""
    url = walk.settings.api_url
    for _ in range(_MAX_PROBE_HOPS):
        response = yield from walk.get(url)
        answer = read_api_answer(response)
        if answer.dex_auth_url is not None:
            walk.door = login_door(answer.door)
            return answer.dex_auth_url
        if answer.follow is not None:
            url = answer.follow
            continue
        if answer.door == "none":
            walk.door = "none"
            return None
        if answer.door == "oauth2-proxy":
            # The second config: 401 {} on API paths, a 403 sign-in page elsewhere.
            if walk.tried_oauth2_start:
                raise walk.failure("sign-in-without-dex", status=response.status)
            dex_auth_url = yield from start_at_oauth2_proxy(walk)
            if dex_auth_url is None:
                raise walk.failure("start-without-dex")
            return dex_auth_url
        raise walk.failure("api-url-answer", answer=describe_answer(response))
    raise walk.failure("redirect-loop")


# --- step 2: the connector and its password form -------------------------------------------


def reach_password_form(
    walk: _LoginWalk, dex_auth_url: str
) -> Generator[HttpRequest, HttpResponse, str]:
    """The URL the password is posted to, for the profile's connector."""
    response = yield from walk.get(connector_url(dex_auth_url, walk.settings.connector))
    form_url = password_form_target(response)
    if form_url is not None:
        return form_url
    # The shortcut was not taken: old Dex needs ?req=, or this Dex lacks the connector.
    response = yield from walk.get(dex_auth_url)
    chosen = choose_connector(walk, response)
    if is_password_form_url(chosen):
        return chosen
    response = yield from walk.get(chosen)
    form_url = password_form_target(response)
    if form_url is None:
        raise walk.failure(
            "not-a-password-form",
            connector=walk.settings.connector,
            answer=describe_answer(response),
        )
    return form_url


def choose_connector(walk: _LoginWalk, response: HttpResponse) -> str:
    """The profile's connector among those Dex's ``/auth`` answer offers."""
    offered = offered_connectors(response)
    if not offered:
        raise walk.failure("no-connector", answer=describe_answer(response))
    wanted = walk.settings.connector
    if wanted not in offered:
        raise UnknownConnectorError(
            profile=walk.settings.profile,
            host=origin(response.url),
            connector=wanted,
            offered=", ".join(f"'{name}'" for name in offered),
        )
    return offered[wanted]


# --- steps 3 to 5: password, approval, callback ---------------------------------------------


def post_password(
    walk: _LoginWalk, form_url: str, password: PasswordSource
) -> Generator[HttpRequest, HttpResponse, str]:
    """Post the credentials; returns where Dex sends the browser next."""
    settings = walk.settings
    # Asked first: a stored password that may not go to this host says so itself.
    secret = password if isinstance(password, SecretStr) else password()
    if urlsplit(form_url).scheme.lower() != "https" and not settings.plain_http_allowed:
        if settings.is_https:  # the gateway itself sends the form to plain HTTP
            raise InsecurePasswordPostError(
                profile=settings.profile, host=settings.origin, form_url=redact_url(form_url)
            )
        raise PlainHttpOverrideError(
            profile=settings.profile, form_url=redact_url(form_url), file_host=settings.file_host
        )
    request = HttpRequest("POST", form_url, form={"login": settings.username, "password": secret})
    response = yield from walk.send(request)
    if password_rejected(response):
        raise InvalidCredentialsError(
            profile=settings.profile,
            host=origin(form_url),
            username=settings.username,
            connector=settings.connector,
            source=settings.password_source,
        )
    if response.status == 403:
        raise _RefusedAfterPassword("the password POST")
    if response.location is None:
        raise walk.failure("password-answer", answer=describe_answer(response))
    return response.location


def approve(walk: _LoginWalk, approval_url: str) -> Generator[HttpRequest, HttpResponse, str]:
    """Grant the approval Dex asks for; returns the callback URL."""
    form = {"req": query_params(approval_url).get("req", ""), "approval": "approve"}
    response = yield from walk.send(HttpRequest("POST", approval_url, form=form))
    if response.status == 403:
        raise _RefusedAfterPassword("the approval")
    target = response.location
    if target is None or is_approval_url(target):
        raise walk.failure("approval-answer", answer=describe_answer(response))
    return target


def finish_at_callback(
    walk: _LoginWalk, callback_url: str
) -> Generator[HttpRequest, HttpResponse, LoginOutcome]:
    """The door's callback trades Dex's code for the session cookies."""
    response = yield from walk.get(callback_url)
    if response.status == 403:
        raise _RefusedAfterPassword("the callback")
    now = walk.clock()
    cookies = [c for c in set_cookies(response.header_values("Set-Cookie"), now) if not c.deleted]
    if response.status >= 400 or not cookies:
        raise walk.failure("no-session-cookie", answer=describe_answer(response))
    expiries = [c.expires_at for c in cookies if c.expires_at is not None]
    return LoginOutcome(
        cookies=tuple((c.name, c.value) for c in cookies),
        expires_at=min(expiries) if expiries else None,
        door=walk.door or "oauth2-proxy",
        requests=walk.requests,
    )
