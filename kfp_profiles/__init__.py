"""Named connection profiles for the Kubeflow Pipelines SDK, like kubeconfig contexts.

    from kfp_profiles import get_client
    client = get_client("prod")        # or get_client() with KFP_PROFILE=prod
    client.list_experiments()

Importing this package is cheap: ``kfp``, ``requests``, ``keyring`` and even
pydantic load only when a profile is resolved, a client built or a secret read.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it, imported on first use
_LAZY = {
    "get_client": "client",
    "client_for": "client",
    "resolve": "resolution",
    "ResolvedProfile": "resolution",
    "load_config": "files",
    "ProfilesConfig": "files",
    "login": "client",
    "logout": "client",
    "KfpProfilesError": "errors",
    "ConfigError": "errors",
    "ProfileNotFoundError": "errors",
    "ProfileValidationError": "errors",
    "SecretError": "errors",
    "PasswordMissingError": "errors",
    "KeyringUnavailableError": "errors",
    "TokenFileError": "errors",
    "ConnectionFailedError": "errors",
    "LoginError": "errors",
    "InvalidCredentialsError": "errors",
    "SessionError": "errors",
}

__all__ = [
    "ConfigError",
    "ConnectionFailedError",
    "InvalidCredentialsError",
    "KeyringUnavailableError",
    "KfpProfilesError",
    "LoginError",
    "PasswordMissingError",
    "ProfileNotFoundError",
    "ProfileValidationError",
    "ProfilesConfig",
    "ResolvedProfile",
    "SecretError",
    "SessionError",
    "TokenFileError",
    "client_for",
    "get_client",
    "load_config",
    "login",
    "logout",
    "resolve",
]

if TYPE_CHECKING:
    from .client import client_for, get_client, login, logout
    from .errors import (
        ConfigError,
        ConnectionFailedError,
        InvalidCredentialsError,
        KeyringUnavailableError,
        KfpProfilesError,
        LoginError,
        PasswordMissingError,
        ProfileNotFoundError,
        ProfileValidationError,
        SecretError,
        SessionError,
        TokenFileError,
    )
    from .files import ProfilesConfig, load_config
    from .resolution import ResolvedProfile, resolve


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kfp_profiles' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
