"""The Dex login through a Kubeflow front door, as a generator of HTTP requests.

:func:`dex_login` does no I/O. In the manner of an httpx auth flow it yields one
:class:`HttpRequest` at a time and is sent back the :class:`HttpResponse`; no
redirect is followed for it, so every hop is a decision made here, and the
tests step it with canned answers. :mod:`kfp_profiles.auth.http` runs it over
real HTTP.

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

import re
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from pydantic import SecretStr

from ..errors import (
    InsecurePasswordPostError,
    InvalidCredentialsError,
    LoginFlowError,
    UnknownConnectorError,
)
from ..session import format_cookie_header
from ..transport import origin

__all__ = [
    "DexLoginSettings",
    "Door",
    "HttpRequest",
    "HttpResponse",
    "LoginFlow",
    "LoginOutcome",
    "TrailStep",
    "dex_login",
    "door_from_text",
    "oauth2_start_url",
    "query_params",
    "redact_url",
    "render_trail",
]

#: The front doors a login can meet; "none" is a host with no login at all.
Door = Literal["oauth2-proxy", "oidc-authservice", "none"]

#: Query parameters whose values are secrets or one-time codes: never shown.
SENSITIVE_QUERY_KEYS = frozenset({"code", "state", "req", "hmac", "password"})
REDACTED = "REDACTED"

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Redirects followed on the host itself while looking for the door (e.g. /pipeline -> /pipeline/).
_MAX_PROBE_HOPS = 5
#: Kubeflow's CI login restarts once when the door answers 403 after the password.
_RESTARTS_AFTER_403 = 1


# --- the values the flow exchanges with its driver ------------------------------------------


@dataclass(frozen=True)
class DexLoginSettings:
    """What a login needs to know about the profile, minus the password."""

    profile: str
    #: The KFP API URL at the gateway, e.g. ``https://kf.example.com/pipeline``.
    api_url: str
    username: str
    connector: str = "local"
    verify_tls: bool = True
    ca_bundle: str | None = None
    proxy: str | None = None
    timeout: float = 30.0

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the API URL: where the login starts."""
        return origin(self.api_url)

    @property
    def api_path(self) -> str:
        return urlsplit(self.api_url).path or "/"

    @property
    def is_https(self) -> bool:
        return urlsplit(self.api_url).scheme.lower() == "https"


@dataclass(frozen=True, repr=False)
class HttpRequest:
    """One request the flow wants sent, redirects not followed."""

    method: str
    url: str
    #: Form fields for a POST; a SecretStr is unwrapped only by the driver, at send time.
    form: Mapping[str, str | SecretStr] | None = None

    def form_data(self) -> dict[str, str] | None:
        if self.form is None:
            return None
        return {
            key: value.get_secret_value() if isinstance(value, SecretStr) else value
            for key, value in self.form.items()
        }

    def __repr__(self) -> str:
        fields = f", form fields {sorted(self.form)}" if self.form else ""
        return f"HttpRequest({self.method} {redact_url(self.url)}{fields})"


@dataclass(frozen=True, repr=False)
class HttpResponse:
    """The answer to an :class:`HttpRequest`; ``url`` is the URL that was requested."""

    status: int
    url: str
    #: Every header line in order; repeated names (``Set-Cookie``) appear once per line.
    headers: tuple[tuple[str, str], ...] = ()
    body_text: str = ""

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    @property
    def location(self) -> str | None:
        """The redirect target, made absolute against the requested URL."""
        target = self.header("Location")
        if self.status not in _REDIRECT_STATUSES or not target:
            return None
        return urljoin(self.url, target)

    def __repr__(self) -> str:
        return f"HttpResponse({self.status} {redact_url(self.url)})"


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


@dataclass(frozen=True)
class TrailStep:
    """One hop of a login, for error messages: secrets in the URL are redacted."""

    method: str
    url: str
    status: int

    def __str__(self) -> str:
        return f"{self.method} {redact_url(self.url)} -> {self.status}"


LoginFlow = Generator[HttpRequest, HttpResponse, LoginOutcome]


