"""Recognises the Kubeflow front door and Dex's pages from one answer or one URL (no I/O).

One vocabulary of doors for the login (:mod:`kfp_profiles.auth.dex_flow`), the
door name its session cache keeps (:mod:`kfp_profiles.session`) and the
doctor's fingerprint (:mod:`kfp_profiles.doctor.fingerprint`), one door per
shape the Kubeflow releases 1.5 to 1.11 give it (the emulator in
:mod:`kfp_profiles.testing` plays each):

- ``none``: the API answers with no login (standalone KFP, a port-forward);
- ``oauth2-proxy``: Kubeflow 1.9.1+, API paths answer 401 ``{}``, pages a 403
  sign-in form, and ``/oauth2/start`` leads into Dex;
- ``oauth2-proxy-first``: Kubeflow 1.9.0, every path redirects into Dex with
  an ``/oauth2/`` callback;
- ``oidc-authservice``: Kubeflow 1.8 and earlier, every path redirects into Dex
  with an ``/authservice/`` callback (and sets ``oidc_state_csrf``);
- ``unknown``: none of these.

Whether a door takes bearer tokens is told by one request carrying a bearer that
is no JWT (:func:`read_bearer_answer`): Istio's JWT checker answers 401 with its
reason, the older doors treat it as no session and answer with their login.

A login tells apart only what changes its first request, so it names a
:data:`Door`: oauth2-proxy's two configs are one door to it (:func:`login_door`).

Dex (issuer path ``/dex`` in Kubeflow, any path here): ``/auth`` with the
door's OAuth parameters; ``/auth/<connector>``, which v2.29+ redirects to the
password form at ``/auth/<connector>/login``, and which v2.28 and earlier
(``?req=<id>``, the OAuth parameters gone) shows and takes itself; a list of
connector links when there are several; ``/approval``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from ..transport import origin
from .pages import find_password_form, links, query_params

if TYPE_CHECKING:
    from .exchange import HttpResponse

__all__ = [
    "DOOR_DESCRIPTIONS",
    "LOGIN_DOORS",
    "PROBE_BEARER",
    "ApiAnswer",
    "Approval",
    "BearerAnswer",
    "Door",
    "DoorName",
    "approval_page",
    "connector_of",
    "connector_url",
    "door_from_text",
    "door_into_dex",
    "is_approval_url",
    "is_dex_auth_url",
    "is_password_form_url",
    "login_door",
    "login_page_reason",
    "oauth2_start_url",
    "offered_connectors",
    "password_form_target",
    "password_rejected",
    "read_api_answer",
    "read_bearer_answer",
    "refusal_door",
    "uses_old_dex_paths",
]

#: Every door this tool names.
DoorName = Literal["none", "oauth2-proxy", "oauth2-proxy-first", "oidc-authservice", "unknown"]

#: The doors a login tells apart, and the names its session cache stores; "none": no login.
Door = Literal["oauth2-proxy", "oidc-authservice", "none"]
LOGIN_DOORS: tuple[Door, ...] = ("oauth2-proxy", "oidc-authservice", "none")

_LOGIN_DOOR: dict[DoorName, Door | None] = {
    "none": "none",
    "oauth2-proxy": "oauth2-proxy",
    "oauth2-proxy-first": "oauth2-proxy",
    "oidc-authservice": "oidc-authservice",
    "unknown": None,
}

DOOR_DESCRIPTIONS: dict[DoorName, str] = {
    "none": "no front door: the KFP API answers with no login (standalone KFP, or a port-forward)",
    "oauth2-proxy": "second config, Kubeflow 1.9.1 and later: API paths answer 401",
    "oauth2-proxy-first": "first config, Kubeflow 1.9.0: every path redirects into Dex",
    "oidc-authservice": "Kubeflow 1.8 and earlier: every path redirects into Dex",
    "unknown": "not a front door this tool knows",
}

#: Whether Dex shows its approval page to this login.
Approval = Literal["shown", "not shown", "auto-approved"]

#: oidc-authservice's state cookie, set with its redirect into Dex.
_AUTHSERVICE_STATE_COOKIE = "oidc_state_csrf"
_CONNECTOR_PATH = re.compile(r"/auth/([^/]+)$")
_LOGIN_FORM_PATH = re.compile(r"/auth/[^/]+/login$")


def login_door(door: DoorName) -> Door | None:
    """The door a login names for ``door``; None for ``unknown``."""
    return _LOGIN_DOOR[door]


def door_from_text(value: str | None) -> Door | None:
    """A door name read back from storage, or None when it is not one we know."""
    return next((door for door in LOGIN_DOORS if door == value), None)


# --- the door --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiAnswer:
    """What one answer of the KFP API URL says about the door in front of it.

    ``door`` is ``oauth2-proxy`` for a 401 or 403 (the second config), which
    only ``/oauth2/start`` leading into Dex confirms; ``unknown`` with
    ``follow`` set for a redirect on the host itself (``/pipeline`` to
    ``/pipeline/``), to follow before judging.
    """

    door: DoorName
    #: Dex's ``/auth`` URL the door redirected to.
    dex_auth_url: str | None = None
    follow: str | None = None


def read_api_answer(response: HttpResponse) -> ApiAnswer:
    """The door an answer of the KFP API URL (no session, no ``Authorization``) points to."""
    entered = door_into_dex(response, at_api_path=True)
    if entered is not None:
        return ApiAnswer(entered, dex_auth_url=response.location)
    target = response.location
    if target is not None and origin(target) == origin(response.url):
        return ApiAnswer("unknown", follow=target)
    if 200 <= response.status < 300:
        return ApiAnswer("none")
    if response.status in (401, 403):
        return ApiAnswer("oauth2-proxy")
    return ApiAnswer("unknown")


def door_into_dex(response: HttpResponse, *, at_api_path: bool) -> DoorName | None:
    """The door whose redirect into Dex's ``/auth`` this is; None when it is not one.

    oidc-authservice is told by its callback (or state cookie); an oauth2-proxy
    redirect is the first config when it answers the API path itself, either
    config when it answers ``/oauth2/start``.
    """
    target = response.location
    if target is None or not is_dex_auth_url(target):
        return None
    redirect_uri = query_params(target).get("redirect_uri", "")
    cookie_names = {line.partition("=")[0].strip() for line in response.header_values("Set-Cookie")}
    if "/authservice/" in redirect_uri or _AUTHSERVICE_STATE_COOKIE in cookie_names:
        return "oidc-authservice"
    return "oauth2-proxy-first" if at_api_path else "oauth2-proxy"


#: Paths of a front door's login: an API answer redirecting there means no session.
_LOGIN_PATH_MARKERS = ("/dex/", "/oauth2/", "/authservice/")


def login_page_reason(status: int, headers: Mapping[str, str] | None) -> str | None:
    """Why an answer the API client got is a front door's, not the API's; None when it is
    the API's. A session that is gone gets a redirect into the login, a 401, or a page."""
    headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    content_type = headers.get("content-type", "")
    if 300 <= status < 400:
        location = headers.get("location", "")
        if any(marker in location for marker in _LOGIN_PATH_MARKERS) or not location:
            return f"a redirect to its login page ({status})"
        try:
            path = urlsplit(location).path
        except ValueError:  # not a URL at all
            path = "an address that is not a URL"
        return f"an unexpected redirect ({status}) to {path}"
    if status == 401:
        return "401 Unauthorized"
    if "text/html" in content_type:
        return f"an HTML page ({status}) where the API answers JSON"
    return None


