"""Checks of this machine: the profiles files, the keyring, whether this is a pod, kubectl."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from ..constants import KUBERNETES_HOST_ENV, POD_NAMESPACE_PATH, PROFILES_FILE_ENV
from ..errors import KfpProfilesError
from .findings import Finding, Status

if TYPE_CHECKING:
    from ..files import ProfilesConfig

__all__ = ["check_files", "check_in_cluster", "check_keyring", "check_kubectl", "in_a_pod"]

_KUBECTL_TIMEOUT = 10.0


def check_files(
    files: tuple[Path, ...] | None = None, chosen_by: str | None = None
) -> tuple[list[Finding], ProfilesConfig | KfpProfilesError]:
    """The profiles files in use: found, permissions, profiles, broken ones, default.

    Also returns the loaded profiles (or why they did not load), so that the
    profile is resolved from what was checked, without reading the files again.
    """
    from ..files import check_permissions, load_config, profile_files
    from ..models import validate_profile

    findings: list[Finding] = []
    if chosen_by is None:
        from_env = os.environ.get(PROFILES_FILE_ENV)
        chosen_by = f"from {PROFILES_FILE_ENV}" if from_env else "the default location"
    files = files if files is not None else profile_files()
    for path in files:
        if not path.exists():
            findings.append(
                Finding(
                    "file", "warn", f"{path} ({chosen_by}) does not exist: run `kfp-profiles init`"
                )
            )
            continue
        try:
            permissions = check_permissions(path, warn=False)  # reported here, not logged
        except KfpProfilesError as exc:
            findings.append(Finding("file", "fail", str(exc)))
            continue
        mode = permissions.mode
        if permissions.readable_by_others and permissions.can_chmod:
            findings.append(
                Finding(
                    "file",
                    "warn",
                    f"{path} is mode {mode:04o}, readable by others: run `chmod 600 {path}`",
                )
            )
        else:
            found = f"{path} ({chosen_by}), mode {mode:04o}"
            if permissions.read_only:
                found += ", on a read-only mount (its mode is set where it is mounted)"
            elif not permissions.can_chmod:
                found += ", owned by root (only root can change it)"
            findings.append(Finding("file", "ok", found))
    try:
        config = load_config(files)
    except KfpProfilesError as exc:
        findings.append(Finding("profiles", "fail", str(exc)))
        return findings, exc
    broken = 0
    for name, entry in config.profiles.items():
        try:
            validate_profile(name, entry.data, str(entry.file))
        except KfpProfilesError as exc:
            broken += 1
            findings.append(Finding("profiles", "fail", str(exc)))
    default = f"default '{config.default}'" if config.default else "no default"
    if config.default and config.default not in config.profiles:
        findings.append(
            Finding("profiles", "fail", f"the default '{config.default}' is not a profile")
        )
    status: Status = "ok" if not broken else "warn"
    count = len(config.profiles)
    findings.append(
        Finding(
            "profiles",
            status,
            f"{count} profile{'s' if count != 1 else ''}, {broken} broken, {default}",
        )
    )
    return findings, config


def check_keyring() -> Finding:
    """Which keyring backend answers, without reading any secret.

    A missing keyring is a warning, not a failure: the variables work without one.
    """
    from .. import secrets
    from ..errors import KeyringUnavailableError

    fix = (
        "secrets must come from variables (KFP_PASSWORD, KFP_TOKEN, KFP_CLIENT_SECRET) and "
        "sessions are cached in 0600 files; start a Secret Service or choose a backend with "
        "PYTHON_KEYRING_BACKEND to store them"
    )
    try:
        backend = secrets.backend_name()
        secrets.keyring_get(secrets.PASSWORD_SERVICE, "kfp-profiles-doctor-probe")
    except KeyringUnavailableError as exc:
        return Finding("keyring", "warn", f"unusable ({exc.fields['reason']}): {fix}")
    except Exception as exc:  # a backend failing in a way keyring does not wrap
        return Finding("keyring", "warn", f"unusable ({secrets.failure_reason(exc)}): {fix}")
    if secrets.stores_nothing():
        return Finding("keyring", "warn", f"{backend} stores nothing: {fix}")
    return Finding("keyring", "ok", f"{backend} answers")


def in_a_pod() -> bool:
    """True when Kubernetes set its API server's address in this environment."""
    return bool(os.environ.get(KUBERNETES_HOST_ENV))


def check_in_cluster() -> Finding:
    try:
        namespace = Path(POD_NAMESPACE_PATH).read_text(encoding="utf-8").strip()
    except OSError:
        namespace = ""
    if in_a_pod() or namespace:
        where = f"namespace {namespace}" if namespace else "namespace unknown"
        return Finding("in-cluster", "info", f"in a pod ({where})")
    return Finding("in-cluster", "info", f"not in a pod ({KUBERNETES_HOST_ENV} is unset)")


def check_kubectl(executable: str = "kubectl") -> Finding:
    """kubectl's version and contexts, read from the kubeconfig only (no cluster is asked)."""
    found = shutil.which(executable)
    if found is None:
        return Finding(
            "kubectl",
            "info",
            f"'{executable}' is not on PATH (needed by port-forward profiles only)",
        )

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(
                [found, *args],
                capture_output=True,
                text=True,
                timeout=_KUBECTL_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    version = "version unknown"
    reported = run("version", "--client", "-o", "json")
    if reported:
        client = _json_object(reported).get("clientVersion")
        if isinstance(client, dict) and client.get("gitVersion"):
            version = str(client["gitVersion"])
    contexts = (run("config", "get-contexts", "-o", "name") or "").split()
    current = run("config", "current-context")
    if contexts:
        listed = ", ".join(f"{c} (current)" if c == current else c for c in contexts)
        return Finding("kubectl", "ok", f"{found} {version}; contexts: {listed}")
    return Finding("kubectl", "warn", f"{found} {version}; no contexts in the kubeconfig")


def _json_object(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
