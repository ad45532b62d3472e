"""How a person signs in: the device flow (RFC 8628) and the browser flow (code + PKCE).

Both return the token endpoint's answer (a dict holding ``id_token`` and, with
``offline_access``, ``refresh_token``) and the nonce the ID token must carry;
checking the ID token is the caller's. Instructions for the person go to
``say`` (standard error by default), never a token or a code.

- Device: the verification URL (moved to where this machine reaches it) and
  the user code are printed; the token endpoint is polled at the given
  interval (5 s when none is given; 5 s more after ``slow_down``) until the
  code is approved, refused (``access_denied``) or expired.
- Browser: a loopback server on the ``redirect_uri``'s port (0 or none: a
  free one; always bound to 127.0.0.1), an authorization URL with PKCE S256,
  ``state``, ``nonce`` and ``prompt=consent`` when ``offline_access`` is asked
  for; the browser is opened where one can be, the URL printed in any case.
  The callback's ``state`` must be this sign-in's, and its ``iss`` (RFC 9207)
  the provider's issuer when sent; the whole wait is bounded.
"""

from __future__ import annotations

import html
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ..errors import (
    OidcClientRefusedError,
    OidcDeviceCodeExpiredError,
    OidcSignInDeniedError,
    OidcSignInTimeoutError,
    OidcStateMismatchError,
    OidcTokenEndpointError,
)
from .oidc_discovery import move_url
from .oidc_http import OidcConfig, ProviderError, exchange, new_session

