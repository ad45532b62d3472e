"""The HTTP side of the OIDC sign-in: an Authlib ``OAuth2Session`` made as the profile says.

Like :mod:`kfp_profiles.auth.http`: ``trust_env`` off, the profile's CA bundle
(or TLS switch) and proxy, no retries, a deadline (the profile's ``timeout``)
from connect to last byte for each request, bodies capped at
:data:`~kfp_profiles.deadline.READ_CAP`. :func:`exchange` runs one call and
gives back its value, or the provider's OAuth error as a value
(:class:`ProviderError`) for the flow to read; every other failure is a typed
error raised outside the ``except`` block, so nothing that held a token or a
code rides along as its context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import SecretStr

from .. import deadline
from ..errors import KfpProfilesError, OidcTokenEndpointError, ResponseTooLargeError
from ..transport import connection_failed, origin, proxy_for, tls_trust

if TYPE_CHECKING:
    from authlib.integrations.requests_client import (  # type: ignore[import-untyped]
        OAuth2Session,
    )

__all__ = ["OidcConfig", "ProviderError", "exchange", "new_session"]

T = TypeVar("T")


@dataclass(frozen=True)
class OidcConfig:
    """What the sign-in needs to know about a ``platform-oidc`` profile."""

    profile: str
    #: The KFP API URL at the gateway.
    api_url: str
    client_id: str
    #: Where the discovery document is fetched (the profile's issuer, or origin + /dex).
    issuer: str
    scopes: tuple[str, ...]
    flow: str = "auto"
    redirect_uri: str = "http://127.0.0.1/callback"
    refresh_margin: float = 60.0
    timeout: float = 30.0
    verify_tls: bool = True
    ca_bundle: str | None = None
    proxy: str | None = None
    client_secret: SecretStr | None = field(default=None, repr=False)

    @property
    def origin(self) -> str:
        return origin(self.api_url)


@dataclass(frozen=True)
class ProviderError:
    """The provider's OAuth error answer (``error``, ``error_description``): no secret in it."""

    error: str
    description: str = ""

    def __str__(self) -> str:
        return f"{self.error}: {self.description}" if self.description else self.error


def new_session(config: OidcConfig, **kwargs: Any) -> OAuth2Session:
    """An ``OAuth2Session`` of the profile's client: its TLS trust and proxy, no retries."""
    from authlib.integrations.requests_client import (
        OAuth2Session,
    )
    from requests.adapters import HTTPAdapter

    from ..pools import keep_deadline

    secret = config.client_secret.get_secret_value() if config.client_secret else None
    session = OAuth2Session(
        config.client_id,
        client_secret=secret,
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        scope=" ".join(config.scopes),
        code_challenge_method="S256",
        default_timeout=(config.timeout, config.timeout),
        **kwargs,
    )
    session.trust_env = False  # verify, proxies and netrc are the profile's, as on the login hop
    adapter = HTTPAdapter(max_retries=0)
    keep_deadline(adapter.poolmanager)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = tls_trust(config.verify_tls, config.ca_bundle)
    proxy = proxy_for(config.issuer, config.proxy)
    session.proxies = {"http": proxy, "https": proxy} if proxy else {}
    session.hooks["response"].append(_capped(config))
    return session


def _capped(config: OidcConfig) -> Callable[..., Any]:
    """A response hook that reads the body itself, at most READ_CAP bytes."""

    def read(response: Any, **_: Any) -> Any:
        body = deadline.read_capped(response.iter_content(1 << 16))
        if body is None:
            response.close()
            raise ResponseTooLargeError(
                host=origin(response.url),
                profile=config.profile,
                step=_step(response.request.method, response.url),
                cap=deadline.READ_CAP_TEXT,
            )
        response._content = body
        response._content_consumed = True
        return response

    return read


def _step(method: str | None, url: str) -> str:
    return f"{method or 'GET'} {urlsplit(url).path or '/'}"


def exchange(config: OidcConfig, method: str, url: str, call: Callable[[], T]) -> T | ProviderError:
    """Run ``call`` (one request to ``url``) within the profile's timeout.

    The provider's OAuth error comes back as a :class:`ProviderError`; no answer, a
    5xx or a body that is not a JSON object is a typed error.
    """
    import requests
    from authlib.integrations.base_client.errors import (  # type: ignore[import-untyped]
        OAuthError,
    )

    step = _step(method, url)
    failure: KfpProfilesError | None = None
    with deadline.within(config.timeout) as clock:
        try:
            value = call()
        except OAuthError as exc:
            return ProviderError(str(exc.error or "error"), str(exc.description or "")[:200])
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            failure = OidcTokenEndpointError(profile=config.profile, url=url, answer=status)
        except OSError as exc:  # every requests exception: no answer at all
            failure = connection_failed(
                exc,
                url,
                profile=config.profile,
                timeout=config.timeout,
                verify_tls=config.verify_tls,
                ca_bundle=config.ca_bundle,
                step=step,
                proxy=proxy_for(url, config.proxy),
            )
        except ValueError:  # Authlib: the answer is not a JSON object
            failure = OidcTokenEndpointError(
                profile=config.profile, url=url, answer="something that is not a JSON object"
            )
        if failure is None and clock.fired:
            failure = deadline.late(clock, host=origin(url), profile=config.profile, step=step)
    if failure is not None:
        raise failure
    return value
