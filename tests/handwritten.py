"""A hand-written profiles file, in pieces, so each test of an edit says which bytes may change.

Quirks on purpose: a `#:schema` line, inline comments, odd spacing, a quoted
key, a multi-line string holding a fake header, a multi-line array with a
bracket in a comment, no final newline.
"""

from __future__ import annotations

import stat
from pathlib import Path

HEAD = (
    "#:schema ./profiles.schema.json\n"
    "# Team profiles -- keep sorted by cluster, please.\n"
    "\n"
    'default   =  "dev"      # what get_client() uses\n'
    "version = 1\n"
    "\n"
)
DEV = (
    "# The kind cluster on my laptop.\n"
    "[profiles.dev]\n"
    'kind = "standalone-port-forward"   # forward started for me\n'
    "local_port = 3000\n"
    "# manage = false\n"
)
BETWEEN = "\n# ---- shared clusters below ----\n\n"
PROD = (
    "# Production: ask #kubeflow before using.\n"
    '[ profiles . "prod" ]  # quoted on purpose\n'
    'kind = "platform-dex"\n'
    'host = "https://kubeflow.example.com/pipeline"\n'
    'username = "me@example.com"\n'
    'namespace = "kubeflow-user-me"\n'
    'description = """\n'
    "Shared cluster.\n"
    "[profiles.not-a-header]\n"
    '"""\n'
)
TAIL_GAP = "\n"
STAGING = (
    "[profiles.staging]\n"
    'kind = "standalone-in-cluster"\n'
    "k8s_namespace = 'kubeflow'   # single quotes\n"
    "# trailing note of staging, no newline at the end"
)
ORIGINAL = HEAD + DEV + BETWEEN + PROD + TAIL_GAP + STAGING


def write_original(path: Path) -> Path:
    """``ORIGINAL`` at ``path``, 0600 in a new 0700 folder."""
    path.parent.mkdir(mode=0o700)
    path.write_bytes(ORIGINAL.encode())
    path.chmod(0o600)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def text_of(path: Path) -> str:
    return path.read_bytes().decode()
