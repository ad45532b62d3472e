"""Runs a login flow (:mod:`kfp_profiles.auth.dex_flow`) over real HTTP with ``requests``.

Every request: redirects not followed (the flow decides each hop), its CA
bundle or TLS switch, its proxy, and at most :data:`~kfp_profiles.deadline.READ_CAP`
of body read. One flow (a login, the doctor's probe) runs under one deadline,
the profile's ``timeout``, from the first connect to the last byte of the last
answer (:mod:`kfp_profiles.deadline`); at most ``max_requests`` requests.
``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace a session's
own ``verify`` whenever ``trust_env`` is on; so ``trust_env`` is off and this
module applies the environment itself, in the order the product promises: the
profile's ``ca_bundle`` first, then those variables, then the default store;
``HTTP(S)_PROXY``/``NO_PROXY`` unless the profile sets ``proxy``. Turning
``trust_env`` off also keeps ``~/.netrc`` from adding an ``Authorization``
header, which would route the login past oauth2-proxy.

Each hop is logged at DEBUG as ``METHOD redacted-url -> status`` and nothing
more; urllib3's own DEBUG line for the request gets the same redaction.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .. import deadline
from ..errors import ResponseTooLargeError, TooManyRedirectsError
from ..transport import connection_failed, proxy_for, tls_trust
from .exchange import (
    DexLoginSettings,
    HttpRequest,
    HttpResponse,
    TrailStep,
    redact_url,
    render_trail,
)

if TYPE_CHECKING:
    import requests

__all__ = ["DEFAULT_MAX_REQUESTS", "new_http_session", "run_flow", "send_once"]

T = TypeVar("T")

log = logging.getLogger("kfp_profiles.auth.http")

#: A login takes 4 to 7 requests; a door that needs more is going round in a loop.
DEFAULT_MAX_REQUESTS = 20


def run_flow(
    flow: Generator[HttpRequest, HttpResponse, T],
    settings: DexLoginSettings,
    *,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    what: str = "the login",
) -> T:
    """Drive ``flow`` to its end, sending each request it yields; returns its value.

    Cookies travel from hop to hop in the jar of a fresh ``requests.Session``,
    so no old cookie leaks into a login. The whole flow shares one deadline,
    ``settings.timeout``; ``what`` names the flow in its errors.
    """
    _redact_urllib3_debug_lines()
    http = new_http_session()
    trail: list[TrailStep] = []
    try:
        with deadline.within(settings.timeout):
            try:
                request = next(flow)
            except StopIteration as finished:
                return finished.value  # type: ignore[no-any-return]
            while True:
                if len(trail) >= max_requests:
                    raise TooManyRedirectsError(
                        profile=settings.profile,
                        host=settings.origin,
                        limit=max_requests,
                        trail=render_trail(trail),
                    )
                step = flow_step(what, request)
                response = send_once(http, request, settings, step=step)
                trail.append(TrailStep(request.method, request.url, response.status))
                try:
                    request = flow.send(response)
                except StopIteration as finished:
                    return finished.value  # type: ignore[no-any-return]
    finally:
        flow.close()
        http.close()


def flow_step(what: str, request: HttpRequest) -> str:
    """``what`` and the step ``request`` is, for errors: ``the login (at its password
    step, POST /dex/auth/local/login)``; no query (a state, a code) in it."""
    path = urlsplit(request.url).path or "/"
    name = next((label for key, label in _STEP_NAMES if key in path), None)
    if request.form and "password" in request.form:
        name = "password"
    at = f"its {name} step, " if name else ""
    return f"{what} (at {at}{request.method} {path})"


#: Path fragments that name a login step (the password step is its form's field).
_STEP_NAMES = (
    ("/oauth2/start", "start"),
    ("/approval", "approval"),
    ("callback", "callback"),
    ("/dex/auth", "connector"),
)


def send_once(
    http: requests.Session,
    request: HttpRequest,
    settings: DexLoginSettings,
    *,
    step: str | None = None,
) -> HttpResponse:
    """Send one request as the profile says, within the running flow's deadline (else its own).

    Connection problems become ConnectionFailedError; running out of time,
    DeadlineExceededError; a body over the cap, ResponseTooLargeError.
    """
    step = step or f"{request.method} {urlsplit(request.url).path or '/'}"
    with _clock(settings.timeout) as clock:
        if clock.passed:
            raise deadline.late(clock, host=settings.origin, profile=settings.profile, step=step)
        proxies = proxies_for(request.url, settings)
        if proxies:
            _proxy_keeps_deadline(http, request.url, proxies["https"])
        outcome = _exchange(http, request, settings, clock.remaining(), proxies)
        if isinstance(outcome, OSError):  # every requests exception, an unreadable CA bundle
            # Raised here, outside any except block: requests' exception names the URL's
            # query (state, code) and holds the request, a password form's body included.
            raise connection_failed(
                outcome,
                request.url,
                profile=settings.profile,
                timeout=settings.timeout,
                verify_tls=settings.verify_tls,
                ca_bundle=settings.ca_bundle,
                step=step,
                proxy=proxies.get("https"),
            )
        answer, body = outcome
        if clock.fired:  # a body cut short at the deadline can look complete
            raise deadline.late(clock, host=settings.origin, profile=settings.profile, step=step)
    if body is None:
        raise ResponseTooLargeError(
            host=settings.origin, profile=settings.profile, step=step, cap=deadline.READ_CAP_TEXT
        )
    response = HttpResponse(
        status=answer.status_code,
        url=request.url,
        headers=_header_lines(answer),
        body_text=_text(body, answer.encoding),
    )
    log.debug("%s %s -> %s", request.method, redact_url(request.url), response.status)
    return response


def _exchange(
    http: requests.Session,
    request: HttpRequest,
    settings: DexLoginSettings,
    seconds: float,
    proxies: dict[str, str],
) -> tuple[requests.Response, bytes | None] | OSError:
    """The answer and its body (None past the cap), or the OSError that stopped them."""
    try:
        answer = http.request(
            request.method,
            request.url,
            data=request.form_data(),
            headers=dict(request.headers) if request.headers else None,
            allow_redirects=False,
            timeout=(seconds, seconds),
            verify=tls_verify_setting(settings),
            proxies=proxies,
            stream=True,  # the body is read here, capped
            hooks={"response": _drop_unusable_location},
        )
        with answer:
            return answer, deadline.read_capped(answer.iter_content(1 << 16))
    except OSError as exc:
        return exc


def _drop_unusable_location(answer: requests.Response, **_: Any) -> requests.Response:
    """A ``Location`` that is no URL (``http://[not-ipv6``) goes: requests would raise a raw
    ValueError reading it, and the flow stops at an answer it cannot follow anyway."""
    from urllib.parse import urljoin

    location = answer.headers.get("Location")
    if location is not None:
        try:
            urlsplit(urljoin(answer.url, location)).port  # noqa: B018 - raises on a bad host
        except ValueError:
            del answer.headers["Location"]
    return answer


def _proxy_keeps_deadline(http: requests.Session, url: str, proxy: str) -> None:
    """requests makes a proxy's pool manager on first use: make it keep the deadline too."""
    from requests.adapters import HTTPAdapter

    from ..pools import keep_deadline

    adapter = http.get_adapter(url)
    if isinstance(adapter, HTTPAdapter):
        keep_deadline(adapter.proxy_manager_for(proxy))


@contextlib.contextmanager
def _clock(seconds: float) -> Iterator[deadline.Clock]:
    """The running flow's clock, or one for this request alone."""
    clock = deadline.current()
    if clock is not None:
        yield clock
        return
    with deadline.within(seconds) as clock:
        yield clock


def _text(body: bytes, encoding: str | None) -> str:
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def new_http_session() -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter

    from ..pools import keep_deadline

    http = requests.Session()
    http.trust_env = False  # see the module docstring: verify, proxies and netrc are ours
    adapter = HTTPAdapter(max_retries=0)
    keep_deadline(adapter.poolmanager)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    return http


def tls_verify_setting(settings: DexLoginSettings) -> bool | str:
    """``verify`` for requests, by the rule both hops share (see :mod:`kfp_profiles.transport`)."""
    return tls_trust(settings.verify_tls, settings.ca_bundle)


def proxies_for(url: str, settings: DexLoginSettings) -> dict[str, str]:
    """``proxies`` for requests, by the rule both hops share."""
    proxy = proxy_for(url, settings.proxy)
    return {"http": proxy, "https": proxy} if proxy else {}


def _header_lines(answer: requests.Response) -> tuple[tuple[str, str], ...]:
    # requests folds repeated headers into one comma-joined value, which breaks
    # Set-Cookie (its Expires holds a comma); urllib3 keeps each line.
    raw_headers = getattr(answer.raw, "headers", None)
    lines = getattr(raw_headers, "iteritems", None)
    if callable(lines):
        return tuple((str(name), str(value)) for name, value in lines())
    return tuple(answer.headers.items())


class _RedactQueryFilter(logging.Filter):
    """Redacts codes and states from urllib3's DEBUG request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, str) and "?" in arg for arg in record.args
        ):
            record.args = tuple(
                redact_url(arg) if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        return True


_urllib3_filter = _RedactQueryFilter()


def _redact_urllib3_debug_lines() -> None:
    # urllib3 logs "GET /oauth2/callback?code=...&state=..." at DEBUG.
    logger = logging.getLogger("urllib3.connectionpool")
    if _urllib3_filter not in logger.filters:
        logger.addFilter(_urllib3_filter)
