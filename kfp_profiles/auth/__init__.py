"""How each kind of profile proves who it is, behind one renewal hook (:class:`Credentials`).

In the manner of google-auth's credentials: the client calls
:meth:`Credentials.before_request` for every request (the credential puts its
``Cookie`` or ``Authorization`` header on it, renewing first when its known
expiry is within the margin) and, when the server answers with a login page or
a 401, :meth:`Credentials.refresh` once before it retries. Each credential keeps
its own lock, so threads (and the clients of one profile) share one renewal.

Which credential a kind uses is the ``credentials`` class variable of its model
(kfp_profiles/models.py): ``module:Class``, imported here only when a client is
built, and built with ``Class.for_profile(resolved, prompt=...)``. Modules here
import nothing heavy at import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile


class Credentials(Protocol):
    """What the client needs from a kind's authentication."""

    @classmethod
    def for_profile(cls, resolved: ResolvedProfile, *, prompt: bool = False) -> Credentials:
        """The credentials of a resolved profile (``prompt``: a person may be asked)."""

    #: True when :meth:`refresh` can get credentials the server has not refused yet.
    renewable: bool

    @property
    def expired(self) -> bool:
        """True when the known expiry is within the margin (or nothing is held yet)."""

    def before_request(self, headers: MutableMapping[str, str]) -> None:
        """Put the credentials on a request's ``headers``, renewing them first if expired."""

    def refresh(self, refused: Mapping[str, str]) -> None:
        """Renew after the server refused a request that carried ``refused`` headers.

        A credential renewed by another thread since then is kept as it is.
        """


class NoCredentials:
    """Standalone KFP: no front door, nothing to send."""

    renewable = False
    expired = False

    @classmethod
    def for_profile(cls, resolved: ResolvedProfile, *, prompt: bool = False) -> NoCredentials:
        return cls()

    def before_request(self, headers: MutableMapping[str, str]) -> None:
        return None

    def refresh(self, refused: Mapping[str, str]) -> None:
        return None


def credentials_for(resolved: ResolvedProfile, *, prompt: bool = False) -> Credentials:
    """The credentials a resolved profile's kind names (``prompt``: a person may be asked)."""
    module_name, _, class_name = type(resolved.profile).credentials.partition(":")
    kind_class = getattr(importlib.import_module(module_name), class_name)
    credentials: Credentials = kind_class.for_profile(resolved, prompt=prompt)
    return credentials


__all__ = ["Credentials", "NoCredentials", "credentials_for"]