def refusal_door(response: HttpResponse) -> DoorName:
    """The door that refused an API call sent with no session and no token.

    :func:`read_api_answer`'s door, except that a 401 carrying the KFP API's
    own error (grpc-gateway JSON with a ``code``: no identity) comes from a
    multi-user KFP API with no door in front (``none``), and that a page where
    the API answers JSON, or a redirect that is not into Dex, is ``unknown``.
    """
    if response.status == 401 and _is_grpc_error(response.body_text):
        return "none"
    answer = read_api_answer(response)
    if answer.follow is not None or 200 <= response.status < 300:
        return "unknown"
    return answer.door


#: The bearer ``doctor`` sends to see who checks bearer tokens: no JWT, and no secret.
PROBE_BEARER = "kfp-profiles-doctor-probe"

#: Who answered a request carrying :data:`PROBE_BEARER`: a JWT checker at the gateway
#: that says why (``jwt-checker``: Istio's RequestAuthentication, 1.9.1+), the door's
#: login as for no session (``login``: oauth2-proxy's JWT path on 1.9.0, oidc-authservice),
#: the KFP API itself (``api``: no door), or none of these.
BearerAnswer = Literal["jwt-checker", "login", "api", "unknown"]


def read_bearer_answer(response: HttpResponse) -> BearerAnswer:
    """Who answered a request whose bearer is no JWT (:data:`PROBE_BEARER`)."""
    challenge = (response.header("WWW-Authenticate") or "").lower()
    said_why = challenge.startswith("bearer") and "invalid_token" in challenge
    if response.status == 401 and (said_why or response.body_text.startswith("Jwt")):
        return "jwt-checker"
    if 200 <= response.status < 300 or (
        response.status == 401 and _is_grpc_error(response.body_text)
    ):
        return "api"
    if door_into_dex(response, at_api_path=True) is not None or response.status in (401, 403):
        return "login"
    return "unknown"