def redact_url(url: str) -> str:
    """The URL with secret query values and any userinfo password replaced, no fragment."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{REDACTED}@{hostport}" if ":" in userinfo else netloc
    pieces = []
    for piece in parts.query.split("&") if parts.query else []:
        key, sep, _ = piece.partition("=")
        if unquote(key).lower() in SENSITIVE_QUERY_KEYS:
            pieces.append(f"{key}={REDACTED}")
        else:
            pieces.append(piece if sep else key)
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(pieces), ""))


# --- the login ------------------------------------------------------------------------------


def dex_login(
    settings: DexLoginSettings,
    password: SecretStr,
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
    raise walk.failure(f"{refused} answered 403 again after a fresh start")


def _log_in_once(walk: _LoginWalk, password: SecretStr, door_hint: Door | None) -> LoginFlow:
    walk.tried_oauth2_start = False
    dex_auth_url = yield from start(walk, door_hint)
    if dex_auth_url is None:
        return LoginOutcome(cookies=(), expires_at=None, door="none", requests=walk.requests)
    form_url = yield from reach_password_form(walk, dex_auth_url)
    after_password = yield from post_password(walk, form_url, password)
    callback_url = after_password
    if _is_approval_url(after_password):
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

    def failure(self, problem: str) -> LoginFlowError:
        return LoginFlowError(
            profile=self.settings.profile,
            host=self.settings.origin,
            problem=problem,
            trail=render_trail(self.trail),
            steps=tuple(self.trail),
        )


def render_trail(trail: Iterable[TrailStep]) -> str:
    return "; ".join(str(step) for step in trail) or "(no request sent)"


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
    return _enter_dex(walk, response)


def probe_api_url(walk: _LoginWalk) -> Generator[HttpRequest, HttpResponse, str | None]:
    """Ask the API URL itself which door guards it."""
    url = walk.settings.api_url
    for _ in range(_MAX_PROBE_HOPS):
        response = yield from walk.get(url)
        if 200 <= response.status < 300:
            walk.door = "none"
            return None
        if response.status in (401, 403):
            # oauth2-proxy's second config: 401 {} on API paths, a 403 sign-in page elsewhere.
            if walk.tried_oauth2_start:
                raise walk.failure(
                    f"the API URL answers {response.status} but /oauth2/start does not lead to Dex"
                )
            dex_auth_url = yield from start_at_oauth2_proxy(walk)
            if dex_auth_url is None:
                raise walk.failure("/oauth2/start does not lead to Dex")
            return dex_auth_url
        dex_auth_url = _enter_dex(walk, response)
        if dex_auth_url is not None:
            return dex_auth_url
        target = response.location
        if target is None or origin(target) != walk.settings.origin:
            raise walk.failure(f"the API URL answered {_describe(response)}")
        url = target
    raise walk.failure("the host keeps redirecting without reaching Dex")


def _enter_dex(walk: _LoginWalk, response: HttpResponse) -> str | None:
    """The Dex ``/auth`` URL a door redirected to, noting which door it was."""
    target = response.location
    if target is None or not _is_dex_auth_url(target):
        return None
    redirect_uri = query_params(target).get("redirect_uri", "")
    walk.door = "oidc-authservice" if "/authservice/" in redirect_uri else "oauth2-proxy"
    return target


# --- step 2: the connector and its password form -------------------------------------------


def reach_password_form(
    walk: _LoginWalk, dex_auth_url: str
) -> Generator[HttpRequest, HttpResponse, str]:
    """The URL the password is posted to, for the profile's connector."""
    response = yield from walk.get(_connector_url(dex_auth_url, walk.settings.connector))
    form_url = _password_form_target(response)
    if form_url is not None:
        return form_url
    # The shortcut was not taken: old Dex needs ?req=, or this Dex lacks the connector.
    response = yield from walk.get(dex_auth_url)
    connector_url = choose_connector(walk, response)
    if _is_password_form_url(connector_url):
        return connector_url
    response = yield from walk.get(connector_url)
    form_url = _password_form_target(response)
    if form_url is None:
        raise walk.failure(
            f"connector '{walk.settings.connector}' answered {_describe(response)}, "
            "not a password form (is it a password connector?)"
        )
    return form_url


