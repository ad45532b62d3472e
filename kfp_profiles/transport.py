"""One rule for both hops (the Dex login and the API calls): what they trust, which proxy.

Trust:
``verify_tls = false`` turns checking off; else the profile's ``ca_bundle``
wins over ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` (which ``requests`` would
otherwise let override a session's own CA); else those variables, which the
SDK alone ignores; else the default trust store.

Proxy: the profile's ``proxy``, else ``HTTP(S)_PROXY`` / ``NO_PROXY`` (which the
SDK alone ignores).
"""

from __future__ import annotations

import os
import urllib.request
from urllib.parse import urlsplit

CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def tls_trust(verify_tls: bool, ca_bundle: str | None) -> bool | str:
    """``False`` (no check), a CA bundle path, or ``True`` (the default store)."""
    if not verify_tls:
        return False
    if ca_bundle:
        return ca_bundle
    for variable in CA_BUNDLE_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    return True


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


def describe_failure(exc: BaseException, timeout: float, ca_bundle: str | None) -> tuple[str, str]:
    """(cause, fix) for a request that never got an answer, on either hop.

    The login (requests) and the API calls (urllib3 under kfp) wrap the same
    urllib3 errors, so one reading of the chain gives both the same sentence.
    """
    from urllib3 import exceptions as urllib3_errors

    chain = _exception_chain(exc)
    text = " | ".join(f"{type(e).__name__}: {e}" for e in chain)

    def seen(*kinds: type[BaseException]) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    if "CA certificate bundle" in text:
        return (
            f"the CA bundle {ca_bundle} cannot be read",
            "Point `ca_bundle` at an existing PEM file.",
        )
    if seen(urllib3_errors.ProxyError):
        return (
            "the proxy refused or failed the connection",
            "Check the profile's `proxy`, or HTTPS_PROXY / HTTP_PROXY / NO_PROXY.",
        )
    if seen(urllib3_errors.SSLError) or "SSLError" in text or "CERTIFICATE_VERIFY" in text:
        return (
            "TLS failed: the server's TLS certificate could not be verified",
            "Set `ca_bundle` to the CA that signed the server's certificate "
            "(or `verify_tls = false` for a test cluster).",
        )
    if seen(urllib3_errors.NameResolutionError) or any(m in text for m in _DNS_MARKERS):
        return (
            "the host name does not resolve (DNS)",
            "Check the spelling of `host`, or the DNS or VPN you need to reach it.",
        )
    # NewConnectionError subclasses ConnectTimeoutError: test it first.
    if seen(urllib3_errors.NewConnectionError, ConnectionRefusedError) or "refused" in text:
        return (
            "the connection was refused",
            "Nothing listens there: check the host and port, or start the port-forward.",
        )
    if seen(urllib3_errors.ConnectTimeoutError):
        return (
            f"no connection within {timeout:g} s",
            "Check that the host and port are right and reachable, or raise `timeout`.",
        )
    if seen(urllib3_errors.ReadTimeoutError, TimeoutError):
        return (
            f"no answer within {timeout:g} s",
            "The server accepted the connection but sent no answer within the timeout: "
            "check it, or raise `timeout` in the profile.",
        )
    if seen(urllib3_errors.ProtocolError):
        return "the connection broke mid-answer", "Try again, and check the server."
    return f"the connection failed ({type(exc).__name__})", "Check the host and the network."
