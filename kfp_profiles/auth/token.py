"""platform-in-cluster: the projected ServiceAccount token, re-read on every request.

The kubelet rotates the token by swapping a ``..data`` symlink; reading the
file in ``before_request``, which runs before every request, means a
rotated token is used from the very next request, with no restart.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING

from .. import trust
from ..deadline import READ_CAP, READ_CAP_TEXT
from ..errors import TokenFileError, TokenFileTrustError
from ..models import PlatformInCluster

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile


def read_token(profile: str, path: str) -> str:
    """The token in ``path``, or a TokenFileError that shows the volume the pod needs."""
    folder = os.path.dirname(path) or "."

    def fail(problem: str) -> TokenFileError:
        return TokenFileError(profile=profile, path=path, problem=problem, folder=folder)

    untrusted = trust.untrusted(path)  # ssh's rule; a projected token passes
    if untrusted is not None:
        raise TokenFileTrustError(
            profile=profile, path=path, problem=untrusted.problem, fix=untrusted.fix
        )
    problem = _read_problem(path)
    if problem is not None:
        raise fail(problem)
    try:
        with open(path, "rb") as handle:
            content = handle.read(READ_CAP + 1)  # a token is 1 to 2 KiB; /dev/zero is endless
    except OSError as exc:  # gone or locked away since the look above
        problem = f"cannot be read ({exc.strerror or type(exc).__name__})"
    if problem is not None:
        raise fail(problem)
    if len(content) > READ_CAP:
        raise fail(f"is larger than {READ_CAP_TEXT}, far more than a token")
    token = content.decode("utf-8", "replace").strip()
    # Checked here, not by the HTTP library, whose error would quote the whole token.
    if not token:
        raise fail("is empty")
    if not _ONE_TOKEN.fullmatch(token):
        inside = "a line break or a space" if any(c.isspace() for c in token) else "a character"
        raise fail(f"holds more than one token ({inside} that no token has)")
    return token


#: What a bearer token is made of: printable ASCII, no space (JWTs, opaque tokens).
_ONE_TOKEN = re.compile(r"[\x21-\x7e]+")


def _read_problem(path: str) -> str | None:
    """Why ``path`` cannot be read as a token file, in words; None when it can.

    Asked before opening: opening a FIFO would wait for a writer forever.
    """
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return "does not exist"
    except PermissionError:
        return "cannot be read by this user (permission denied)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if stat.S_ISDIR(status.st_mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(status.st_mode):
        return "is not a regular file (a pipe or a device)"
    if not os.access(path, os.R_OK):
        return "cannot be read by this user (permission denied)"
    return None


class TokenFileCredentials:
    """Bearer token from a file, fresh on each request."""

    #: Nothing to renew: every request reads the file the kubelet keeps fresh.
    renewable = False
    expired = False

    def __init__(self, profile: str, path: str, source: str = "default") -> None:
        self._profile = profile
        self._path = path
        #: What named the path (``ResolvedProfile.sources["token_path"]``): its error's fix.
        self._source = source
        self._read()  # fail at get_client, not at the first call

    @classmethod
    def for_profile(
        cls, resolved: ResolvedProfile, *, prompt: bool = False
    ) -> TokenFileCredentials:
        profile = resolved.profile
        assert isinstance(profile, PlatformInCluster), profile.kind
        return cls(resolved.name, profile.token_path, resolved.sources.get("token_path", "default"))

    def before_request(self, headers: MutableMapping[str, str]) -> None:
        headers["Authorization"] = f"Bearer {self._read()}"

    def refresh(self, refused: Mapping[str, str]) -> None:
        return None

    def _read(self) -> str:
        try:
            return read_token(self._profile, self._path)
        except TokenFileError as exc:
            error = exc.with_fields(source=self._source)
        raise error  # outside the except block: nothing chained