def choose_connector(walk: _LoginWalk, response: HttpResponse) -> str:
    """The profile's connector among those Dex's ``/auth`` answer offers."""
    offered: dict[str, str] = {}
    target = response.location
    if target is not None:
        connector_id = _connector_id(target)
        if connector_id is not None:
            offered[connector_id] = target
    elif response.status == 200:
        for link in _links(response.body_text):
            url = urljoin(response.url, link)
            connector_id = _connector_id(url)
            if connector_id is not None:
                offered.setdefault(connector_id, url)
    if not offered:
        raise walk.failure(f"Dex's /auth answered {_describe(response)}, offering no connector")
    wanted = walk.settings.connector
    if wanted not in offered:
        raise UnknownConnectorError(
            profile=walk.settings.profile,
            host=origin(response.url),
            connector=wanted,
            offered=", ".join(f"'{name}'" for name in offered),
        )
    return offered[wanted]


def _connector_url(dex_auth_url: str, connector: str) -> str:
    parts = urlsplit(dex_auth_url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "connector_id"
    ]
    path = f"{parts.path.rstrip('/')}/{quote(connector, safe='')}"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def _password_form_target(response: HttpResponse) -> str | None:
    """Where to post the password, if this answer shows or points at the form."""
    target = response.location
    if target is not None:
        return target if _is_password_form_url(target) else None
    if response.status == 200:
        form = _find_password_form(response.body_text)
        if form is not None:
            return urljoin(response.url, form.action) if form.action else response.url
    return None


# --- steps 3 to 5: password, approval, callback ---------------------------------------------


def post_password(
    walk: _LoginWalk, form_url: str, password: SecretStr
) -> Generator[HttpRequest, HttpResponse, str]:
    """Post the credentials; returns where Dex sends the browser next."""
    settings = walk.settings
    if settings.is_https and urlsplit(form_url).scheme.lower() != "https":
        raise InsecurePasswordPostError(
            profile=settings.profile, host=settings.origin, form_url=redact_url(form_url)
        )
    request = HttpRequest("POST", form_url, form={"login": settings.username, "password": password})
    response = yield from walk.send(request)
    shows_form_again = response.status == 200 and _find_password_form(response.body_text)
    if response.status == 401 or shows_form_again:
        raise InvalidCredentialsError(
            profile=settings.profile,
            host=origin(form_url),
            username=settings.username,
            connector=settings.connector,
        )
    if response.status == 403:
        raise _RefusedAfterPassword("the password POST")
    if response.location is None:
        raise walk.failure(f"Dex answered the password with {_describe(response)}")
    return response.location


def approve(walk: _LoginWalk, approval_url: str) -> Generator[HttpRequest, HttpResponse, str]:
    """Grant the approval Dex asks for; returns the callback URL."""
    form = {"req": query_params(approval_url).get("req", ""), "approval": "approve"}
    response = yield from walk.send(HttpRequest("POST", approval_url, form=form))
    if response.status == 403:
        raise _RefusedAfterPassword("the approval")
    target = response.location
    if target is None or _is_approval_url(target):
        raise walk.failure(f"Dex answered the approval with {_describe(response)}")
    return target


def finish_at_callback(
    walk: _LoginWalk, callback_url: str
) -> Generator[HttpRequest, HttpResponse, LoginOutcome]:
    """The door's callback trades Dex's code for the session cookies."""
    response = yield from walk.get(callback_url)
    if response.status == 403:
        raise _RefusedAfterPassword("the callback")
    now = walk.clock()
    cookies = [c for c in _set_cookies(response, now) if not c.deleted]
    if response.status >= 400 or not cookies:
        raise walk.failure(f"the callback answered {_describe(response)} and set no session cookie")
    expiries = [c.expires_at for c in cookies if c.expires_at is not None]
    return LoginOutcome(
        cookies=tuple((c.name, c.value) for c in cookies),
        expires_at=min(expiries) if expiries else None,
        door=walk.door or "oauth2-proxy",
        requests=walk.requests,
    )


