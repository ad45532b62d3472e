"""One rule for what both hops (the Dex login and the API calls) trust.

``verify_tls = false`` turns checking off; else the profile's ``ca_bundle``
wins over ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` (which ``requests`` would
otherwise let override a session's own CA); else those variables, which the
SDK alone ignores; else the default trust store.
"""

from __future__ import annotations

import os

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