__all__ = ["DEVICE_GRANT", "SIGN_IN_SECONDS", "browser_sign_in", "device_sign_in", "say_to_stderr"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628's default poll interval, and what ``slow_down`` adds to it.
DEFAULT_INTERVAL = 5.0
#: How long the browser flow waits for the person to come back.
SIGN_IN_SECONDS = 300.0
#: Errors that mean the provider does not know or admit this client.
_CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client", "invalid_redirect_uri"})

Say = Callable[[str], None]


def say_to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _refused(config: OidcConfig, issuer: str, answer: ProviderError) -> Exception:
    """The error for a provider's refusal during a sign-in."""
    if answer.error in _CLIENT_ERRORS:
        return OidcClientRefusedError(
            profile=config.profile, issuer=issuer, client_id=config.client_id, error=answer
        )
    return OidcSignInDeniedError(profile=config.profile, issuer=issuer, error=answer)


# --- the device flow ----------------------------------------------------------------------------


def device_sign_in(
    config: OidcConfig,
    document: Mapping[str, Any],
    *,
    say: Say = say_to_stderr,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The tokens of a device-flow sign-in the person approves elsewhere."""
    issuer = str(document["issuer"])
    endpoint = str(document["device_authorization_endpoint"])
    token_endpoint = str(document["token_endpoint"])
    # Dex reads the device request's client_id and client_secret from the form alone (not
    # from Basic auth) and checks that secret once the person has signed in.
    form = {"client_id": config.client_id, "scope": " ".join(config.scopes)}
    if config.client_secret is not None:
        form["client_secret"] = config.client_secret.get_secret_value()
    with new_session(config) as session:
        answer = exchange(
            config,
            "POST",
            endpoint,
            lambda: session.post(
                endpoint, data=form, auth=None, withhold_token=True, allow_redirects=False
            ),
        )
        assert not isinstance(answer, ProviderError)
        grant = _json_object(answer)
        if answer.status_code != 200 or "device_code" not in grant:
            error = ProviderError(str(grant.get("error", answer.status_code)))
            raise _refused(config, issuer, error)
        page = move_url(document, str(grant.get("verification_uri", "")), config.issuer)
        complete = grant.get("verification_uri_complete")
        say(
            f"To sign in for profile '{config.profile}', open {page} and enter the code "
            f"{grant.get('user_code', '?')}"
            + (
                f"\n(or open {move_url(document, str(complete), config.issuer)})"
                if complete
                else ""
            )
        )
        given = grant.get("interval")
        interval = DEFAULT_INTERVAL if given is None else float(given)
        lifetime = float(grant.get("expires_in") or 300)
        ends = time.monotonic() + lifetime
        expired = OidcDeviceCodeExpiredError(
            profile=config.profile, verification_uri=page, minutes=max(1, int(lifetime // 60))
        )
        device_code = str(grant["device_code"])
        while True:
            sleep(interval if interval > 0 else 0.05)
            if time.monotonic() > ends:
                raise expired
            polled = exchange(
                config,
                "POST",
                token_endpoint,
                lambda: session.fetch_token(
                    token_endpoint, grant_type=DEVICE_GRANT, device_code=device_code
                ),
            )
            if not isinstance(polled, ProviderError):
                return dict(polled)
            if polled.error == "authorization_pending":
                continue
            if polled.error == "slow_down":
                interval += DEFAULT_INTERVAL
                continue
            if polled.error == "expired_token":
                raise expired
            raise _refused(config, issuer, polled)


def _json_object(answer: Any) -> dict[str, Any]:
    try:
        value = answer.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- the browser flow ---------------------------------------------------------------------------


class _Callback(BaseHTTPRequestHandler):
    """Takes the one redirect back from the provider; anything else is a 404."""

    server: _CallbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != self.server.path:
            self._answer(404, "Not the sign-in callback.")
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.server.query = query
        if "code" in query:
            self._answer(200, "Signed in: you can close this tab and return to kfp-profiles.")
        else:
            error = html.escape(query.get("error", "no code"))
            self._answer(400, f"The sign-in did not succeed ({error}); see kfp-profiles.")

    def _answer(self, status: int, text: str) -> None:
        body = f"<!doctype html><title>kfp-profiles</title><p>{text}</p>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None  # the query holds the code: never logged


class _CallbackServer(HTTPServer):
    def __init__(self, port: int, path: str) -> None:
        super().__init__(("127.0.0.1", port), _Callback)
        self.path = path
        self.query: dict[str, str] | None = None
        self.timeout = 0.2

    def wait(self, seconds: float) -> dict[str, str] | None:
        ends = time.monotonic() + seconds
        while self.query is None and time.monotonic() < ends:
            self.handle_request()
        return self.query


def _open_browser(url: str) -> bool:
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def browser_sign_in(
    config: OidcConfig,
    document: Mapping[str, Any],
    *,
    say: Say = say_to_stderr,
    open_browser: Callable[[str], bool] = _open_browser,
    seconds: float | None = None,
) -> tuple[dict[str, Any], str]:
    """The tokens of an authorization-code sign-in in the browser, and its nonce."""
    from authlib.common.security import generate_token  # type: ignore[import-untyped]

    issuer = str(document["issuer"])
    wanted = urlsplit(config.redirect_uri)
    server = _CallbackServer(wanted.port or 0, wanted.path or "/")
    try:
        netloc = f"{wanted.hostname or '127.0.0.1'}:{server.server_address[1]}"
        redirect_uri = urlunsplit((wanted.scheme or "http", netloc, wanted.path or "/", "", ""))
        verifier, state, nonce = generate_token(48), generate_token(30), generate_token(30)
        with new_session(config, redirect_uri=redirect_uri) as session:
            extra = {"prompt": "consent"} if "offline_access" in config.scopes else {}
            url, _ = session.create_authorization_url(
                str(document["authorization_endpoint"]),
                state=state,
                code_verifier=verifier,
                nonce=nonce,
                **extra,
            )
            say(
                f"Sign in for profile '{config.profile}' in your browser; if none opens, "
                f"open this URL:\n{url}"
            )
            threading.Thread(target=open_browser, args=(url,), daemon=True).start()
            limit = SIGN_IN_SECONDS if seconds is None else seconds
            query = server.wait(limit)
            if query is None:
                raise OidcSignInTimeoutError(profile=config.profile, seconds=limit)
            _check_callback(config, issuer, redirect_uri, query, state)
            token_endpoint = str(document["token_endpoint"])
            code = query["code"]
            answer = exchange(
                config,
                "POST",
                token_endpoint,
                lambda: session.fetch_token(
                    token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=verifier,
                    redirect_uri=redirect_uri,
                ),
            )
    finally:
        server.server_close()
    if isinstance(answer, ProviderError):
        raise _refused(config, issuer, answer)
    return dict(answer), nonce


def _check_callback(
    config: OidcConfig, issuer: str, redirect_uri: str, query: Mapping[str, str], state: str
) -> None:
    """The callback is this sign-in's (``state``), from this provider (``iss``), with a code."""
    problem = None
    if query.get("state") != state:
        problem = "a `state` that is not this sign-in's" if "state" in query else "no `state`"
    elif "iss" in query and query["iss"] != issuer:
        problem = f"`iss` {query['iss']!r}, not the provider's {issuer!r}"
    if problem is not None:
        raise OidcStateMismatchError(
            profile=config.profile, redirect_uri=redirect_uri, problem=problem
        )
    if "error" in query:
        raise _refused(config, issuer, ProviderError(query["error"]))
    if not query.get("code"):
        raise OidcTokenEndpointError(
            profile=config.profile, url=redirect_uri, answer="a callback with no code"
        )
