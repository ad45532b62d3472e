"""Kubeflow's front doors: oauth2-proxy (both configs), oidc-authservice, or none.

A door either answers a request itself (its own paths, or a request without
a live session) or forwards it upstream with ``kubeflow-userid`` set, as the
Istio gateway does; each door's paths and answers are those of its upstream release.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from kfp_profiles.testing.bearer import Gateway
from kfp_profiles.testing.dex import CLIENT_ID, Dex
from kfp_profiles.testing.messages import (
    Request,
    Response,
    html_response,
    json_response,
    redirect,
    text_response,
)

USERID_HEADER = "kubeflow-userid"
#: oauth2-proxy's ``api_routes`` in Kubeflow: these answer 401 instead of a page.
API_PATH_MARKERS = ("/api/", "/apis/", "/ml_metadata")
DOOR_KINDS = ("none", "oauth2-proxy", "oauth2-proxy-first", "oidc-authservice")

_CSRF_LIFETIME = 15 * 60.0


@dataclass
class _Issued:
    user: str
    expires_at: float


class CredentialStore:
    """Opaque credentials handed out (sessions, tokens), each with its expiry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued: dict[str, _Issued] = {}

    def issue(self, value: str, user: str, lifetime: float) -> str:
        with self._lock:
            self._issued[value] = _Issued(user, time.time() + lifetime)
        return value

    def user(self, value: str | None) -> str | None:
        """Whose credential ``value`` is, or ``None`` if unknown or expired."""
        if not value:
            return None
        with self._lock:
            issued = self._issued.get(value)
        if issued is None or time.time() >= issued.expires_at:
            return None
        return issued.user

    def expire_all(self) -> None:
        with self._lock:
            self._issued.clear()


def is_api_path(path: str) -> bool:
    return any(marker in path for marker in API_PATH_MARKERS)


def safe_redirect_target(rd: str) -> str:
    """oauth2-proxy only returns to a local path; anything else goes to ``/``."""
    if rd.startswith("/") and not rd.startswith(("//", "/\\")):
        return rd
    return "/"


def _forward_as(req: Request, user: str | None) -> Request:
    """The request as the gateway sends it upstream: the user is the door's word only."""
    return req.with_headers(req.headers.replaced(USERID_HEADER, user or None))


class Door:
    """No door: every request goes upstream untouched (a standalone or in-cluster KFP)."""

    own_prefix: str | None = None

    def screen(self, req: Request) -> Response | None:
        """A refusal before any routing (Istio's bearer check), or None to go on."""
        return None

    def handle_own(self, req: Request) -> Response:
        return text_response(404, "404 page not found\n")

    def admit(self, req: Request) -> Request | Response:
        return req


class OAuth2Proxy(Door):
    """oauth2-proxy with Dex: the second config (1.9.1+) or the first (1.9.0)."""

    own_prefix = "/oauth2/"
    cookie = "oauth2_proxy_kubeflow"
    csrf_cookie = "oauth2_proxy_kubeflow_csrf"
    callback = "/oauth2/callback"

    def __init__(
        self,
        *,
        first_config: bool,
        dex: Dex,
        sessions: CredentialStore,
        gateway: Gateway,
        session_lifetime: float,
        split_cookie_size: int,
        pad_session_cookie: int,
    ) -> None:
        if split_cookie_size < len(self.cookie) + 16:
            raise ValueError(f"split_cookie_size must be at least {len(self.cookie) + 16}.")
        self._first_config = first_config
        self._dex = dex
        self._sessions = sessions
        self._gateway = gateway
        self._lifetime = session_lifetime
        self._split_size = split_cookie_size
        self._pad = pad_session_cookie
        self._csrf = CredentialStore()

    # --- requests for the upstream ---------------------------------------------

    def screen(self, req: Request) -> Response | None:
        if self._first_config:
            return None
        verdict = self._gateway.istio(req)
        return verdict if isinstance(verdict, Response) else None

    def admit(self, req: Request) -> Request | Response:
        if not self._first_config and "authorization" in req.headers:
            # 1.9.1+: Istio sends a request with an Authorization header past
            # oauth2-proxy; its RequestAuthentications name the user.
            verdict = self._gateway.istio(req)
            if isinstance(verdict, Response):
                return verdict
            return _forward_as(req, verdict)
        bearer = req.bearer
        user = self._gateway.oauth2_proxy(bearer) if self._first_config and bearer else None
        user = user or self._sessions.user(self._session_value(req.cookies))
        if user:
            return _forward_as(req, user)
        if self._first_config:
            return self._start_login(req.target)
        if is_api_path(req.path):
            return json_response(401, {})
        return _sign_in_page(403, req.target)

    def _session_value(self, cookies: dict[str, str]) -> str | None:
        if self.cookie in cookies:
            return cookies[self.cookie]
        chunks: list[str] = []
        while f"{self.cookie}_{len(chunks)}" in cookies:
            chunks.append(cookies[f"{self.cookie}_{len(chunks)}"])
        return "".join(chunks) or None

    # --- /oauth2/... -------------------------------------------------------------

    def handle_own(self, req: Request) -> Response:
        if req.path == "/oauth2/start":
            return self._start_login(safe_redirect_target(req.query.get("rd", "/")))
        if req.path == self.callback:
            return self._finish_login(req)
        if req.path == "/oauth2/sign_in":
            return _sign_in_page(200, safe_redirect_target(req.query.get("rd", "/")))
        return text_response(404, "404 page not found\n")

    def _start_login(self, rd: str) -> Response:
        """302 into Dex, remembering ``rd`` in the state and a nonce in the CSRF cookie."""
        nonce = self._csrf.issue(secrets.token_urlsafe(24), "", _CSRF_LIFETIME)
        params = {
            "client_id": CLIENT_ID,
            "redirect_uri": self.callback,
            "response_type": "code",
            "scope": "openid email groups profile offline_access",
            "state": f"{nonce}:{rd}",
        }
        if self._first_config:
            params["approval_prompt"] = "force"
        else:
            params["prompt"] = "none"
        response = redirect(302, f"/dex/auth?{urlencode(sorted(params.items()))}")
        return response.set_cookie(self.csrf_cookie, nonce, max_age=_CSRF_LIFETIME)

    def _finish_login(self, req: Request) -> Response:
        nonce = req.cookies.get(self.csrf_cookie, "")
        if self._csrf.user(nonce) is None:
            return _failure_page(
                403, "Login Failed: Unable to find a valid CSRF token. Please try again."
            )
        state_nonce, _, rd = req.query.get("state", "").partition(":")
        if state_nonce != nonce:
            return _failure_page(403, "Login Failed: CSRF token mismatch, potential attack")
        user = self._dex.redeem(req.query.get("code", ""), self.callback)
        if user is None:
            return _failure_page(500, "Internal Server Error")
        response = redirect(302, safe_redirect_target(rd)).clear_cookie(self.csrf_cookie)
        value = self._sessions.issue(self._new_session_value(), user, self._lifetime)
        for name, chunk in self._split(value):
            response.set_cookie(name, chunk, max_age=self._lifetime)
        return response

    def _new_session_value(self) -> str:
        value = secrets.token_urlsafe(32)
        if self._pad > len(value):
            value += "|" + secrets.token_urlsafe(self._pad)[: self._pad - len(value) - 1]
        return value

    def _split(self, value: str) -> list[tuple[str, str]]:
        """oauth2-proxy's cookie splitting: ``_0``, ``_1``, ... above the size limit."""
        if len(self.cookie) + 1 + len(value) <= self._split_size:
            return [(self.cookie, value)]
        size = self._split_size - len(self.cookie) - 5  # room for "_NN="
        chunks = [value[i : i + size] for i in range(0, len(value), size)]
        return [(f"{self.cookie}_{n}", chunk) for n, chunk in enumerate(chunks)]


