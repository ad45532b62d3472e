"""Dex's device flow (RFC 8628): device codes, the person's code page, the polling answers.

As dexidp/dex ``server/deviceflowhandlers.go`` has it: ``POST /dex/device/code``
answers ``device_code``, ``user_code`` (``XXXX-XXXX``), ``verification_uri``
(the issuer's ``/device``: an in-cluster URL on a stock Kubeflow),
``verification_uri_complete``, ``expires_in`` and ``interval``; the person
opens ``/dex/device``, submits the code to ``/dex/device/auth/verify_code``,
which sends the browser through Dex's login with ``redirect_uri=/device/callback``;
``/dex/device/callback`` finishes it. Polling (``/dex/token`` with the
device_code grant, or the old ``/dex/device/token``) answers 401
``authorization_pending`` (Dex's status, not RFC 8628's 400), 400
``slow_down`` when polled before the interval (which then grows by 5 s),
400 ``expired_token`` after ``device_lifetime``. A refusal (the approval
page's Cancel, or ``decide(..., approve=False)``) answers 400
``access_denied``, as RFC 8628 says; Dex itself leaves such a request
pending until it expires.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from kfp_profiles.testing.dex import error_page as _error_page
from kfp_profiles.testing.messages import Request, Response, html_response, json_response, redirect
from kfp_profiles.testing.oidc import (
    DEVICE_CALLBACK,
    Grant,
    OidcProvider,
    token_error,
)

_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
_SLOW_DOWN_STEP = 5


def new_user_code() -> str:
    letters = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


@dataclass
class DeviceRequest:
    """One device authorization, from its code to its tokens."""

    device_code: str = field(repr=False)
    user_code: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float
    #: Dex reads the client's id and secret from the form only (never Basic auth), keeps
    #: them with the request, and checks the secret when the person has signed in.
    client_secret: str = field(default="", repr=False)
    last_poll: float = field(default_factory=time.time)
    poll_interval: int = 0  # Dex starts at 0: the first poll is never too early
    polls: int = 0
    status: str = "pending"  # "complete", "denied"
    user: str | None = None
    answer: dict[str, Any] | None = field(default=None, repr=False)


class DeviceFlow:
    """The device requests of one Dex, and the decisions of its scripted person."""

    def __init__(self, provider: OidcProvider) -> None:
        self._provider = provider
        self._lock = threading.Condition()
        self._requests: dict[str, DeviceRequest] = {}  # by user code
        self._auto: tuple[str, bool] | None = None

    # --- what tests do in the person's place ---------------------------------------------

    def pending(self) -> list[str]:
        """User codes of requests still waiting for the person, oldest first."""
        now = time.time()
        with self._lock:
            return [
                r.user_code
                for r in self._requests.values()
                if r.status == "pending" and r.expires_at > now
            ]

    def wait(self, timeout: float) -> str:
        """The user code of the oldest pending request, waiting up to ``timeout`` for one."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                codes = self.pending()
                if codes:
                    return codes[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"No device code was requested within {timeout} s.")
                self._lock.wait(remaining)

    def decide(self, user_code: str | None, user: str, *, approve: bool) -> None:
        """The person approves (as ``user``) or refuses the request of ``user_code``.

        ``None`` means the only pending request. Raises ``LookupError`` for an
        unknown, expired or already decided code.
        """
        with self._lock:
            if user_code is None:
                codes = self.pending()
                if len(codes) != 1:
                    raise LookupError(f"{len(codes)} device requests are pending, not 1.")
                user_code = codes[0]
            request = self._requests.get(user_code.upper())
            if request is None or request.status != "pending" or request.expires_at <= time.time():
                raise LookupError(f"No pending device request has the user code {user_code!r}.")
            if approve and not self._credentials_match(request):
                return  # Dex shows "Invalid client credentials." and the device keeps waiting
            request.status = "complete" if approve else "denied"
            request.user = user
        if approve:
            grant = Grant(request.client_id, user, DEVICE_CALLBACK, request.scopes)
            answer = self._provider.token_response(grant)
            with self._lock:
                request.answer = answer

    def auto_decide(self, user: str | None, *, approve: bool = True) -> None:
        """From now on every request is decided at its first poll (``None``: stop)."""
        with self._lock:
            self._auto = None if user is None else (user, approve)

    def expire(self) -> None:
        """Every device request so far is past its lifetime."""
        with self._lock:
            for request in self._requests.values():
                request.expires_at = 0.0

    # --- POST /dex/device/code --------------------------------------------------------------

    def code(self, req: Request) -> Response:
        settings = self._provider.settings
        if req.method != "POST":
            return token_error(400, "invalid_request")
        form = req.form
        request = DeviceRequest(
            device_code=secrets.token_urlsafe(32),
            user_code=new_user_code(),
            client_id=form.get("client_id", ""),
            scopes=tuple(form.get("scope", "").split()),
            expires_at=time.time() + settings.device_lifetime,
            client_secret=form.get("client_secret", ""),
        )
        with self._lock:
            self._requests[request.user_code] = request
            self._lock.notify_all()
        page = f"{self._provider.issuer}/device"
        answer: dict[str, Any] = {
            "device_code": request.device_code,
            "user_code": request.user_code,
            "verification_uri": page,
            "verification_uri_complete": f"{page}?{urlencode({'user_code': request.user_code})}",
            "expires_in": int(settings.device_lifetime),
        }
        if not settings.device_omit_interval:
            answer["interval"] = settings.device_interval
        return json_response(200, answer)

    # --- the person's pages -------------------------------------------------------------------

    def page(self, req: Request) -> Response:
        """``GET /dex/device[?user_code=...]``: the code entry form."""
        if req.method != "GET":
            return _error_page(400, "Requested resource does not exist.")
        invalid = req.query.get("invalid", "").lower() in ("1", "true")
        return _code_page(req.query.get("user_code", ""), invalid=invalid)

    def verify(self, req: Request) -> Response:
        """``POST /dex/device/auth/verify_code``: into Dex's login for this request."""
        if req.method != "POST":
            return _error_page(400, "Requested resource does not exist.")
        user_code = req.form.get("user_code", "").strip().upper()
        if not user_code:
            return _error_page(400, "No user code received")
        with self._lock:
            request = self._requests.get(user_code)
        if request is None or request.expires_at <= time.time():
            return _code_page(user_code, invalid=True)
        query = {
            "client_id": request.client_id,
            "client_secret": request.client_secret,
            "redirect_uri": DEVICE_CALLBACK,
            "response_type": "code",
            "scope": " ".join(request.scopes),
            "state": request.user_code,
        }
        return redirect(302, f"/dex/auth?{urlencode(sorted(query.items()))}")

    def callback(self, req: Request) -> Response:
        """``GET /dex/device/callback?code=&state=``: the login came back; the tokens are ready."""
        user_code, code = req.query.get("state", ""), req.query.get("code", "")
        if not user_code or not code:
            return _error_page(400, "Request was missing parameters")
        with self._lock:
            request = self._requests.get(user_code)
        if request is None or request.expires_at <= time.time():
            return _error_page(400, "Invalid or expired user code.")
        grant = self._provider.take_code(code, request.client_id)
        if grant is None:
            return _error_page(400, "Invalid or expired auth code.")
        if not self._credentials_match(request):
            return _error_page(401, "Invalid client credentials.")
        with self._lock:
            if request.status != "pending":
                return _error_page(400, "")
            request.status, request.user = "complete", grant.user
        answer = self._provider.token_response(grant)
        with self._lock:
            request.answer = answer
        client = self._provider.client(request.client_id)
        name = (client.name or client.id) if client else request.client_id
        return html_response(
            200,
            "dex",
            f'<h2 class="theme-heading">Login Successful for {html.escape(name)}</h2>\n'
            "<p>Return to your device to continue</p>",
        )

    def _credentials_match(self, request: DeviceRequest) -> bool:
        """Dex's check at the callback: a known client, and the secret the request carried."""
        client = self._provider.client(request.client_id)
        return client is not None and client.secret == request.client_secret

    def refuse(self, user_code: str) -> None:
        """The approval page's Cancel for a device login."""
        with self._lock:
            request = self._requests.get(user_code)
            if request is not None and request.status == "pending":
                request.status = "denied"

    # --- polling ----------------------------------------------------------------------------

    def poll(self, req: Request) -> Response:
        """The device_code grant at ``/dex/token`` (or the old ``/dex/device/token``)."""
        if req.method != "POST":
            return _error_page(400, "Requested resource does not exist.")
        form = req.form
        device_code = form.get("device_code", "")
        if not device_code:
            return token_error(400, "invalid_request", "No device code received")
        now = time.time()
        with self._lock:
            request = next(
                (r for r in self._requests.values() if r.device_code == device_code), None
            )
            if request is None:
                return token_error(400, "invalid_request", "Invalid Device code.")
            if now > request.expires_at:
                return token_error(400, "expired_token")
            request.polls += 1
            auto = self._auto if request.status == "pending" else None
        if auto is not None:
            self.decide(request.user_code, auto[0], approve=auto[1])
        with self._lock:
            if request.status == "denied":
                return token_error(400, "access_denied")
            if request.status == "complete" and request.answer is not None:
                return json_response(200, request.answer)
            too_early = now < request.last_poll + request.poll_interval
            interval = self._provider.settings.device_interval
            request.poll_interval = (
                request.poll_interval + _SLOW_DOWN_STEP if too_early else interval
            )
            request.last_poll = now
        if too_early:
            return token_error(400, "slow_down")
        return token_error(401, "authorization_pending")


def _code_page(user_code: str, *, invalid: bool) -> Response:
    error = (
        '<div id="login-error" class="dex-error-box">Invalid or Expired User Code</div>\n'
        if invalid
        else ""
    )
    body = (
        '<h2 class="theme-heading">Enter User Code</h2>\n'
        '<form method="post" action="/dex/device/auth/verify_code">\n'
        '<label for="user_code">User Code</label>\n'
        f'<input type="text" id="user_code" name="user_code" value="{html.escape(user_code)}">\n'
        f"{error}"
        '<button type="submit" id="submit-login">Submit</button>\n'
        "</form>"
    )
    return html_response(200, "dex", body)
