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
    "list_profiles": "listing",
    "add_profile": "editing",
    "set_default_profile": "editing",
    "clear_default": "editing",
    "set_fields": "field_edits",
    "unset_fields": "field_edits",
    "remove_profile": "profile_ops",
    "rename_profile": "profile_ops",
    "current": "listing",
    "profile_statuses": "status",
    "ProfileStatus": "status",
    "import_profiles": "importing",
    "ImportReport": "importing",
    "ImportResult": "importing",
    "ProfileSummary": "listing",
    "Selection": "listing",
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

#: The public names are the lazy table's keys (the imports below only inform type checkers).
__all__ = sorted(_LAZY)

if TYPE_CHECKING:  # `X as X` re-exports them for type checkers; a test keeps this in step
    from .client import client_for as client_for
    from .client import get_client as get_client
    from .client import login as login
    from .client import logout as logout
    from .editing import add_profile as add_profile
    from .editing import clear_default as clear_default
    from .editing import set_default_profile as set_default_profile
    from .errors import ConfigError as ConfigError
    from .errors import ConnectionFailedError as ConnectionFailedError
    from .errors import InvalidCredentialsError as InvalidCredentialsError
    from .errors import KeyringUnavailableError as KeyringUnavailableError
    from .errors import KfpProfilesError as KfpProfilesError
    from .errors import LoginError as LoginError
    from .errors import PasswordMissingError as PasswordMissingError
    from .errors import ProfileNotFoundError as ProfileNotFoundError
    from .errors import ProfileValidationError as ProfileValidationError
    from .errors import SecretError as SecretError
    from .errors import SessionError as SessionError
    from .errors import TokenFileError as TokenFileError
    from .field_edits import set_fields as set_fields
    from .field_edits import unset_fields as unset_fields
    from .files import ProfilesConfig as ProfilesConfig
    from .files import load_config as load_config
    from .importing import ImportReport as ImportReport
    from .importing import ImportResult as ImportResult
    from .importing import import_profiles as import_profiles
    from .listing import ProfileSummary as ProfileSummary
    from .listing import Selection as Selection
    from .listing import current as current
    from .listing import list_profiles as list_profiles
    from .profile_ops import remove_profile as remove_profile
    from .profile_ops import rename_profile as rename_profile
    from .resolution import ResolvedProfile as ResolvedProfile
    from .resolution import resolve as resolve
    from .status import ProfileStatus as ProfileStatus
    from .status import profile_statuses as profile_statuses


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kfp_profiles' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
