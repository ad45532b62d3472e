"""Runs a login flow (:mod:`kfp_profiles.auth.dex_flow`) over real HTTP with ``requests``.

Every request: redirects not followed (the flow decides each hop), the profile's
timeout on the connect and on the read, its CA bundle or TLS switch, its proxy.
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

import logging
from collections.abc import Generator
from typing import TYPE_CHECKING, TypeVar

from ..errors import TooManyRedirectsError
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
) -> T:
    """Drive ``flow`` to its end, sending each request it yields; returns its value.

    Cookies travel from hop to hop in the jar of a fresh ``requests.Session``,
    so no old cookie leaks into a login.
    """
    _redact_urllib3_debug_lines()
    http = new_http_session()
    trail: list[TrailStep] = []
    try:
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
            response = send_once(http, request, settings)
            trail.append(TrailStep(request.method, request.url, response.status))
            try:
                request = flow.send(response)
            except StopIteration as finished:
                return finished.value  # type: ignore[no-any-return]
    finally:
        flow.close()
        http.close()


def new_http_session() -> requests.Session:
    import requests

    http = requests.Session()
    http.trust_env = False  # see the module docstring: verify, proxies and netrc are ours
    return http


def send_once(
    http: requests.Session, request: HttpRequest, settings: DexLoginSettings
) -> HttpResponse:
    """Send one request as the profile says; connection problems become ConnectionFailedError."""
    try:
        answer = http.request(
            request.method,
            request.url,
            data=request.form_data(),
            allow_redirects=False,
            timeout=(settings.timeout, settings.timeout),
            verify=tls_verify_setting(settings),
            proxies=proxies_for(request.url, settings),
        )
    except OSError as exc:  # every requests exception, and a CA bundle that cannot be read
        # `from None`: requests' own message carries the URL's query (state, code).
        raise connection_failed(
            exc,
            request.url,
            profile=settings.profile,
            timeout=settings.timeout,
            verify_tls=settings.verify_tls,
            ca_bundle=settings.ca_bundle,
        ) from None
    with answer:
        response = HttpResponse(
            status=answer.status_code,
            url=request.url,
            headers=_header_lines(answer),
            body_text=answer.text,
        )
    log.debug("%s %s -> %s", request.method, redact_url(request.url), response.status)
    return response


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
