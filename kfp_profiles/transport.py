"""One rule for both hops (the Dex login and the API calls): what they trust, which proxy.

Trust:
``verify_tls = false`` turns checking off; else the profile's ``ca_bundle``
wins over ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` (which ``requests`` would
otherwise let override a session's own CA); else those variables, which the
SDK alone ignores; else the default trust store.

Proxy: the profile's ``proxy``, else ``HTTP(S)_PROXY`` / ``NO_PROXY`` (which the
SDK alone ignores).

Failure: a request that never got an answer, on either hop, becomes one
:class:`~kfp_profiles.errors.ConnectionFailedError` naming the origin and the
setting to change (:func:`connection_failed`).
"""

from __future__ import annotations

import os
import urllib.request
from urllib.parse import urlsplit

from .errors import ConnectionFailedError

CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lowercased, without any user or password."""
    parts = urlsplit(url)
    host_port = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme.lower()}://{host_port.lower()}"


def tls_trust(verify_tls: bool, ca_bundle: str | None) -> bool | str:
    """``False`` (no check), a CA bundle path, or ``True`` (the default store)."""
    return _trust_and_setting(verify_tls, ca_bundle)[0]


def _trust_and_setting(verify_tls: bool, ca_bundle: str | None) -> tuple[bool | str, str | None]:
    """The trust, and the setting that named its CA bundle (None when no path was named)."""
    if not verify_tls:
        return False, None
    if ca_bundle:
        return ca_bundle, "`ca_bundle`"
    for variable in CA_BUNDLE_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable], variable
    return True, None


def proxy_for(url: str, proxy: str | None) -> str | None:
    """The proxy a request to ``url`` goes through, or None for a direct connection."""
    if proxy:
        return proxy
    parts = urlsplit(url)
    # Typeshed does not list this function, though urllib.request has it on every OS.
    bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009
    if bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies_environment().get(parts.scheme) or None


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception and every one it wraps (cause, context, args, urllib3's ``reason``)."""
    found: list[BaseException] = []
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is seen for seen in found):
            continue
        found.append(current)
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        pending.extend(current.args)
    return found


_DNS_MARKERS = (
    "NameResolutionError",
    "Name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "Temporary failure in name resolution",
    "No address associated",
)


#: requests' own check of a ``verify`` path, and OpenSSL's answer to a file with no PEM in it.
_CA_UNREADABLE_MARKERS = ("CA certificate bundle", "NO_CERTIFICATE_OR_CRL_FOUND")


def connection_failed(
    exc: BaseException,
    url: str,
    *,
    profile: str,
    timeout: float,
    verify_tls: bool,
    ca_bundle: str | None,
) -> ConnectionFailedError:
    """The typed error for a request to ``url`` that never got an answer, on either hop.

    It names the origin only: the URL's path and query (a login's state and
    code) stay out of the message.
    """
    trust, setting = _trust_and_setting(verify_tls, ca_bundle)
    cause, fix = describe_failure(exc, timeout, trust, setting)
    return ConnectionFailedError(host=origin(url), profile=profile, cause=cause, fix=fix)


def describe_failure(
    exc: BaseException, timeout: float, trust: bool | str, setting: str | None
) -> tuple[str, str]:
    """(cause, fix) for a request that never got an answer, on either hop.

    ``trust`` is the one the request used (:func:`tls_trust`) and ``setting``
    what named its CA bundle (``ca_bundle`` or an environment variable). The
    login (requests) and the API calls (urllib3 under kfp) wrap the same
    urllib3 errors, so one reading of the chain gives both the same sentence.
    """
    from urllib3 import exceptions as urllib3_errors

    chain = _exception_chain(exc)
    text = " | ".join(f"{type(e).__name__}: {e}" for e in chain)

    def seen(*kinds: type[BaseException]) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    # urllib3 (the API hop) wraps the OSError of loading the CA file in its SSLError.
    file_error = seen(FileNotFoundError, PermissionError, IsADirectoryError)
    if any(m in text for m in _CA_UNREADABLE_MARKERS) or (
        file_error and seen(urllib3_errors.SSLError)
    ):
        return _unreadable_ca_bundle(trust, setting)
    if seen(urllib3_errors.ProxyError):
        return (
            "the proxy refused or failed the connection",
            "check the profile's `proxy`, or HTTPS_PROXY / HTTP_PROXY / NO_PROXY",
        )
    if seen(urllib3_errors.SSLError) or "SSLError" in text or "CERTIFICATE_VERIFY" in text:
        return (
            "TLS failed: the server's TLS certificate could not be verified",
            "set `ca_bundle` to the CA that signed it (or `verify_tls = false` for a test cluster)",
        )
    if seen(urllib3_errors.NameResolutionError) or any(m in text for m in _DNS_MARKERS):
        return (
            "the host name does not resolve (DNS)",
            "check the spelling of `host`, or the DNS or VPN you need to reach it",
        )
    # NewConnectionError subclasses ConnectTimeoutError: test it first.
    if seen(urllib3_errors.NewConnectionError, ConnectionRefusedError) or "refused" in text:
        return (
            "the connection was refused (nothing listens there)",
            "check the host and port, or start the port-forward",
        )
    if seen(urllib3_errors.ConnectTimeoutError):
        return (
            f"no connection within {timeout:g} s",
            "check that the host and port are right and reachable, or raise `timeout` "
            "in the profile",
        )
    if seen(urllib3_errors.ReadTimeoutError, TimeoutError):
        return (
            f"the server accepted the connection but sent no answer within {timeout:g} s",
            "check the server, or raise `timeout` in the profile",
        )
    if seen(urllib3_errors.ProtocolError):
        return "the connection broke mid-answer", "try again, and check the server"
    return f"the connection failed ({type(exc).__name__})", "check the host and the network"


def _unreadable_ca_bundle(trust: bool | str, setting: str | None) -> tuple[str, str]:
    if not isinstance(trust, str) or setting is None:
        return (
            "the default CA bundle cannot be read",
            "set `ca_bundle` to a PEM file of the CAs to trust",
        )
    if setting in CA_BUNDLE_VARIABLES:
        return (
            f"the CA bundle {trust} named by {setting} cannot be read",
            f"point {setting} at an existing PEM file, or unset it",
        )
    return (
        f"the CA bundle {trust} cannot be read",
        f"point {setting} at an existing PEM file",
    )
