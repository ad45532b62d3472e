"""Dex, the identity provider behind every Kubeflow door: its pages and codes.

Behaviour is keyed on Dex version thresholds (the release table is in emulator.py):

- before v2.29 the old paths: ``/dex/auth`` creates the request and sends
  the browser to ``/dex/auth/<conn>?req=ID``, which shows and takes the form;
- v2.29+: ``/dex/auth/<conn>`` creates it and redirects to
  ``/dex/auth/<conn>/login?back=&state=ID``;
- v2.36+: a wrong password answers 401 instead of 200;
- v2.39+: with the approval screen skipped (Kubeflow's setting) a good
  password goes straight to the client's callback, unless the client forces
  the prompt (``approval_prompt=force``, what oauth2-proxy's first config sends);
  before v2.39 it always goes through ``/dex/approval``, whose GET then
  answers 303 to the callback.

Dex sets no cookie; the whole login lives in the request ID. The clients,
codes and tokens are the OIDC provider's (``oidc.py``), the device flow's
pages ``device.py``'s; this module routes ``/dex/`` to them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from kfp_profiles.testing.messages import (
    Request,
    Response,
    html_response,
    json_response,
    redirect,
    text_response,
)
from kfp_profiles.testing.oidc import (
    CALLBACKS,
    CLIENT_ID,
    CROSS_CLIENT,
    DEVICE_CALLBACK,
    DEVICE_GRANT,
    OOB,
    SCOPES,
    Grant,
    OidcProvider,
    redirect_allowed,
)

if TYPE_CHECKING:
    from kfp_profiles.testing.device import DeviceFlow

__all__ = ["CALLBACKS", "CLIENT_ID", "Dex", "error_page"]

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_CONNECTOR_NAMES = {"local": "Email", "ldap": "LDAP"}
_CONNECTOR_PROMPTS = {"local": "Email Address"}

NEW_PATHS = (2, 29)
BAD_PASSWORD_IS_401 = (2, 36)
SKIPS_APPROVAL_IN_LOGIN = (2, 39)


def parse_version(version: str) -> tuple[int, int]:
    """``"v2.39"`` or ``"v2.39.1"`` as ``(2, 39)``."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", version)
    if not match:
        raise ValueError(f"Dex version {version!r} is not like 'v2.39'.")
    return int(match.group(1)), int(match.group(2))