class OidcAuthService(Door):
    """arrikto/oidc-authservice with Dex (Kubeflow 1.8 and earlier): 302 everywhere."""

    own_prefix = "/authservice/"
    cookie = "authservice_session"
    state_cookie = "oidc_state_csrf"
    callback = "/authservice/oidc/callback"

    def __init__(
        self,
        *,
        dex: Dex,
        sessions: CredentialStore,
        gateway: Gateway,
        session_lifetime: float,
    ) -> None:
        self._dex = dex
        self._sessions = sessions
        self._gateway = gateway
        self._lifetime = session_lifetime
        self._lock = threading.Lock()
        self._pending: dict[str, str] = {}  # state -> the path first visited

    def admit(self, req: Request) -> Request | Response:
        bearer = req.bearer
        user = None
        if bearer:
            user = self._sessions.user(bearer) or self._gateway.authservice(bearer)
        user = user or self._sessions.user(req.cookies.get(self.cookie))
        if user:
            return _forward_as(req, user)
        return self._start_login(req.target)

    def _start_login(self, target: str) -> Response:
        state = secrets.token_urlsafe(24)
        with self._lock:
            self._pending[state] = target
        params = {
            "client_id": CLIENT_ID,
            "redirect_uri": self.callback,
            "response_type": "code",
            "scope": "openid profile email groups",
            "state": state,
        }
        response = redirect(302, f"/dex/auth?{urlencode(params)}")
        return response.set_cookie(self.state_cookie, state, max_age=_CSRF_LIFETIME, same_site=None)

    def handle_own(self, req: Request) -> Response:
        if req.path != self.callback:
            return text_response(404, "404 page not found\n")
        state = req.query.get("state", "")
        if not state or req.cookies.get(self.state_cookie) != state:
            return text_response(400, "CSRF check failed")
        with self._lock:
            target = self._pending.pop(state, None)
        if target is None:
            return text_response(400, "CSRF check failed")
        user = self._dex.redeem(req.query.get("code", ""), self.callback)
        if user is None:
            return text_response(500, "Failed to exchange authorization code with token.")
        response = redirect(302, target)
        value = self._sessions.issue(secrets.token_urlsafe(32), user, self._lifetime)
        return response.set_cookie(self.cookie, value, max_age=self._lifetime)


def _sign_in_page(status: int, rd: str) -> Response:
    """oauth2-proxy's sign-in page: a form that GETs ``/oauth2/start`` with ``rd``."""
    body = (
        '<section class="section"><div class="box block has-text-centered">\n'
        '<form method="GET" action="/oauth2/start">\n'
        f'<input type="hidden" name="rd" value="{html.escape(rd)}">\n'
        '<button type="submit" class="button is-primary">Sign in with Dex</button>\n'
        "</form></div></section>"
    )
    return html_response(status, "Sign In", body)


def _failure_page(status: int, message: str) -> Response:
    return html_response(status, str(status), f"<h1>{status}</h1>\n<p>{html.escape(message)}</p>")
