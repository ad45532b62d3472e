"""Reads the parts of an answer a login needs: query strings, HTML forms and links, Set-Cookie.

Plain parsing with the standard library, no I/O and nothing about which door
sent the answer (that is :mod:`kfp_profiles.auth.doors`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Form", "SetCookie", "find_password_form", "links", "query_params", "set_cookies"]


def query_params(url: str) -> dict[str, str]:
    """The URL's query as a dict (the last value of a repeated key)."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# --- HTML ------------------------------------------------------------------------------------


@dataclass
class Form:
    """A ``<form>``: its action (empty: the page's own URL) and the names of its inputs."""

    action: str
    fields: list[str] = field(default_factory=list)


class _PageParser(HTMLParser):
    """The forms (with their input names) and link targets of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(action=values.get("action", "")))
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


def find_password_form(body: str) -> Form | None:
    """The first form of the page with a ``password`` input, if any."""
    if "password" not in body:
        return None
    return next((f for f in _parse_page(body).forms if "password" in f.fields), None)


def links(body: str) -> list[str]:
    """The ``href`` of every ``<a>`` of the page, entities decoded, in page order."""
    return _parse_page(body).links


# --- Set-Cookie ------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class SetCookie:
    """One ``Set-Cookie`` line: name, value, when it ends, and whether it clears the cookie."""

    name: str
    value: str
    expires_at: float | None
    deleted: bool


def set_cookies(lines: Iterable[str], now: float) -> list[SetCookie]:
    """The cookies of these ``Set-Cookie`` lines (``now`` in epoch seconds); bad lines skipped."""
    parsed = (_parse_set_cookie(line, now) for line in lines)
    return [cookie for cookie in parsed if cookie is not None]


def _parse_set_cookie(line: str, now: float) -> SetCookie | None:
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
    return SetCookie(name=name, value=value, expires_at=expires_at, deleted=deleted)


def _parse_http_date(text: str) -> float | None:
    # Go and oauth2-proxy write "Mon, 02 Jan 2006 15:04:05 GMT"; older servers use dashes.
    for candidate in (text, text.replace("-", " ")):
        try:
            return parsedate_to_datetime(candidate).timestamp()
        except (TypeError, ValueError, IndexError):
            continue
    return None


def format_cookie_header(cookies: Iterable[tuple[str, str]]) -> str:
    """The ``Cookie`` header that sends these (name, value) pairs back."""
    return "; ".join(f"{name}={value}" for name, value in cookies)
