"""Talk to the emulator as a browser does, or one raw request at a time.

Shared by the emulator's tests (test_emulator*.py): ``browser_login`` follows
forms and links whatever the door and Dex version; ``raw`` sends one request
with ``http.client`` to see raw status lines, relative ``Location`` headers and
every ``Set-Cookie``.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from kfp_profiles.testing import Emulator

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
