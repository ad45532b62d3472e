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
