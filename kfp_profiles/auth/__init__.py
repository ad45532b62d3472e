"""How each kind of profile proves who it is, behind one small interface.

The client asks an :class:`Authenticator` for the credentials of each request
(a ``Cookie`` header, or a bearer token re-read from a file) and, when the
server says the session is gone, asks it to renew once. Modules here import
nothing heavy at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile


class Authenticator(Protocol):
    """What the client needs from a kind's authentication."""

    #: True when an expired session can be renewed by logging in again.
    renewable: bool

    def configure(self, config: Any) -> None:
        """Install per-request credentials on a ``kfp_server_api.Configuration``."""

    def cookie_header(self) -> str | None:
        """The ``Cookie`` header to send, logging in first if needed."""

    def renew(self, stale: str | None) -> str | None:
        """Replace the session that ``stale`` belonged to; returns the new header."""


class NoAuth:
    """Standalone KFP: no front door, nothing to send."""

    renewable = False

    def configure(self, config: Any) -> None:
        return None

    def cookie_header(self) -> str | None:
        return None

    def renew(self, stale: str | None) -> str | None:
        return None


def authenticator_for(resolved: ResolvedProfile, *, prompt: bool = False) -> Authenticator:
    """The authenticator a resolved profile needs."""
    if resolved.kind == "platform-in-cluster":
        from .token import TokenFileAuth

        return TokenFileAuth(resolved)
    if resolved.kind == "platform-dex":
        from .dex import dex_auth_for

        return dex_auth_for(resolved, prompt=prompt)
    return NoAuth()
