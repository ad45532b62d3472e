"""Test helpers: an emulated Kubeflow front door and KFP API, and a silent server.

``Emulator`` runs Dex, oauth2-proxy or oidc-authservice and the KFP REST API
on loopback over real HTTP (``kfp_profiles.testing.emulator``), with real
signed JWTs from Dex and from an emulated cluster (``kube_url``), Dex's OIDC
endpoints (discovery, PKCE, refresh tokens, the device flow) and each
release's bearer-token checks; ``OidcSettings``, ``GatewaySettings`` and
``StaticClient`` configure them. ``browse`` is a scripted person at a browser
for sign-in URLs. ``Blackhole`` accepts connections and never answers;
``Hostile`` misbehaves in one chosen way (drip, slow headers, stalled TLS,
endless body, redirect loop). The pytest fixtures live in
``kfp_profiles.testing.plugin``. Names load on first use, so importing this
package costs nothing and imports none of kfp, requests or keyring.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kfp_profiles.testing.bearer import GatewaySettings
    from kfp_profiles.testing.blackhole import Blackhole
    from kfp_profiles.testing.emulator import Emulator
    from kfp_profiles.testing.hostile import Hostile
    from kfp_profiles.testing.messages import Request
    from kfp_profiles.testing.oidc import OidcSettings, StaticClient
    from kfp_profiles.testing.person import Visit, browse

__all__ = [
    "Blackhole",
    "Emulator",
    "GatewaySettings",
    "Hostile",
    "OidcSettings",
    "Request",
    "StaticClient",
    "Visit",
    "browse",
]

_HOMES = {
    "Blackhole": "kfp_profiles.testing.blackhole",
    "Emulator": "kfp_profiles.testing.emulator",
    "Hostile": "kfp_profiles.testing.hostile",
    "GatewaySettings": "kfp_profiles.testing.bearer",
    "OidcSettings": "kfp_profiles.testing.oidc",
    "Request": "kfp_profiles.testing.messages",
    "StaticClient": "kfp_profiles.testing.oidc",
    "Visit": "kfp_profiles.testing.person",
    "browse": "kfp_profiles.testing.person",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
