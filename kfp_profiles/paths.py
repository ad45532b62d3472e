"""Paths in a profile: expanded as a shell would, relative to their file, checked when set.

A CA bundle is checked where it is set (``add``) and where the profile is resolved, so a
missing or wrong bundle is a configuration error that names the field and the file, not
a failed connection later.
"""

from __future__ import annotations

import os
from pathlib import Path

#: How much of a bundle is read to check it: real bundles are a few hundred KiB.
_PEM_READ_LIMIT = 4 * 1024 * 1024
_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


def expand_path(value: str, relative_to: Path | None) -> str:
    """``~`` and ``$VARS`` expanded; a relative path taken from ``relative_to`` (a folder)."""
    expanded = os.path.expanduser(os.path.expandvars(value))
    if relative_to is not None and not os.path.isabs(expanded):
        expanded = str(relative_to / expanded)
    return expanded


def ca_bundle_problem(path: str) -> str | None:
    """What is wrong with a CA bundle at ``path``, in words, or None when it holds certificates."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_PEM_READ_LIMIT)
    except FileNotFoundError:
        return "does not exist"
    except IsADirectoryError:
        return "is a folder, not a file of certificates"
    except PermissionError:
        return "cannot be read by this user"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if _CERTIFICATE not in head:
        return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
    return None
