"""The front door at a KFP API URL, found one request at a time; it never logs in.

:func:`fingerprint_flow` is a generator of HTTP requests in the style of
:mod:`kfp_profiles.auth.dex_flow` (no I/O of its own), run over the profile's
TLS, CA and proxy settings by :func:`kfp_profiles.auth.http.run_flow`, under
one deadline (the profile's ``timeout``, at most 10 s) and with every answer
read capped at 1 MiB. It asks the API's healthz, follows the door's first
redirect into Dex (or ``/oauth2/start`` where the API path answers 401 or
403), and reads Dex's ``/auth`` answer; each answer is read by
:mod:`kfp_profiles.auth.doors`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..auth.doors import (
    DOOR_DESCRIPTIONS,
    PROBE_BEARER,
    Approval,
    BearerAnswer,
    DoorName,
    approval_page,
    door_into_dex,
    oauth2_start_url,
    offered_connectors,
    read_api_answer,
    read_bearer_answer,
    uses_old_dex_paths,
)
from ..auth.exchange import HttpRequest, HttpResponse
from ..auth.pages import query_params
from ..constants import HEALTHZ_PATH

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile

__all__ = [
    "BEARER_KINDS",
    "FingerprintFlow",
    "FrontDoor",
    "fingerprint",
    "fingerprint_flow",
    "fingerprint_profile",
]

_MAX_HOPS = 4
#: The kinds that send a bearer token to the gateway.
BEARER_KINDS = ("platform-token", "platform-oidc")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class FrontDoor:
    """What stands in front of the KFP API at a URL."""

    url: str
    door: DoorName
    #: Why the door is what it is, or what was seen when it is unknown.
    evidence: str
    multi_user: bool | None = None
    kfp_version: str | None = None
    connectors: tuple[str, ...] = ()
    #: None when there is no Dex.
    approval: Approval | None = None
    old_dex_paths: bool = False
    #: The door's own OAuth client, named in its redirect into Dex.
    client_id: str | None = None
    #: Who answered a bearer that is no JWT (None: not asked).
    bearer: BearerAnswer | None = None

    @property
    def description(self) -> str:
        return DOOR_DESCRIPTIONS[self.door]

    def suggestion(self) -> dict[str, Any]:
        """The profile fields this door calls for; `<...>` marks what only the user knows."""
        if self.door in ("oauth2-proxy", "oauth2-proxy-first", "oidc-authservice"):
            suggested: dict[str, Any] = {"kind": "platform-dex", "host": self.url}
            suggested["username"] = "<your Dex login, e.g. user@example.com>"
            if self.connectors:
                suggested["connector"] = self.connectors[0]
            suggested["namespace"] = "<your profile namespace, e.g. kubeflow-user-example-com>"
            return suggested
        if self.door == "none":
            parts = urlsplit(self.url)
            if self.multi_user:
                return {"kind": "platform-in-cluster", "host": self.url}
            local = parts.hostname in _LOOPBACK_NAMES
            if local and parts.port and parts.path in ("", "/"):
                return {"kind": "standalone-port-forward", "local_port": parts.port}
            return {"kind": "standalone-in-cluster", "host": self.url}
        return {}


FingerprintFlow = Generator[HttpRequest, HttpResponse, FrontDoor]


def fingerprint_flow(url: str, *, bearer: bool = False) -> FingerprintFlow:
    """Find the door at KFP API URL ``url``, one request at a time (see the module docstring).

    ``bearer``: then send one request with a bearer that is no JWT, to see who checks
    bearer tokens (:func:`~kfp_profiles.auth.doors.read_bearer_answer`).
    """
    url = url.rstrip("/")
    door = yield from _door_flow(url)
    if not bearer or door.door == "unknown":
        return door
    probe = {"Authorization": f"Bearer {PROBE_BEARER}"}
    response = yield HttpRequest("GET", url + HEALTHZ_PATH, headers=probe)
    return dataclasses.replace(door, bearer=read_bearer_answer(response))


def _door_flow(url: str) -> FingerprintFlow:
    """The door at ``url``, from answers to requests with no session and no token."""
    target = url + HEALTHZ_PATH
    response = yield HttpRequest("GET", target)
    answer = read_api_answer(response)
    for _ in range(_MAX_HOPS - 1):
        if answer.follow is None:
            break
        target = answer.follow  # e.g. a trailing-slash redirect on the gateway
        response = yield HttpRequest("GET", target)
        answer = read_api_answer(response)
    status = response.status
    content_type = (response.header("Content-Type") or "").lower()

    if answer.door == "none":
        payload = _json_object(response.body_text)
        if payload is None:
            return FrontDoor(
                url, "unknown", f"healthz answered {status} {content_type or 'without JSON'}"
            )
        multi_user = payload.get("multi_user")
        return FrontDoor(
            url,
            "none",
            f"healthz answered {status} with no login",
            multi_user=multi_user if isinstance(multi_user, bool) else None,
            kfp_version=payload.get("tag_name") or None,
        )

    if answer.dex_auth_url is not None:
        callback = "/authservice/" if answer.door == "oidc-authservice" else "/oauth2/"
        evidence = f"the API path redirects into Dex with an {callback} callback"
        dex = yield from _read_dex(answer.dex_auth_url, answer.door)
        return FrontDoor(url, answer.door, evidence, **dex)

    if answer.door == "oauth2-proxy":
        started = yield HttpRequest("GET", oauth2_start_url(url))
        door = door_into_dex(started, at_api_path=False)
        if door is not None and started.location is not None:
            evidence = f"the API path answers {status} and /oauth2/start leads into Dex"
            dex = yield from _read_dex(started.location, door)
            return FrontDoor(url, door, evidence, **dex)
        return FrontDoor(
            url,
            "unknown",
            f"healthz answered {status} but /oauth2/start answered {started.status}, not Dex",
        )

    if status == 404:
        hint = (
            " (behind a Kubeflow gateway the API is under /pipeline)"
            if "/pipeline" not in url
            else ""
        )
        return FrontDoor(url, "unknown", f"no KFP API at {target}: 404{hint}")
    location = response.location
    seen = f"redirect to {urlsplit(location).path}" if location else content_type or "no body"
    return FrontDoor(url, "unknown", f"healthz answered {status} ({seen})")


def _read_dex(
    dex_auth_url: str, door: DoorName
) -> Generator[HttpRequest, HttpResponse, dict[str, Any]]:
    """Connectors offered, old paths, and the approval page, from Dex's /auth answer."""
    response = yield HttpRequest("GET", dex_auth_url)
    offered = offered_connectors(response)
    location = response.location
    old_paths = location is not None and uses_old_dex_paths(location)
    return {
        "connectors": tuple(offered),
        "approval": approval_page(door, dex_auth_url, old_paths=old_paths),
        "old_dex_paths": old_paths,
        "client_id": query_params(dex_auth_url).get("client_id") or None,
    }


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def fingerprint(
    url: str,
    *,
    profile: str = "doctor",
    verify_tls: bool = True,
    ca_bundle: str | None = None,
    proxy: str | None = None,
    timeout: float = 10.0,
    bearer: bool = False,
) -> FrontDoor:
    """Run :func:`fingerprint_flow` over real HTTP (imports ``requests``)."""
    from ..auth.exchange import DexLoginSettings
    from ..auth.http import run_flow

    settings = DexLoginSettings(
        profile=profile,
        api_url=url,
        username="",
        verify_tls=verify_tls,
        ca_bundle=ca_bundle,
        proxy=proxy,
        timeout=timeout,
    )
    # One deadline, `timeout`, for the whole probe; answers read capped (auth/http.py).
    return run_flow(
        fingerprint_flow(url, bearer=bearer),
        settings,
        max_requests=_MAX_HOPS + 4,
        what="the front-door probe",
    )


def fingerprint_profile(resolved: ResolvedProfile) -> FrontDoor:
    """:func:`fingerprint` of the profile's host, with its TLS, CA, proxy and timeout; for
    the token kinds, with the bearer probe."""
    profile = resolved.profile
    return fingerprint(
        resolved.host,
        profile=resolved.name,
        verify_tls=profile.verify_tls,
        ca_bundle=profile.ca_bundle,
        proxy=profile.proxy,
        timeout=min(profile.timeout, 10.0),
        bearer=resolved.kind in BEARER_KINDS,
    )
