"""Test helpers: an emulated Kubeflow front door and KFP API, and a silent server.

``Emulator`` runs Dex, oauth2-proxy or oidc-authservice and the KFP REST API
on loopback over real HTTP (``kfp_profiles.testing.emulator``); ``Blackhole``
accepts connections and never answers; ``Hostile`` misbehaves in one chosen
way (drip, slow headers, stalled TLS, endless body, redirect loop). The pytest fixtures live in
``kfp_profiles.testing.plugin``. Names load on first use, so importing this
package costs nothing and imports none of kfp, requests or keyring.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kfp_profiles.testing.blackhole import Blackhole
    from kfp_profiles.testing.emulator import Emulator
    from kfp_profiles.testing.hostile import Hostile
    from kfp_profiles.testing.messages import Request

__all__ = ["Blackhole", "Emulator", "Hostile", "Request"]

_HOMES = {
    "Blackhole": "kfp_profiles.testing.blackhole",
    "Emulator": "kfp_profiles.testing.emulator",
    "Hostile": "kfp_profiles.testing.hostile",
    "Request": "kfp_profiles.testing.messages",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