def _is_grpc_error(text: str) -> bool:
    try:
        payload = json.loads(text)
    except ValueError:
        return False
    return isinstance(payload, dict) and isinstance(payload.get("code"), int)


def oauth2_start_url(api_url: str) -> str:
    """oauth2-proxy's ``/oauth2/start`` at the API URL's origin, returning to its path."""
    return f"{origin(api_url)}/oauth2/start?{urlencode({'rd': urlsplit(api_url).path or '/'})}"


# --- Dex's URLs ------------------------------------------------------------------------------


def is_dex_auth_url(url: str) -> bool:
    """Dex's ``/auth`` endpoint with a door's OAuth request (``client_id``) in the query."""
    return urlsplit(url).path.rstrip("/").endswith("/auth") and "client_id" in query_params(url)


def connector_of(url: str) -> str | None:
    """The connector id of a Dex connector URL ``.../auth/<id>``; None for any other URL."""
    match = _CONNECTOR_PATH.search(urlsplit(url).path)
    return unquote(match.group(1)) if match else None


def connector_url(dex_auth_url: str, connector: str) -> str:
    """``/auth/<connector>`` with the door's OAuth parameters: Dex's connector choice skipped."""
    parts = urlsplit(dex_auth_url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "connector_id"
    ]
    path = f"{parts.path.rstrip('/')}/{quote(connector, safe='')}"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def uses_old_dex_paths(url: str) -> bool:
    """A connector URL of Dex v2.28 or earlier: ``/auth/<id>?req=<id>``, no OAuth parameters."""
    params = query_params(url)
    return connector_of(url) is not None and "req" in params and "client_id" not in params


def is_password_form_url(url: str) -> bool:
    """v2.29+ ``/auth/<id>/login?...``, or the old ``/auth/<id>?req=<id>``."""
    return _LOGIN_FORM_PATH.search(urlsplit(url).path) is not None or uses_old_dex_paths(url)


def is_approval_url(url: str) -> bool:
    return urlsplit(url).path.endswith("/approval")


# --- Dex's answers ---------------------------------------------------------------------------


def offered_connectors(response: HttpResponse) -> dict[str, str]:
    """Connector id -> its URL, from Dex's ``/auth`` answer: one redirect, or a list page."""
    offered: dict[str, str] = {}
    target = response.location
    if target is not None:
        connector = connector_of(target)
        if connector is not None:
            offered[connector] = target
    elif response.status == 200:
        for link in links(response.body_text):
            url = urljoin(response.url, link)
            connector = connector_of(url)
            if connector is not None:
                offered.setdefault(connector, url)
    return offered


def password_form_target(response: HttpResponse) -> str | None:
    """Where to post the password, if this answer shows or points at Dex's form."""
    target = response.location
    if target is not None:
        return target if is_password_form_url(target) else None
    if response.status == 200:
        form = find_password_form(response.body_text)
        if form is not None:
            return urljoin(response.url, form.action) if form.action else response.url
    return None


def password_rejected(response: HttpResponse) -> bool:
    """Dex's answer to a wrong password: 401 (v2.36+) or 200 (before), with the form again."""
    shows_form_again = response.status == 200 and find_password_form(response.body_text)
    return response.status == 401 or bool(shows_form_again)


def approval_page(door: DoorName, dex_auth_url: str, *, old_paths: bool) -> Approval:
    """Whether Dex shows its approval page to a login entering at ``dex_auth_url``.

    Kubeflow's Dex skips it (``skipApprovalScreen``) unless the door forces
    the prompt, as oauth2-proxy's first config does; behind oidc-authservice,
    or with Dex's old paths, Kubeflow auto-approves.
    """
    if door == "oidc-authservice":
        return "auto-approved"
    params = query_params(dex_auth_url)
    if params.get("approval_prompt") == "force" or params.get("prompt") == "consent":
        return "auto-approved" if old_paths else "shown"
    return "not shown"