# --- recognising URLs and pages -------------------------------------------------------------

_CONNECTOR_PATH = re.compile(r"/auth/([^/]+)$")
_LOGIN_FORM_PATH = re.compile(r"/auth/[^/]+/login$")


def oauth2_start_url(api_url: str) -> str:
    """oauth2-proxy's ``/oauth2/start`` at the API URL's origin, returning to its path."""
    return f"{origin(api_url)}/oauth2/start?{urlencode({'rd': urlsplit(api_url).path or '/'})}"


def query_params(url: str) -> dict[str, str]:
    """The URL's query as a dict (the last value of a repeated key)."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def _is_dex_auth_url(url: str) -> bool:
    return urlsplit(url).path.endswith("/auth") and "client_id" in query_params(url)


def _connector_id(url: str) -> str | None:
    match = _CONNECTOR_PATH.search(urlsplit(url).path)
    return unquote(match.group(1)) if match else None


def _is_password_form_url(url: str) -> bool:
    """v2.29+ ``/auth/<id>/login?...``, or the old ``/auth/<id>?req=<id>``."""
    path = urlsplit(url).path
    if _LOGIN_FORM_PATH.search(path):
        return True
    return _CONNECTOR_PATH.search(path) is not None and "req" in query_params(url)


def _is_approval_url(url: str) -> bool:
    return urlsplit(url).path.endswith("/approval")


def _describe(response: HttpResponse) -> str:
    target = response.location
    if target is not None:
        return f"{response.status} to {redact_url(target)}"
    kind = (response.header("Content-Type") or "no content type").split(";")[0]
    return f"{response.status} ({kind})"


@dataclass
class _Form:
    action: str
    fields: list[str] = field(default_factory=list)


class _PageParser(HTMLParser):
    """The forms (with their input names) and link targets of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.links: list[str] = []
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(_Form(action=values.get("action", "")))
            self._in_form = True
        if tag in ("input", "button") and self._in_form and values.get("name"):
            self.forms[-1].fields.append(values["name"])
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def _parse_page(body: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(body)
    parser.close()
    return parser


def _find_password_form(body: str) -> _Form | None:
    if "password" not in body:
        return None
    return next((f for f in _parse_page(body).forms if "password" in f.fields), None)


def _links(body: str) -> list[str]:
    return _parse_page(body).links


# --- cookies the callback set ---------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class _SetCookie:
    name: str
    value: str
    expires_at: float | None
    deleted: bool


def _set_cookies(response: HttpResponse, now: float) -> list[_SetCookie]:
    parsed = (_parse_set_cookie(line, now) for line in response.header_values("Set-Cookie"))
    return [cookie for cookie in parsed if cookie is not None]


def _parse_set_cookie(line: str, now: float) -> _SetCookie | None:
    first, *attributes = line.split(";")
    name, sep, value = first.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        return None
    max_age: int | None = None
    expires: float | None = None
    for attribute in attributes:
        key, _, raw = attribute.strip().partition("=")
        key = key.strip().lower()
        if key == "max-age":
            try:
                max_age = int(raw.strip())
            except ValueError:
                continue
        elif key == "expires":
            expires = _parse_http_date(raw.strip())
    # RFC 6265: Max-Age wins over Expires.
    expires_at = now + max_age if max_age is not None else expires
    deleted = not value or (expires_at is not None and expires_at <= now)
    return _SetCookie(name=name, value=value, expires_at=expires_at, deleted=deleted)


def _parse_http_date(text: str) -> float | None:
    # Go and oauth2-proxy write "Mon, 02 Jan 2006 15:04:05 GMT"; older servers use dashes.
    for candidate in (text, text.replace("-", " ")):
        try:
            return parsedate_to_datetime(candidate).timestamp()
        except (TypeError, ValueError, IndexError):
            continue
    return None


def door_from_text(value: str | None) -> Door | None:
    """A door name read back from storage, or None when it is not one we know."""
    doors: tuple[Door, ...] = ("oauth2-proxy", "oidc-authservice", "none")
    return next((door for door in doors if door == value), None)
