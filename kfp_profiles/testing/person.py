"""A scripted person at a browser: follows a sign-in URL through Dex's pages, as a person would.

For tests of browser and device sign-ins: the code under test prints or
"opens" a URL; the test hands it to :func:`browse`, which fetches it with
``requests`` and does what the page asks, one page at a time:

- Dex's connector list: picks ``connector`` (default: the first);
- the code entry page of the device flow: submits ``user_code`` (or the
  code already filled in by ``verification_uri_complete``);
- the password form: types ``user`` and ``password``;
- the approval page: grants access, or cancels with ``approve=False``;
- a redirect off Dex's origin (the loopback callback of the code under
  test): follows it when ``follow_callback``, else stops there so the test
  can read (or tamper with) ``code``, ``state`` and ``iss`` first.

Anything else ends the walk: the returned :class:`Visit` says where and what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

#: Kubeflow's example user, as the emulator's Dex has it by default.
USER, PASSWORD = "user@example.com", "12341234"


@dataclass
class Visit:
    """Where the person's browser stopped: the last URL, its answer, and the way there."""

    url: str
    status: int
    text: str
    history: list[str] = field(default_factory=list)
    fetched: bool = True  # False: a callback URL the browser was sent to but did not open

    @property
    def query(self) -> dict[str, str]:
        """The query of ``url``: ``code``, ``state``, ``iss`` or ``error`` at a callback."""
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Page(HTMLParser):
    """The forms and links of one page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.links: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(_Form(found.get("action", ""), found.get("method", "get").lower()))
        elif tag == "input" and self.forms and found.get("name"):
            self.forms[-1].fields.setdefault(found["name"], found.get("value", ""))
        elif tag == "a" and found.get("href"):
            self.links.append(found["href"])

    def form_with(self, name: str, value: str | None = None) -> _Form | None:
        return next(
            (
                f
                for f in self.forms
                if name in f.fields and (value is None or f.fields[name] == value)
            ),
            None,
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def browse(
    url: str,
    *,
    user: str = USER,
    password: str = PASSWORD,
    approve: bool = True,
    user_code: str | None = None,
    connector: str | None = None,
    follow_callback: bool = True,
    session: Any = None,
    verify: bool | str = True,
    timeout: float = 10.0,
    max_steps: int = 20,
) -> Visit:
    """Walk ``url`` through Dex's pages as a person would; see the module's docstring.

    ``session`` is a ``requests.Session`` to keep cookies across calls (a new
    one by default); ``verify`` is passed to ``requests`` (a CA bundle path
    for an emulator with TLS).
    """
    import requests

    browser = session if session is not None else requests.Session()
    dex_origin = _origin(url)
    history: list[str] = []
    posted: set[str] = set()
    method, data = "GET", None
    response = None
    for _ in range(max_steps):
        history.append(url)
        response = browser.request(
            method, url, data=data, allow_redirects=False, timeout=timeout, verify=verify
        )
        method, data = "GET", None
        if response.is_redirect or response.status_code in (301, 302, 303, 307, 308):
            target = urljoin(url, response.headers.get("Location", ""))
            if _origin(target) != dex_origin and not follow_callback:
                return Visit(target, response.status_code, "", [*history, target], fetched=False)
            url = target
            continue
        if _origin(url) != dex_origin:
            break  # the callback of the code under test answered: the walk is over
        step = _next_step(_Page(response.text), user, password, approve, user_code, connector)
        if step is None:
            break
        action, data = step
        url = urljoin(url, action)
        if data is not None and url in posted:
            break  # the same form again: the password or the code was refused
        method = "POST" if data is not None else "GET"
        if data is not None:
            posted.add(url)
    assert response is not None
    return Visit(url, response.status_code, response.text, history)


def _next_step(
    page: _Page,
    user: str,
    password: str,
    approve: bool,
    user_code: str | None,
    connector: str | None,
) -> tuple[str, dict[str, str] | None] | None:
    """What the person does on ``page``: (URL, form data to POST or None to GET), or None."""
    code_form = page.form_with("user_code")
    if code_form is not None:
        code = user_code or code_form.fields["user_code"]
        return code_form.action, {**code_form.fields, "user_code": code}
    password_form = page.form_with("password")
    if password_form is not None:
        return password_form.action, {"login": user, "password": password}
    choice = "approve" if approve else "rejected"
    approval_form = page.form_with("approval", choice)
    if approval_form is not None:
        return approval_form.action, dict(approval_form.fields)
    connectors = [link for link in page.links if link.startswith("/dex/auth/")]
    if connectors:
        wanted = [link for link in connectors if connector and f"/auth/{connector}?" in link]
        return (wanted or connectors)[0], None
    return None
