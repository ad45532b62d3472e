"""A ``kfp.Client`` made hermetic, bounded and self-healing (imports ``kfp``).

kfp 2.17.3 traps, each closed here (and tested in tests/test_client.py):

- ``~/.config/kfp/context.json`` is read at every construction and its namespace,
  cookie and header leak into every client: the context lives in memory instead.
- Construction probes healthz with a 25 s retry loop when the namespace is empty:
  the probe is answered locally while the client is being built.
- Requests have no timeout and urllib3 retries multiply any one: every request
  gets the profile's ``timeout`` as a deadline from connect to last byte
  (:mod:`kfp_profiles.deadline`, through the pools of :mod:`kfp_profiles.pools`)
  and no hidden retry or redirect.
- An expired session is answered with a redirect to HTML that the SDK decodes
  into an empty result: such answers become a renewal, then one retry.
- A refusal the SDK raises as its ``ApiException`` (whose response headers may
  set cookies) becomes a typed error with nothing chained: a login where the API
  should be names the front door (``BehindLoginError``), a refused bearer its
  token file (``TokenRefusedError``; the token kinds' credentials name the token's
  source and the cause themselves, ``refused_error``), a 403 the identity, the namespace and how
  to get access (``NamespaceAccessError``).
- ``KF_PIPELINES_IAP_OAUTH2_CLIENT_ID`` and ``KF_PIPELINES_UI_ENDPOINT`` would
  override what the profile says: the profile wins.

The hooks wrap the one ``ApiClient`` all API objects of a client share, so they
cover every method of ``kfp.Client``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import kfp
import urllib3
from kfp_server_api.exceptions import ApiException

from . import deadline
from .auth import Credentials
from .auth.doors import login_page_reason, refusal_door
from .auth.exchange import HttpResponse
from .errors import (
    BehindLoginError,
    ConnectionFailedError,
    KfpProfilesError,
    NamespaceAccessError,
    StillRefusedError,
    TokenRefusedError,
)
from .pools import keep_deadline
from .resolution import ResolvedProfile
from .transport import connection_failed, origin, proxy_for, tls_trust

log = logging.getLogger("kfp_profiles.client")


class _SessionGone(Exception):
    """Internal: the answer was a login page or a 401, not the API."""

    def __init__(self, status: int, why: str, original: ApiException | None = None) -> None:
        super().__init__(why)
        self.status = status
        self.why = why
        self.original = original


@dataclass(frozen=True)
class _Refusal:
    """A refused answer, copied out of the SDK's exception (whose headers may set cookies)."""

    status: int
    #: login_page_reason()'s words; "" for a 403 from the API itself.
    why: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    @classmethod
    def of(cls, status: int, why: str, exc: ApiException | None) -> _Refusal:
        if exc is None:
            return cls(status, why)
        headers = tuple((str(k), str(v)) for k, v in (exc.headers or {}).items())
        body = exc.body
        if isinstance(body, bytes):
            body = body[:_BODY_READ].decode("utf-8", "replace")
        return cls(status, why, headers, str(body or "")[:_BODY_READ])

    @property
    def denied(self) -> bool:
        """403 from the API (JSON), not a door's page: the identity lacks access."""
        return self.status == 403 and not self.why

    @property
    def message(self) -> str:
        """The API's own error message (grpc-gateway JSON), else the body's first line."""
        try:
            payload = json.loads(self.body)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            text = str(payload.get("message") or payload.get("error") or "")
        else:
            text = self.body.strip().splitlines()[0] if self.body.strip() else ""
        return " ".join(text.split())[:_MESSAGE_SHOWN]

    @property
    def answer(self) -> str:
        """``why``, with the server's message where it gave one."""
        message = self.message
        if self.why.startswith("401") or not self.why:
            return f"{self.status} ({message})" if message else str(self.status)
        return self.why

    def response(self, url: str) -> HttpResponse:
        return HttpResponse(self.status, url, self.headers, self.body)


#: Bytes of a refused answer read for its message; characters of that message shown.
_BODY_READ = 65536
_MESSAGE_SHOWN = 300

# The KFP API's 403: "User 'X' is not authorized with reason: ... (request:
# &ResourceAttributes{Namespace:NS,Verb:list,...,Resource:experiments,...})".
_IDENTITY = re.compile(r"User '([^']+)'")
_NAMESPACE = re.compile(r"\bnamespace[:\s]\s*'?([^\s,'}:)]+)", re.IGNORECASE)
_VERB = re.compile(r"\bverb:\s*(\w+)", re.IGNORECASE)
_RESOURCE = re.compile(r"\bresource:\s*(?:[\w.-]+/)?(\w+)", re.IGNORECASE)


