"""The HTTP messages a login flow and its driver trade, printed with their secrets redacted.

A flow (:mod:`kfp_profiles.auth.dex_flow`, the doctor's fingerprint in
:mod:`kfp_profiles.doctor.fingerprint`) yields :class:`HttpRequest` values and
is sent :class:`HttpResponse` values; :mod:`kfp_profiles.auth.http` sends them
with the :class:`DexLoginSettings` of a profile. Every way they are shown (a
repr, a :class:`TrailStep` of an error's redirect trail, a DEBUG line) goes
through :func:`redact_url`, so no code, state or password reaches a message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from pydantic import SecretStr

from ..transport import origin

__all__ = [
    "REDACTED",
    "SENSITIVE_QUERY_KEYS",
    "DexLoginSettings",
    "HttpRequest",
    "HttpResponse",
    "TrailStep",
    "describe_answer",
    "redact_url",
    "render_trail",
]

#: Query parameters whose values are secrets or one-time codes: never shown.
SENSITIVE_QUERY_KEYS = frozenset({"code", "state", "req", "hmac", "password"})
REDACTED = "REDACTED"

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


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
    #: The host the profiles file names; None when it is ``api_url`` itself.
    file_host: str | None = None
    #: Where the password comes from (``ResolvedProfile.sources``): a rejected one's fix.
    password_source: str = "keyring"

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

    @property
    def plain_http_allowed(self) -> bool:
        """A password goes over plain HTTP only where the file itself names an http host."""
        return urlsplit(self.file_host or self.api_url).scheme.lower() == "http"


@dataclass(frozen=True, repr=False)
class HttpRequest:
    """One request the flow wants sent, redirects not followed."""

    method: str
    url: str
    #: Form fields for a POST; a SecretStr is unwrapped only by the driver, at send time.
    form: Mapping[str, str | SecretStr] | None = None
    #: Extra request headers (the doctor's probe bearer, which is no secret).
    headers: Mapping[str, str] | None = None

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
        """The redirect target, made absolute against the requested URL; None when there is
        none, or when it is no URL at all (``http://[not-ipv6``): then the login stops at
        this answer with its own typed error, as at any answer it cannot use."""
        target = self.header("Location")
        if self.status not in _REDIRECT_STATUSES or not target:
            return None
        try:
            absolute = urljoin(self.url, target)
            urlsplit(absolute).port  # noqa: B018 - raises ValueError for a bad host or port
        except ValueError:
            return None
        return absolute

    def __repr__(self) -> str:
        return f"HttpResponse({self.status} {redact_url(self.url)})"


@dataclass(frozen=True)
class TrailStep:
    """One hop of a login, for error messages: secrets in the URL are redacted."""

    method: str
    url: str
    status: int

    def __str__(self) -> str:
        return f"{self.method} {redact_url(self.url)} -> {self.status}"


def render_trail(trail: Iterable[TrailStep]) -> str:
    return "; ".join(str(step) for step in trail) or "(no request sent)"


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


def describe_answer(response: HttpResponse) -> str:
    """``302 to <redacted URL>`` or ``500 (text/plain)``: an answer, for an error message."""
    target = response.location
    if target is not None:
        return f"{response.status} to {redact_url(target)}"
    kind = (response.header("Content-Type") or "no content type").split(";")[0]
    return f"{response.status} ({kind})"
