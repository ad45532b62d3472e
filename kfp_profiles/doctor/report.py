"""The doctor's report: every finding about this machine and a profile or host, in order."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..constants import PROFILE_ENV
from ..errors import ConnectionFailedError, KfpProfilesError
from ..models import PlatformOidc, StandalonePortForward
from .bearer import bearer_finding, oidc_findings, profile_token_finding
from .findings import Finding, Status
from .fingerprint import BEARER_KINDS, FrontDoor, fingerprint, fingerprint_profile
from .machine import check_files, check_in_cluster, check_keyring, check_kubectl, in_a_pod
from .token import describe_token_file, token_path_in_use

if TYPE_CHECKING:
    from pathlib import Path

    from ..resolution import ResolvedProfile

__all__ = ["describe_door", "render_suggestion", "run_doctor"]


def run_doctor(
    name: str | None,
    *,
    host: str | None = None,
    probe: bool = True,
    files: tuple[Path, ...] | None = None,
    files_chosen_by: str | None = None,
    timeout: float | None = None,
) -> Iterator[Finding]:
    """Every finding, in report order; profile-specific ones for ``name`` (or the selected one).

    ``files`` are the profiles files to check (default: KFP_PROFILES_FILE's, else the
    default location), and ``files_chosen_by`` says who chose them, for the report.
    ``timeout`` bounds the probe of ``host`` (default 10 s; a profile's host is probed
    within the profile's own ``timeout``).
    """
    from ..resolution import resolve

    file_findings, loaded = check_files(files, files_chosen_by)
    yield from file_findings
    yield check_keyring()
    yield check_in_cluster()

    resolved: ResolvedProfile | None = None
    problem: KfpProfilesError | None = None
    if isinstance(loaded, KfpProfilesError):
        problem = loaded
    else:
        try:
            resolved = resolve(name, config=loaded)
        except KfpProfilesError as exc:
            problem = exc
    if resolved is not None:
        yield Finding("profile", "ok", f"{resolved.name} ({resolved.kind}) -> {resolved.host}")
    else:
        # A profile asked for, by argument or KFP_PROFILE, that does not resolve makes
        # get_client() fail: a failure. With none asked for, nothing selected is a note.
        status: Status = "fail" if name or os.environ.get(PROFILE_ENV) else "info"
        yield Finding("profile", status, str(problem))
    yield describe_token_file(token_path_in_use(resolved))
    if resolved is not None and resolved.kind in BEARER_KINDS:
        yield profile_token_finding(resolved)
    kubectl = "kubectl"
    if resolved is not None and isinstance(resolved.profile, StandalonePortForward):
        kubectl = resolved.profile.kubectl
    yield check_kubectl(kubectl)

    if not probe:
        return
    url = host
    if url is None and resolved is not None:
        if resolved.kind == "platform-in-cluster" and not in_a_pod():
            yield Finding(
                "front door", "info", "not probed: the profile's host is reached from pods"
            )
            return
        url = resolved.host
    if url is not None:
        yield from _front_door_findings(url, resolved if host is None else None, timeout)


def _front_door_findings(
    url: str, resolved: ResolvedProfile | None, timeout: float | None = None
) -> Iterator[Finding]:
    """The fingerprint of ``url`` (the host of ``resolved`` when given) and what it suggests."""
    try:
        if resolved is not None:
            door = fingerprint_profile(resolved)
        else:
            door = fingerprint(url) if timeout is None else fingerprint(url, timeout=timeout)
    except ConnectionFailedError as exc:
        cause = f"nothing answers at {url}: {exc.fields.get('cause', exc)}"
        if resolved is not None and resolved.forward_is_managed:
            yield Finding(
                "front door",
                "info",
                f"{cause}; get_client starts the port-forward when needed "
                f"(or run `kfp-profiles port-forward {resolved.name}`)",
            )
        else:
            yield Finding("front door", "fail", cause)
        return
    except KfpProfilesError as exc:
        yield Finding("front door", "fail", str(exc))
        return
    status: Status = "warn" if door.door == "unknown" else "ok"
    for line in describe_door(door):
        yield Finding("front door", status, line)
    takes_bearer = False
    if resolved is not None and door.bearer is not None:
        found = bearer_finding(door, resolved)
        takes_bearer = found.status == "ok"
        yield found
    if resolved is not None and isinstance(resolved.profile, PlatformOidc):
        yield from oidc_findings(resolved)
    suggested = door.suggestion()
    if suggested and not takes_bearer:
        mismatch = resolved is not None and resolved.kind != suggested["kind"]
        yield Finding(
            "suggests",
            "warn" if mismatch else "info",
            "; ".join(render_suggestion(suggested))
            + (f" (the profile is of kind {resolved.kind})" if mismatch and resolved else ""),
        )


def describe_door(door: FrontDoor) -> list[str]:
    """The fingerprint as report lines."""
    lines = [f"{door.url}: {door.door} ({door.description})", f"seen: {door.evidence}"]
    if door.door == "none":
        mode = {True: "multi-user", False: "single-user", None: "mode unknown"}[door.multi_user]
        version = f", KFP {door.kfp_version}" if door.kfp_version else ""
        lines.append(f"KFP: {mode}{version}")
    if door.approval is not None:
        offered = ", ".join(door.connectors) if door.connectors else "none seen"
        old = "; old Dex paths (v2.28 or earlier)" if door.old_dex_paths else ""
        lines.append(f"Dex connectors: {offered}; approval page: {door.approval}{old}")
    return lines


def render_suggestion(suggested: dict[str, Any]) -> list[str]:
    """TOML lines for the suggested profile fields."""
    lines = []
    for key, value in suggested.items():
        rendered = json.dumps(value) if isinstance(value, str) else str(value).lower()
        lines.append(f"{key} = {rendered}")
    return lines
