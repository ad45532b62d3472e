"""The request and response values the emulator's handlers pass around.

Handlers are plain functions from a :class:`Request` to a :class:`Response`,
so each documented behaviour reads as one small function and the HTTP
plumbing stays in ``server.py``.
"""

from __future__ import annotations

import collections
import html
import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs


class Headers(Mapping[str, str]):
    """Request headers: names compare case-insensitively, iterate as sent."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            key = name.lower()
            if key in self._items:
                joiner = "; " if key == "cookie" else ", "
                value = self._items[key][1] + joiner + value
                name = self._items[key][0]
            self._items[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({sorted(self)!r})"  # names only: values carry secrets

    def replaced(self, name: str, value: str | None) -> Headers:
        """A copy with ``name`` set to ``value``, or removed when ``value`` is None."""
        copy = Headers((n, v) for n, v in self.items() if n.lower() != name.lower())
        if value is not None:
            copy._items[name.lower()] = (name, value)
        return copy


@dataclass(frozen=True)
class Request:
    """One request as the client sent it.

    ``headers`` looks names up case-insensitively; ``query`` and ``form``
    keep the first value of each name. Headers, cookies and body stay out of the repr, since
    they carry cookies, tokens and passwords.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: Headers = field(repr=False)
    cookies: dict[str, str] = field(repr=False)
    body: bytes = field(default=b"", repr=False)
    raw_query: str = ""

    @property
    def target(self) -> str:
        """Path and query, as the client asked for them."""
        return f"{self.path}?{self.raw_query}" if self.raw_query else self.path

    @property
    def form(self) -> dict[str, str]:
        """The urlencoded body's fields, first value of each."""
        return first_values(self.body.decode("utf-8", "replace"))

    @property
    def bearer(self) -> str | None:
        """The token of an ``Authorization: Bearer`` header, if any."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.body.decode("utf-8") or "null")

    def with_headers(self, headers: Headers) -> Request:
        """A copy carrying other headers: what a gateway forwards upstream."""
        return replace(self, headers=headers)


@dataclass
class Response:
    """One response: status, body, content type and extra headers (in order)."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        max_age: float,
        same_site: str | None = "Lax",
        http_only: bool = True,
    ) -> Response:
        """Add a ``Set-Cookie`` with a real ``Expires`` and ``Max-Age``."""
        self.headers.append(
            ("Set-Cookie", cookie_header(name, value, max_age, same_site, http_only))
        )
        return self

    def clear_cookie(self, name: str) -> Response:
        """Add a ``Set-Cookie`` that makes the client drop ``name``."""
        self.headers.append(("Set-Cookie", cookie_header(name, "", 0, "Lax", True)))
        return self


class RequestLog:
    """The requests a server saw, in order, behind a lock (the emulator's counters)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []

    def record(self, req: Request) -> None:
        with self._lock:
            self._requests.append(req)

    def snapshot(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def counts(self) -> collections.Counter[str]:
        """By ``"METHOD /path"`` (no query)."""
        return collections.Counter(f"{req.method} {req.path}" for req in self.snapshot())

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()


def cookie_header(
    name: str, value: str, max_age: float, same_site: str | None, http_only: bool
) -> str:
    """The value of one ``Set-Cookie`` header, Path=/ as every Kubeflow cookie."""
    # Max-Age is whole seconds: rounding a short test lifetime down to 0
    # would make the client drop a cookie the server still honours.
    seconds = max(0, int(-(-max_age // 1)))
    expires = formatdate(time.time() + seconds if seconds else 0, usegmt=True)
    parts = [f"{name}={value}", "Path=/", f"Expires={expires}", f"Max-Age={seconds}"]
    if http_only:
        parts.append("HttpOnly")
    if same_site:
        parts.append(f"SameSite={same_site}")
    return "; ".join(parts)


def first_values(query: str) -> dict[str, str]:
    """``a=1&b=2`` as a dict, keeping the first value of a repeated name."""
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def parse_cookie_header(header: str) -> dict[str, str]:
    """A ``Cookie`` header as a dict; the first of two same-named cookies wins."""
    cookies: dict[str, str] = {}
    for pair in header.split(";"):
        name, sep, value = pair.strip().partition("=")
        if sep and name and name not in cookies:
            cookies[name] = value.strip().strip('"')
    return cookies


def json_response(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json")


def text_response(status: int, text: str) -> Response:
    return Response(status, text.encode())


def html_response(status: int, title: str, body_html: str) -> Response:
    page = (
        '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body_html}\n</body>\n</html>\n"
    )
    return Response(status, page.encode(), "text/html; charset=utf-8")


def redirect(status: int, location: str) -> Response:
    """A redirect with a relative ``Location``, as Kubeflow's components send."""
    label = {302: "Found", 303: "See Other"}.get(status, "Redirect")
    body = f'<a href="{html.escape(location)}">{label}</a>.\n'
    return Response(status, body.encode(), "text/html; charset=utf-8", [("Location", location)])