def _never_follow_redirects(manager: Any) -> None:
    """Redirects are answers to read (a login page), never to follow: urllib3 would even
    parse a Location that is no URL (``http://[not-ipv6``) and raise a raw ValueError."""
    urlopen = manager.urlopen

    def without_redirects(method: str, url: str, redirect: bool = True, **kw: Any) -> Any:
        return urlopen(method, url, redirect=False, **kw)

    manager.urlopen = without_redirects


def _search(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return match.group(1) if match else ""


class ProfileClient(kfp.Client):  # type: ignore[misc]  # kfp ships no type hints
    """``kfp.Client`` built from one resolved profile and nothing else."""

    def __init__(
        self, resolved: ResolvedProfile, credentials: Credentials, *, base_url: str
    ) -> None:
        profile = resolved.profile
        #: The profile this client was built from, with the source of every value.
        self.resolved = resolved
        self._credentials = credentials
        self._building = True
        self._namespace_in_use = profile.namespace or ""
        trust = tls_trust(profile.verify_tls, profile.ca_bundle)
        #: Where this client connects: the profile's host, or a managed forward's URL.
        self.base_url = base_url
        quiet = {name: logging.getLogger(name).level for name in ("urllib3", "kfp_server_api")}
        with warnings.catch_warnings():
            # Emitted at every construction; it says nothing to act on.
            warnings.filterwarnings(
                "ignore", message="This client only works", category=FutureWarning
            )
            super().__init__(
                host=base_url,
                namespace=self._namespace_in_use or "kubeflow",
                proxy=proxy_for(base_url, profile.proxy),
                ssl_ca_cert=trust if isinstance(trust, str) else None,
                verify_ssl=trust is not False,
                ui_host=profile.ui_host,
                cookies="",
            )
        for name, level in quiet.items():  # Configuration() resets them to WARNING
            logging.getLogger(name).setLevel(level)
        self._uihost = profile.ui_host or base_url
        self._building = False
        # Ready means logged in: a login that fails does so here, not at the first call.
        credentials.before_request({})
        self._install_hooks(self._run_api.api_client, profile.timeout)

    # --- what the SDK would otherwise take from context.json or the environment ---------

    def _load_context_setting_or_default(self) -> None:
        self._context_setting = {
            "namespace": self._namespace_in_use,
            "client_authentication_cookie": None,
            "client_authentication_header_name": None,
            "client_authentication_header_value": None,
        }

    def set_user_namespace(self, namespace: str) -> None:
        """Use ``namespace`` for this client only; nothing is written to disk."""
        self._namespace_in_use = namespace
        self._context_setting["namespace"] = namespace

    def _load_config(
        self,
        host: Any,
        client_id: Any,
        namespace: Any,
        other_client_id: Any,
        other_client_secret: Any,
        existing_token: Any,
        proxy: Any,
        ssl_ca_cert: Any,
        kube_context: Any,
        credentials: Any,
        verify_ssl: Any,
    ) -> Any:
        # IAP variables and client ids are not part of any profile kind.
        config = super()._load_config(
            host,
            None,
            namespace,
            None,
            None,
            existing_token,
            proxy,
            ssl_ca_cert,
            kube_context,
            credentials,
            verify_ssl,
        )
        # No hidden retries (they multiply the timeout) and no followed redirects
        # (a redirect to a login page must be seen, not decoded into None).
        config.retries = urllib3.Retry(total=False)
        return config

    def _is_inverse_proxy_host(self, host: str) -> bool:
        return False

    def get_kfp_healthz(self, sleep_duration: int = 5) -> Any:
        if self._building:  # the constructor's probe: no network I/O while building
            return SimpleNamespace(multi_user=False)
        return super().get_kfp_healthz(sleep_duration)

    # --- per-request hooks ------------------------------------------------------------------

    def _install_hooks(self, api_client: Any, timeout: float) -> None:
        rest = api_client.rest_client
        keep_deadline(rest.pool_manager)
        _never_follow_redirects(rest.pool_manager)
        send = rest.request
        call = api_client.call_api
        credentials = self._credentials
        #: The headers this thread's last request carried, for refresh() to compare.
        sent = threading.local()

        def bounded_request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            headers = dict(kwargs.get("headers") or {})
            credentials.before_request(headers)  # a login, if any, has a deadline of its own
            kwargs["headers"] = sent.headers = headers
            if not kwargs.get("_request_timeout"):
                kwargs["_request_timeout"] = (timeout, timeout)
            step = f"{method.upper()} {urlsplit(url).path or '/'}"
            with deadline.within(timeout) as clock:
                # Our error is raised after the except blocks: urllib3's exception (a
                # proxy URL with its password, the request) is then not its context.
                failure: BaseException | None = None
                try:
                    response = send(method, url, *args, **kwargs)
                except ApiException as exc:
                    if clock.fired or (exc.status == 0 and str(exc.reason).startswith("SSLError")):
                        # The SDK turns urllib3's SSLError into this ApiException.
                        failure = self._unreachable(url, exc, step)
                    else:
                        why = login_page_reason(exc.status, exc.headers)
                        if not why:
                            raise
                        failure = _SessionGone(exc.status, why, exc)
                except urllib3.exceptions.HTTPError as exc:
                    failure = self._unreachable(url, exc, step)
                if failure is not None:
                    raise failure
                if clock.fired:  # a body cut short at the deadline can look complete
                    raise deadline.late(
                        clock, host=origin(url), profile=self.resolved.name, step=step
                    )
            why = login_page_reason(response.status, response.getheaders())
            if why:
                raise _SessionGone(response.status, why)
            return response

        def renewing_call(*args: Any, **kwargs: Any) -> Any:
            for attempt in (1, 2):
                try:
                    return call(*args, **kwargs)
                except _SessionGone as gone:
                    refusal = _Refusal.of(gone.status, gone.why, gone.original)
                except ApiException as exc:
                    if exc.status != 403:
                        raise
                    refusal = _Refusal.of(exc.status, "", exc)
                # Raised here, after the except blocks: the SDK's exception (its response
                # headers may set cookies) is neither the cause nor the context of ours.
                if refusal.denied:
                    raise self._denied(refusal)
                if attempt == 2 or not credentials.renewable:
                    raise self._refused(refusal, getattr(sent, "headers", {}), renewed=attempt == 2)
                log.info(
                    "Session of profile %s expired (%s); logging in again.",
                    self.resolved.name,
                    refusal.why,
                )
                # The credential's own lock makes threads that failed together share
                # one renewal; it keeps a session another thread renewed meanwhile.
                credentials.refresh(getattr(sent, "headers", {}))
            raise AssertionError("unreachable: the second attempt returns or raises")

        rest.request = bounded_request
        api_client.call_api = renewing_call

    # --- what a refusal means, in the words of kfp_profiles.errors ---------------------------

    def _refused(
        self, refusal: _Refusal, sent: Mapping[str, str], *, renewed: bool
    ) -> KfpProfilesError:
        """The error for a login page or a 401: after a new login, with a token, or neither."""
        resolved = self.resolved
        # A credential that can say which token was refused and why (the token kinds) does.
        describe = getattr(self._credentials, "refused_error", None)
        if describe is not None and "Authorization" in sent:
            from .auth.refusal import Refusal

            answer = refusal.response(self.base_url)
            seen = Refusal.of(answer, why=refusal.answer, message=refusal.message, renewed=renewed)
            named: KfpProfilesError = describe(seen, sent)
            return named
        if renewed:
            return StillRefusedError(
                url=self.base_url,
                why=refusal.why,
                profile=resolved.name,
                namespace=self._namespace_in_use,
            )
        if "Authorization" in sent:
            return TokenRefusedError(
                profile=resolved.name,
                url=self.base_url,
                path=getattr(resolved.profile, "token_path", None) or "?",
                source=resolved.sources.get("token_path", "default"),
                kind=resolved.kind,
                why=refusal.answer,
            )
        return BehindLoginError(
            url=self.base_url,
            why=refusal.why,
            profile=resolved.name,
            kind=resolved.kind,
            door=refusal_door(refusal.response(self.base_url)),
        )

    def _denied(self, refusal: _Refusal) -> NamespaceAccessError:
        """403 from the KFP API: who was refused which namespace, from the API's message."""
        message = refusal.message
        identity = _search(_IDENTITY, message) or getattr(self.resolved.profile, "username", "")
        verb, resource = _search(_VERB, message), _search(_RESOURCE, message)
        return NamespaceAccessError(
            profile=self.resolved.name,
            url=self.base_url,
            namespace=_search(_NAMESPACE, message) or self._namespace_in_use or "?",
            identity=identity or "",
            request=f", {verb} {resource}" if verb and resource else "",
        )

    def _unreachable(self, url: str, exc: BaseException, step: str) -> ConnectionFailedError:
        profile = self.resolved.profile
        return connection_failed(
            exc,
            url,
            profile=self.resolved.name,
            timeout=profile.timeout,
            verify_tls=profile.verify_tls,
            ca_bundle=profile.ca_bundle,
            step=step,
            proxy=proxy_for(url, profile.proxy),
        )


__all__ = ["ProfileClient"]
