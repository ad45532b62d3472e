"""Errors of `check` and `doctor` that are about what the user passed (exit 2)."""

from __future__ import annotations

from .config import ConfigError

# --- doctor and check (kfp_profiles.doctor) ------------------------------------


class HostOptionError(ConfigError):
    fmt = (
        "--host must be an http:// or https:// URL, like "
        "http://localhost:8080/pipeline (got '{host}')."
    )


class TokenCheckError(ConfigError):
    """`check` of a platform-in-cluster profile found a token the KFP API would refuse."""

    fmt = "Profile '{profile}': the token {problem}."
