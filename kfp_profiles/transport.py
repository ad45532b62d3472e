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
setting to change (:func:`connection_failed`); one that ran out of its
deadline (:mod:`kfp_profiles.deadline`), a
:class:`~kfp_profiles.errors.DeadlineExceededError` naming the step. A scheme
that does not match the port is named as such: ``https://`` to a port that
speaks plain HTTP (OpenSSL reads its answer as a wrong TLS version), and
``http://`` to a port that speaks TLS (the connection breaks at once; a TLS
handshake with the port, within 2 s, tells which). :func:`describe_failure`
puts any failure in words: that one, and for ``check`` an error of ours, the
KFP API's ``ApiException`` or anything else.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from . import deadline
from .errors import ConnectionFailedError, KfpProfilesError

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


#: OpenSSL's reading of a plain-HTTP answer to its hello (1.1, 3.0, 3.2+ say it differently).
_PLAIN_HTTP_MARKERS = (
    "WRONG_VERSION_NUMBER",
    "wrong version number",
    "RECORD_LAYER_FAILURE",
    "record layer failure",
    "packet length too long",
    "PACKET_LENGTH_TOO_LONG",
)

#: A certificate that failed its check (chain or name), as OpenSSL and urllib3 say it.
_UNVERIFIED_MARKERS = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "hostname")

#: requests' own check of a ``verify`` path, and OpenSSL's answer to a file with no PEM in it.
_CA_UNREADABLE_MARKERS = ("CA certificate bundle", "NO_CERTIFICATE_OR_CRL_FOUND")


@dataclass(frozen=True)
class Attempt:
    """How a request that got no answer was sent: its timeout and the trust it used."""

    timeout: float
    #: The trust the request used (:func:`tls_trust`).
    trust: bool | str
    #: What named its CA bundle (``ca_bundle`` or an environment variable); None when nothing did.
    setting: str | None = None


class Failure(NamedTuple):
    """A failure in words: what happened, and how to fix it when ``cause`` does not say."""

    cause: str
    fix: str = ""


def connection_failed(
    exc: BaseException,
    url: str,
    *,
    profile: str,
    timeout: float,
    verify_tls: bool,
    ca_bundle: str | None,
    step: str | None = None,
    proxy: str | None = None,
) -> ConnectionFailedError:
    """The typed error for a request to ``url`` that never got an answer, on either hop.

    It names the origin only: the URL's path and query (a login's state and
    code) stay out of the message. Under a deadline that ran out (or a timeout
    of its socket), it is a DeadlineExceededError naming ``step``. ``proxy``:
    the proxy the request went through (no scheme probe through one).
    """
    host = origin(url)
    clock = deadline.current()
    if clock is not None and (clock.passed or _timed_out(exc)):
        return deadline.late(clock, host=host, profile=profile, step=step or "the request")
    trust, setting = _trust_and_setting(verify_tls, ca_bundle)
    cause, fix = describe_failure(exc, Attempt(timeout, trust, setting))
    if cause == _BROKE.cause and not proxy and _speaks_tls(url, min(timeout, 2.0)):
        cause, fix = _SPEAKS_TLS
    return ConnectionFailedError(host=host, profile=profile, cause=cause, fix=fix)


def _timed_out(exc: BaseException) -> bool:
    from urllib3 import exceptions as urllib3_errors

    chain = _exception_chain(exc)
    # NewConnectionError (refused, DNS) subclasses ConnectTimeoutError: it is no timeout.
    if any(isinstance(e, urllib3_errors.NewConnectionError) for e in chain):
        return False
    return any(isinstance(e, (TimeoutError, urllib3_errors.TimeoutError)) for e in chain)


def _speaks_tls(url: str, seconds: float) -> bool:
    """Whether the port of ``http://`` URL ``url`` completes a TLS handshake (nothing verified)."""
    import socket
    import ssl

    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or not parts.hostname:
        return False
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        address = (parts.hostname, parts.port or 80)
        with (
            deadline.within(seconds) as clock,
            socket.create_connection(address, timeout=seconds) as raw,
            clock.watching(raw),  # a handshake dripped byte by byte ends at the deadline too
            context.wrap_socket(raw, server_hostname=parts.hostname),
        ):
            return not clock.fired
    except (OSError, ValueError):
        return False


_BROKE = Failure("the connection broke mid-answer", "try again, and check the server")
_SPEAKS_TLS = Failure(
    "the server speaks TLS (HTTPS) at that port, not plain HTTP",
    "use https:// in `host`",
)


