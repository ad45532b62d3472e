"""A token described for display: subject, issuer, audience, remaining life; never the token."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..auth.bearer_token import jwt_claims
from ..constants import DEFAULT_TOKEN_PATH, SDK_TOKEN_PATH_ENV, TOKEN_AUDIENCE
from ..models import PlatformInCluster
from .findings import Finding, Status

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile

__all__ = [
    "decode_jwt_claims",
    "describe_token",
    "describe_token_file",
    "token_path_in_use",
]


def token_path_in_use(resolved: ResolvedProfile | None) -> str:
    """The token file a platform-in-cluster profile reads, else the one the SDK would."""
    if resolved is not None and isinstance(resolved.profile, PlatformInCluster):
        return resolved.profile.token_path
    return os.environ.get(SDK_TOKEN_PATH_ENV) or DEFAULT_TOKEN_PATH


def decode_jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, unverified (for display only); None when it is not a JWT."""
    return jwt_claims(token.strip())


def describe_token(
    claims: Mapping[str, Any],
    *,
    now: float | None = None,
    needs_audience: str | None = None,
    topic: str = "token",
) -> Finding:
    """Subject, issuer, audience and remaining life of a token's ``claims``; never the token.

    One description for every kind that carries a token (``platform-in-cluster``'s
    file, ``platform-token``, ``platform-oidc``'s ID token). It fails when the
    token has expired, or lacks ``needs_audience`` where one is given.
    """
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience] if audience else []
    kubernetes = claims.get("kubernetes.io")
    kubernetes = kubernetes if isinstance(kubernetes, dict) else {}
    namespace = kubernetes.get("namespace")
    account = kubernetes.get("serviceaccount")
    account_name = account.get("name") if isinstance(account, dict) else None
    parts = []
    if claims.get("sub") and not account_name:  # a ServiceAccount's is said below
        parts.append(f"subject {claims['sub']}")
    if claims.get("email"):
        parts.append(f"email {claims['email']}")
    if claims.get("iss"):
        parts.append(f"issuer {claims['iss']}")
    parts.append(f"audience {', '.join(map(str, audiences)) or 'none'}")
    status: Status = "ok"
    expiry = claims.get("exp")
    if isinstance(expiry, (int, float)):
        left = expiry - (now if now is not None else time.time())
        when = datetime.fromtimestamp(expiry, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        if left <= 0:
            status = "fail"
            parts.append(f"expired {when} ({_duration(-left)} ago)")
        else:
            parts.append(f"expires {when} (in {_duration(left)})")
    if namespace:
        parts.append(f"namespace {namespace}")
    if account_name:
        parts.append(f"service account {account_name}")
    if needs_audience is not None and needs_audience not in audiences:
        status = "fail"
        parts.append(f"the KFP API needs audience {needs_audience}")
    return Finding(topic, status, "; ".join(parts))


def describe_token_file(path: str, now: float | None = None) -> Finding:
    """:func:`describe_token` of the ServiceAccount token at ``path`` (for the KFP API)."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return Finding("token", "info", f"{path} does not exist (not a pod with the token volume)")
    except (OSError, UnicodeError) as exc:
        return Finding("token", "fail", f"{path} cannot be read ({type(exc).__name__})")
    if not token:
        return Finding("token", "fail", f"{path} is empty")
    claims = decode_jwt_claims(token)
    if claims is None:
        return Finding("token", "fail", f"{path} does not hold a JWT")
    found = describe_token(claims, now=now, needs_audience=TOKEN_AUDIENCE)
    return Finding("token", found.status, f"{path}: {found.text}")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"
