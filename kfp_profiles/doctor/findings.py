"""One line of the doctor's report: a topic, how it stands, and what was found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Finding", "Status"]

Status = Literal["ok", "warn", "fail", "info"]


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report."""

    topic: str
    status: Status
    text: str