def new_id() -> str:
    """An ID shaped like Dex's: 25 characters of ``[a-z2-7]``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(25))


@dataclass
class AuthRequest:
    """A login in progress, from ``/dex/auth`` to the code."""

    id: str
    redirect_uri: str
    state: str
    force_approval: bool
    client_id: str = CLIENT_ID
    scopes: tuple[str, ...] = ("openid",)
    nonce: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""
    hmac_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    connector: str = ""
    user: str | None = None

    def mac(self) -> str:
        digest = hmac.new(self.hmac_key, self.id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @property
    def for_device(self) -> bool:
        return self.redirect_uri.endswith(DEVICE_CALLBACK)


class Dex:
    """Dex's pages under ``/dex/`` and the codes it hands out, behind one lock."""

    def __init__(
        self,
        version: str,
        connectors: Sequence[str],
        users: Mapping[str, str],
        approval_screen: bool | None,
        provider: OidcProvider,
    ) -> None:
        if not connectors:
            raise ValueError("Dex needs at least one connector, such as ('local',).")
        self.version = parse_version(version)
        self.connectors = tuple(connectors)
        self._passwords = {email.lower(): (email, password) for email, password in users.items()}
        self._approval_screen = approval_screen
        self.provider = provider
        self.device: DeviceFlow | None = None  # set by the emulator
        self._lock = threading.Lock()
        self._auth_requests: dict[str, AuthRequest] = {}

    # --- what the doors ask of Dex ---------------------------------------

    def redeem(self, code: str, redirect_uri: str) -> str | None:
        """The user a code was issued to; each code works once, for its own callback."""
        return self.provider.redeem(code, redirect_uri)

    # --- routing -----------------------------------------------------------

    def handle(self, req: Request) -> Response:
        parts = req.path.rstrip("/").split("/")[2:]  # after "", "dex"
        oidc = self._oidc_route("/".join(parts), req)
        if oidc is not None:
            return oidc
        if parts == ["auth"]:
            return self._auth(req)
        if parts == ["approval"]:
            return self._approval(req)
        if len(parts) == 2 and parts[0] == "auth":
            if self.version < NEW_PATHS:
                return self._old_login(req, parts[1])
            return self._connector(req, parts[1])
        is_login = len(parts) == 3 and parts[0] == "auth" and parts[2] == "login"
        if is_login and self.version >= NEW_PATHS:
            return self._login(req, parts[1])
        return text_response(404, "404 page not found\n")

    def _oidc_route(self, route: str, req: Request) -> Response | None:
        """Discovery, keys, tokens, userinfo and the device flow's paths; None for the rest."""
        provider, device = self.provider, self.device
        if route == ".well-known/openid-configuration":
            return json_response(200, provider.discovery())
        if route == "keys":
            return json_response(200, provider.keys.jwks())
        if route == "userinfo":
            return provider.userinfo(req)
        if route == "token":
            if device is not None and req.form.get("grant_type") == DEVICE_GRANT:
                provider.count_grant(DEVICE_GRANT)
                return device.poll(req)
            return provider.token_endpoint(req)
        if device is None or not provider.settings.device_flow:
            return None
        pages = {
            "device/code": device.code,
            "device": device.page,
            "device/auth/verify_code": device.verify,
            "device/callback": device.callback,
            "device/token": device.poll,
        }
        handler = pages.get(route)
        return handler(req) if handler else None

    # --- /dex/auth ---------------------------------------------------------

    def _auth(self, req: Request) -> Response:
        """The authorization endpoint: pick a connector (POST works like GET)."""
        problem = self._check_client(req.query)
        if problem:
            return problem
        wanted = req.query.get("connector_id")
        if wanted and wanted not in self.connectors:
            return error_page(404, "Connector ID does not match a valid Connector")
        if self.version < NEW_PATHS:
            # The login request is made here; the connector's page gets its ID.
            query = f"req={self._new_auth_request(req.query).id}"
        else:
            # v2.29+: the connector's page makes it, from the client's own query.
            query = req.raw_query
        if wanted or len(self.connectors) == 1:
            return redirect(302, f"/dex/auth/{wanted or self.connectors[0]}?{query}")
        return self._connector_list(query)

    def _check_client(self, params: Mapping[str, str]) -> Response | None:
        """Dex's ``parseAuthorizationRequest``: a page for a bad client or redirect URI,
        a redirect back to the client with ``error`` for the rest."""
        client_id = params.get("client_id", "")
        client = self.provider.client(client_id)
        if client is None:
            return error_page(400, f'Invalid client_id ("{client_id}").')
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_allowed(client, redirect_uri, self.version):
            return error_page(400, f'Unregistered redirect_uri ("{redirect_uri}").')
        scopes = params.get("scope", "").split()
        unknown = [s for s in scopes if s not in SCOPES and not s.startswith(CROSS_CLIENT)]
        untrusted = [
            s
            for s in scopes
            if s.startswith(CROSS_CLIENT)
            and client_id not in self._trusted_by(s.removeprefix(CROSS_CLIENT))
        ]
        method = params.get("code_challenge_method", "")
        problems = [
            (
                params.get("response_type") != "code",
                "unsupported_response_type",
                f'Unsupported response type "{params.get("response_type", "")}"',
            ),
            ("openid" not in scopes, "invalid_scope", 'Missing required scope(s) ["openid"].'),
            (bool(unknown), "invalid_scope", f"Unrecognized scope(s) {_go_list(unknown)}"),
            (
                bool(untrusted),
                "invalid_scope",
                f"Client can't request scope(s) {_go_list(untrusted)}",
            ),
            (
                method not in ("", "S256", "plain"),
                "invalid_request",
                f'Unsupported PKCE challenge method ("{method}").',
            ),
        ]
        for failed, error, description in problems:
            if failed:
                return _error_redirect(redirect_uri, params.get("state", ""), error, description)
        return None

    def _trusted_by(self, peer_id: str) -> tuple[str, ...]:
        peer = self.provider.client(peer_id)
        return () if peer is None else (peer.id, *peer.trusted_peers)

    def _new_auth_request(self, params: Mapping[str, str]) -> AuthRequest:
        forced = (
            params.get("approval_prompt") == "force"
            or "consent" in params.get("prompt", "").split()
        )
        redirect_uri = params["redirect_uri"]
        if redirect_uri == DEVICE_CALLBACK:
            redirect_uri = "/dex" + DEVICE_CALLBACK  # Dex's absPath: its own, relative
        challenge = params.get("code_challenge", "")
        auth_req = AuthRequest(
            id=new_id(),
            redirect_uri=redirect_uri,
            state=params.get("state", ""),
            force_approval=forced,
            client_id=params.get("client_id", CLIENT_ID),
            scopes=tuple(params.get("scope", "").split()),
            nonce=params.get("nonce", ""),
            code_challenge=challenge,
            code_challenge_method=(params.get("code_challenge_method") or "plain")
            if challenge
            else "",
        )
        with self._lock:
            self._auth_requests[auth_req.id] = auth_req
        return auth_req

    def _connector_list(self, query: str) -> Response:
        links = "\n".join(
            f'<li><a href="{html.escape(f"/dex/auth/{c}?{query}")}" '
            'class="dex-btn theme-btn-provider">'
            f'<span class="dex-btn-text">Log in with {html.escape(_CONNECTOR_NAMES.get(c, c))}'
            "</span></a></li>"
            for c in self.connectors
        )
        return html_response(
            200, "dex", f'<h2 class="theme-heading">Log in to dex</h2>\n<ul>\n{links}\n</ul>'
        )

    # --- /dex/auth/<connector> (v2.29+) --------------------------------------

    def _connector(self, req: Request, connector: str) -> Response:
        """Create the login request and send the browser to its form."""
        if connector not in self.connectors:
            return error_page(404, "Requested resource does not exist.")
        if req.method != "GET":
            return error_page(400, "Unsupported request method.")
        problem = self._check_client(req.query)
        if problem:
            return problem
        auth_req = self._new_auth_request(req.query)
        auth_req.connector = connector
        back = "" if len(self.connectors) == 1 else f"/dex/auth?{req.raw_query}"
        return redirect(
            302, f"/dex/auth/{connector}/login?{urlencode({'back': back, 'state': auth_req.id})}"
        )

    def _login(self, req: Request, connector: str) -> Response:
        """The password form at ``.../login?back=&state=ID`` (v2.29+)."""
        if connector not in self.connectors:
            return error_page(404, "Requested resource does not exist.")
        auth_id = req.query.get("state", "")
        if not auth_id:
            return error_page(400, "User session error.")
        with self._lock:
            auth_req = self._auth_requests.get(auth_id)
        if auth_req is None:
            return error_page(400, "Login session expired.")
        if auth_req.connector != connector:
            return error_page(400, "Requested connector does not match the login request.")
        return self._password_form(req, auth_req, back=req.query.get("back", ""))

    # --- /dex/auth/<connector>?req=ID (before v2.29) ----------------------------

    def _old_login(self, req: Request, connector: str) -> Response:
        if connector not in self.connectors:
            return error_page(404, "Requested resource does not exist.")
        with self._lock:
            auth_req = self._auth_requests.get(req.query.get("req", ""))
        if auth_req is None:
            return error_page(400, "Login session expired.")
        auth_req.connector = connector
        return self._password_form(req, auth_req, back="")

    # --- the form and its POST -------------------------------------------------

    def _password_form(self, req: Request, auth_req: AuthRequest, back: str) -> Response:
        if req.method == "GET":
            return self._form_page(200, req.target, auth_req.connector, back, "", invalid=False)
        if req.method != "POST":
            return error_page(400, "Unsupported request method.")
        form = req.form
        login = form.get("login", "")
        user = self._check_password(login, form.get("password", ""))
        if user is None:
            status = 401 if self.version >= BAD_PASSWORD_IS_401 else 200
            return self._form_page(
                status, req.target, auth_req.connector, back, login, invalid=True
            )
        auth_req.user = user
        if self.version >= SKIPS_APPROVAL_IN_LOGIN and not self._shows_approval(auth_req):
            return self._send_code(auth_req)
        if self.version < NEW_PATHS:
            return redirect(303, f"/dex/approval?req={auth_req.id}")
        return redirect(
            303, f"/dex/approval?{urlencode({'req': auth_req.id, 'hmac': auth_req.mac()})}"
        )

    def _check_password(self, login: str, password: str) -> str | None:
        known = self._passwords.get(login.strip().lower())
        if known is None or not password or not hmac.compare_digest(known[1], password):
            return None
        return known[0]

    def _form_page(
        self, status: int, action: str, connector: str, back: str, login: str, *, invalid: bool
    ) -> Response:
        prompt = _CONNECTOR_PROMPTS.get(connector, "Username")
        error = (
            f'<div id="login-error" class="dex-error-box">Invalid {prompt} and password.</div>\n'
            if invalid
            else ""
        )
        back_link = ""
        if back:
            back_link = f'<a href="{html.escape(back)}">Select another login method.</a>\n'
        body = (
            '<h2 class="theme-heading">Log in to Your Account</h2>\n'
            f'<form method="post" action="{html.escape(action)}">\n'
            f'<label for="login">{prompt}</label>\n'
            f'<input type="text" id="login" name="login" value="{html.escape(login)}" autofocus>\n'
            '<label for="password">Password</label>\n'
            '<input type="password" id="password" name="password">\n'
            f"{error}"
            '<button type="submit" id="submit-login">Login</button>\n'
            f"</form>\n{back_link}"
        )
        return html_response(status, "dex", body)

    # --- /dex/approval -------------------------------------------------------

    def _approval(self, req: Request) -> Response:
        params = {**req.query, **(req.form if req.method == "POST" else {})}
        with self._lock:
            auth_req = self._auth_requests.get(params.get("req", ""))
        if self.version >= NEW_PATHS:
            mac = params.get("hmac", "")
            if not mac:
                return error_page(401, "Unauthorized request")
            if auth_req is not None and not hmac.compare_digest(mac, auth_req.mac()):
                return error_page(401, "Unauthorized request")
        if auth_req is None:
            return error_page(500, "Database error.")
        if auth_req.user is None:
            return error_page(500, "Login process not yet finalized.")
        if req.method == "GET":
            if not self._shows_approval(auth_req):
                return self._send_code(auth_req)
            client = self.provider.client(auth_req.client_id)
            return _approval_page(
                auth_req.id, (client.name if client else "") or auth_req.client_id
            )
        if req.method == "POST":
            if params.get("approval") != "approve":
                if auth_req.for_device and self.device is not None:
                    self.device.refuse(auth_req.state)
                return error_page(500, "Approval rejected.")
            return self._send_code(auth_req)
        return error_page(400, "Unsupported request method.")

    def _shows_approval(self, auth_req: AuthRequest) -> bool:
        if self._approval_screen is not None:
            return self._approval_screen
        # Kubeflow sets skipApprovalScreen; only Dex v2.39+ lets a client override it.
        return self.version >= SKIPS_APPROVAL_IN_LOGIN and auth_req.force_approval

    def _send_code(self, auth_req: AuthRequest) -> Response:
        """303 to the client's callback with a fresh single-use code."""
        with self._lock:
            self._auth_requests.pop(auth_req.id, None)
        assert auth_req.user is not None
        grant = Grant(
            client_id=auth_req.client_id,
            user=auth_req.user,
            redirect_uri=auth_req.redirect_uri,
            scopes=auth_req.scopes,
            nonce=auth_req.nonce,
            code_challenge=auth_req.code_challenge,
            code_challenge_method=auth_req.code_challenge_method,
            consented=auth_req.force_approval,
            connector=auth_req.connector or "local",
        )
        code = self.provider.issue_code(grant)
        if auth_req.redirect_uri == OOB:
            # Dex shows an out-of-band code for the person to paste into the client.
            return html_response(
                200,
                "dex",
                '<h2 class="theme-heading">Login Successful</h2>\n'
                "<p>Please copy this code, switch to your application and paste it there:</p>\n"
                f'<input type="text" class="theme-form-input" value="{html.escape(code)}" />',
            )
        params = {"code": code, **({"state": auth_req.state} if auth_req.state else {})}
        if self.provider.settings.authorization_response_iss and not auth_req.for_device:
            params["iss"] = self.provider.issuer
        separator = "&" if "?" in auth_req.redirect_uri else "?"
        return redirect(303, f"{auth_req.redirect_uri}{separator}{urlencode(params)}")


