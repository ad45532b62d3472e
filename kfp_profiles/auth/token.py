"""platform-in-cluster: the projected ServiceAccount token, re-read on every request.

The kubelet rotates the token by swapping a ``..data`` symlink; reading the
file at each request (the SDK's refresh hook runs before every call) means a
rotated token is used from the very next request, with no restart.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import TokenFileError

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile


def read_token(profile: str, path: str) -> str:
    """The token in ``path``, or a TokenFileError that shows the volume the pod needs."""
    folder = os.path.dirname(path) or "."

    def fail(problem: str) -> TokenFileError:
        return TokenFileError(profile=profile, path=path, problem=problem, folder=folder)

    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except FileNotFoundError:
        raise fail("does not exist") from None
    except IsADirectoryError:
        raise fail("is a directory, not a file") from None
    except PermissionError:
        raise fail("cannot be read by this user (permission denied)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot be read ({type(exc).__name__})") from None
    if not token:
        raise fail("is empty")
    return token


class TokenFileAuth:
    """Bearer token from a file, fresh on each request."""

    renewable = False

    def __init__(self, resolved: ResolvedProfile) -> None:
        self._profile = resolved.name
        self._path: str = getattr(resolved.profile, "token_path")  # noqa: B009
        read_token(self._profile, self._path)  # fail at get_client, not at the first call

    def configure(self, config: Any) -> None:
        # The SDK consults refresh_api_key_hook only when the key is present.
        config.api_key["authorization"] = "set-before-each-request"
        config.api_key_prefix["authorization"] = "Bearer"

        def refresh(configuration: Any) -> None:
            configuration.api_key["authorization"] = read_token(self._profile, self._path)

        config.refresh_api_key_hook = refresh

    def cookie_header(self) -> str | None:
        return None

    def renew(self, stale: str | None) -> str | None:
        return None
