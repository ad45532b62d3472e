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
- ``KF_PIPELINES_IAP_OAUTH2_CLIENT_ID`` and ``KF_PIPELINES_UI_ENDPOINT`` would
  override what the profile says: the profile wins.

The hooks wrap the one ``ApiClient`` all API objects of a client share, so they
cover every method of ``kfp.Client``.
"""

from __future__ import annotations

import logging
import threading
import warnings
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import kfp
import urllib3
from kfp_server_api.exceptions import ApiException

from . import deadline
from .auth import Credentials
from .auth.doors import login_page_reason
from .errors import BehindLoginError, ConnectionFailedError, StillRefusedError
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
                try:
                    response = send(method, url, *args, **kwargs)
                except ApiException as exc:
                    if clock.fired or (exc.status == 0 and str(exc.reason).startswith("SSLError")):
                        # The SDK turns urllib3's SSLError into this ApiException.
                        raise self._unreachable(url, exc, step) from None
                    why = login_page_reason(exc.status, exc.headers)
                    if why:
                        raise _SessionGone(exc.status, why, exc) from None
                    raise
                except urllib3.exceptions.HTTPError as exc:
                    raise self._unreachable(url, exc, step) from None
                if clock.fired:  # a body cut short at the deadline can look complete
                    raise deadline.late(
                        clock, host=origin(url), profile=self.resolved.name, step=step
                    )
            why = login_page_reason(response.status, response.getheaders())
            if why:
                raise _SessionGone(response.status, why)
            return response

        def renewing_call(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            except _SessionGone as gone:
                if not credentials.renewable:
                    if gone.status == 401 and gone.original is not None:
                        raise gone.original from None  # a refused token: the SDK's own error
                    raise BehindLoginError(
                        url=self.base_url,
                        why=gone.why,
                        profile=self.resolved.name,
                        kind=self.resolved.kind,
                    ) from None
                log.info(
                    "Session of profile %s expired (%s); logging in again.",
                    self.resolved.name,
                    gone.why,
                )
                # The credential's own lock makes threads that failed together share
                # one renewal; it keeps a session another thread renewed meanwhile.
                credentials.refresh(getattr(sent, "headers", {}))
            try:
                return call(*args, **kwargs)
            except _SessionGone as gone:
                raise StillRefusedError(
                    url=self.base_url,
                    why=gone.why,
                    profile=self.resolved.name,
                    namespace=self._namespace_in_use,
                ) from None

        rest.request = bounded_request
        api_client.call_api = renewing_call

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