def describe_failure(exc: BaseException, attempt: Attempt | None = None) -> Failure:
    """``exc`` in words, naming what the server said where it said something.

    With ``attempt``, ``exc`` is a request that never got an answer, on either
    hop: the login (requests) and the API calls (urllib3 under kfp) wrap the
    same urllib3 errors, so one reading of the chain gives both the same
    cause and fix. Without, it is any failure (of a ``check`` step): an
    error of ours says it all, an ``ApiException`` gives the KFP API's status
    and message, anything else its type and first line.
    """
    if attempt is not None:
        return _unanswered(exc, attempt)
    if isinstance(exc, KfpProfilesError):
        return Failure(str(exc))
    status = getattr(exc, "status", None)
    if status is not None and type(exc).__name__ == "ApiException":  # kfp_server_api's
        return Failure(_api_answer(exc, status))
    text = str(exc).strip().splitlines()
    return Failure(f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": "))


def _api_answer(exc: BaseException, status: object) -> str:
    body = getattr(exc, "body", None) or ""
    message = ""
    try:
        parsed = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        message = str(parsed.get("message") or parsed.get("error") or "")
    reason = getattr(exc, "reason", "") or ""
    return f"the KFP API answered {status} {reason}".rstrip() + (f": {message}" if message else "")


def _unanswered(exc: BaseException, attempt: Attempt) -> Failure:
    import ssl

    from urllib3 import exceptions as urllib3_errors

    chain = _exception_chain(exc)
    text = " | ".join(f"{type(e).__name__}: {e}" for e in chain)
    timeout = attempt.timeout

    def seen(*kinds: type[BaseException]) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    # urllib3 (the API hop) wraps the OSError of loading the CA file in its SSLError.
    file_error = seen(FileNotFoundError, PermissionError, IsADirectoryError)
    if any(m in text for m in _CA_UNREADABLE_MARKERS) or (
        file_error and seen(urllib3_errors.SSLError)
    ):
        return _unreadable_ca_bundle(attempt.trust, attempt.setting)
    if seen(urllib3_errors.ProxyError):
        return Failure(
            "the proxy refused or failed the connection",
            "check the profile's `proxy`, or HTTPS_PROXY / HTTP_PROXY / NO_PROXY",
        )
    if any(m in text for m in _PLAIN_HTTP_MARKERS):
        return Failure(
            "the server speaks plain HTTP at that port, not TLS (HTTPS)",
            "use http:// in `host`, or the port that serves HTTPS",
        )
    if any(m in text for m in _UNVERIFIED_MARKERS) or seen(ssl.CertificateError):
        return Failure(
            "TLS failed: the server's TLS certificate could not be verified",
            "set `ca_bundle` to the CA that signed it (or `verify_tls = false` for a test cluster)",
        )
    if seen(urllib3_errors.SSLError) or "SSLError" in text:
        reason = next((str(e) for e in chain if isinstance(e, ssl.SSLError)), "")
        return Failure(
            f"the TLS handshake failed{f' ({reason})' if reason else ''}",
            "check that `host` names the server's HTTPS port, and the server's TLS settings",
        )
    if seen(urllib3_errors.NameResolutionError) or any(m in text for m in _DNS_MARKERS):
        return Failure(
            "the host name does not resolve (DNS)",
            "check the spelling of `host`, or the DNS or VPN you need to reach it",
        )
    # NewConnectionError subclasses ConnectTimeoutError: test it first.
    if seen(urllib3_errors.NewConnectionError, ConnectionRefusedError) or "refused" in text:
        return Failure(
            "the connection was refused (nothing listens there)",
            "check the host and port, or start the port-forward",
        )
    if seen(urllib3_errors.ConnectTimeoutError):
        return Failure(
            f"no connection within {timeout:g} s",
            "check that the host and port are right and reachable, or raise `timeout` "
            "in the profile",
        )
    if seen(urllib3_errors.ReadTimeoutError, TimeoutError):
        return Failure(
            f"the server accepted the connection but sent no answer within {timeout:g} s",
            "check the server, or raise `timeout` in the profile",
        )
    if seen(urllib3_errors.ProtocolError):
        return _BROKE
    return Failure(
        f"the connection failed ({type(exc).__name__})", "check the host and the network"
    )


def _unreadable_ca_bundle(trust: bool | str, setting: str | None) -> Failure:
    if not isinstance(trust, str) or setting is None:
        return Failure(
            "the default CA bundle cannot be read",
            "set `ca_bundle` to a PEM file of the CAs to trust",
        )
    if setting in CA_BUNDLE_VARIABLES:
        return Failure(
            f"the CA bundle {trust} named by {setting} cannot be read",
            f"point {setting} at an existing PEM file, or unset it",
        )
    return Failure(
        f"the CA bundle {trust} cannot be read",
        f"point {setting} at an existing PEM file",
    )
