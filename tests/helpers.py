"""Small helpers shared by the tests: write a real profiles file with real permissions."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_profiles(path: Path, text: str, *, mode: int = 0o600) -> Path:
    """Write ``text`` (dedented) to ``path`` with ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    path.chmod(mode)
    return path