def _approval_page(auth_id: str, client_name: str) -> Response:
    hidden = f'<input type="hidden" name="req" value="{html.escape(auth_id)}">'
    body = (
        '<h2 class="theme-heading">Grant Access</h2>\n'
        f"<p>{html.escape(client_name)} would like to:</p>\n"
        "<ul><li>View basic profile information</li><li>View your email address</li></ul>\n"
        f'<form method="post">\n{hidden}\n'
        '<input type="hidden" name="approval" value="approve">\n'
        '<button type="submit" class="dex-btn theme-btn--success">Grant Access</button>\n'
        "</form>\n"
        f'<form method="post">\n{hidden}\n'
        '<input type="hidden" name="approval" value="rejected">\n'
        '<button type="submit" class="dex-btn theme-btn-provider">Cancel</button>\n'
        "</form>"
    )
    return html_response(200, "dex", body)


def _go_list(items: Sequence[str]) -> str:
    """A list as Go's ``%q`` prints it: ``["a" "b"]``."""
    return "[" + " ".join(f'"{item}"' for item in items) + "]"


def _error_redirect(redirect_uri: str, state: str, error: str, description: str) -> Response:
    """Dex's ``redirectedAuthErr``: back to the client with ``error`` and ``error_description``."""
    params = {
        "error": error,
        "error_description": description,
        **({"state": state} if state else {}),
    }
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(303, f"{redirect_uri}{separator}{urlencode(params)}")


def error_page(status: int, message: str) -> Response:
    titles = {
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        500: "Internal Server Error",
    }
    body = (
        f'<h2 class="theme-heading">{titles.get(status, "Error")}</h2>\n'
        f'<p class="theme-panel">{html.escape(message)}</p>'
    )
    return html_response(status, "dex", body)
