"""Elyra runtime files and KFP SDK context files, written as those tools write them.

The runtime files follow Elyra's published ``kfp`` runtime schema (schema_name,
display_name, and a metadata object with api_endpoint, user_namespace, engine,
auth_type, api_username, api_password and the cos_* fields of the object store);
they are written here, field by field, not copied from Elyra. Like every file a
user owns, each is 0600 in folders only the user can write.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

#: Passwords and a token that must land in the keyring and nowhere else.
DEX_SECRET = "dex-Pa55word-1f8e"
LDAP_SECRET = "ldap-Pa55word-93c2"
LEGACY_SECRET = "legacy-Pa55word-7a01"
OLD_SECRET = "pre33-Pa55word-55d0"
BEARER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
SA_LEFTOVER = "sa-leftover-Pa55-0b3e"
COS_SECRET = "minio-Secret-k3y-77"
SECRETS = (
    DEX_SECRET,
    LDAP_SECRET,
    LEGACY_SECRET,
    OLD_SECRET,
    BEARER_TOKEN,
    SA_LEFTOVER,
    COS_SECRET,
)

GATEWAY = "https://kubeflow.example.com/pipeline"
IN_CLUSTER = "http://ml-pipeline-ui.kubeflow.svc.cluster.local"


@pytest.fixture(autouse=True)
def no_elyra_of_the_developer(monkeypatch: pytest.MonkeyPatch, profiles_path: Path) -> None:
    """Keep the developer's Jupyter and Elyra folders out of the test (a module that imports
    this fixture uses it in every test), and its profiles file (``profiles_path``)."""
    for name in ("ELYRA_METADATA_PATH", "JUPYTER_DATA_DIR", "XDG_DATA_HOME", "JUPYTER_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)


def private_folder(path: Path) -> Path:
    """``path`` and its missing parents, each 0700 (only the user can write them)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
    return path


def write_json(path: Path, data: Any) -> Path:
    private_folder(path.parent)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def runtime(
    folder: Path,
    stem: str,
    *,
    auth_type: str | None,
    endpoint: str = GATEWAY,
    namespace: str | None = "team-a",
    username: str | None = None,
    password: str | None = None,
    display: str | None = None,
    schema: str = "kfp",
) -> Path:
    """A runtime configuration as Elyra's Runtimes panel saves it (auth_type None: pre-3.3)."""
    metadata: dict[str, Any] = {
        "api_endpoint": endpoint,
        "engine": "Argo",
        "cos_endpoint": "http://minio-service.kubeflow:9000",
        "cos_bucket": "elyra-artifacts",
        "cos_auth_type": "USER_CREDENTIALS",
        "cos_username": "minio",
        "cos_password": COS_SECRET,
        "tags": [],
    }
    if namespace is not None:
        metadata["user_namespace"] = namespace
    if auth_type is not None:
        metadata["auth_type"] = auth_type
    if username is not None:
        metadata["api_username"] = username
    if password is not None:
        metadata["api_password"] = password
    data = {"display_name": display or stem, "schema_name": schema, "metadata": metadata}
    return write_json(folder / f"{stem}.json", data)


def every_kind_of_runtime(folder: Path) -> dict[str, Path]:
    """One runtime per auth_type, a pre-3.3 one of each meaning, Airflow's and a broken one."""
    return {
        "open": runtime(folder, "open", auth_type="NO_AUTHENTICATION", endpoint=IN_CLUSTER),
        "dex": runtime(
            folder,
            "dex",
            auth_type="DEX_STATIC_PASSWORDS",
            username="user@example.com",
            password=DEX_SECRET,
            display="Kubeflow (Dex)",
        ),
        "legacy": runtime(
            folder,
            "legacy",
            auth_type="DEX_LEGACY",
            username="old@example.com",
            password=LEGACY_SECRET,
        ),
        "ldap": runtime(
            folder, "ldap", auth_type="DEX_LDAP", username="jdoe", password=LDAP_SECRET
        ),
        "pod": runtime(
            folder,
            "pod",
            auth_type="KUBERNETES_SERVICE_ACCOUNT_TOKEN",
            endpoint=IN_CLUSTER,
            password=SA_LEFTOVER,
        ),
        "ci": runtime(folder, "ci", auth_type="EXISTING_BEARER_TOKEN", password=BEARER_TOKEN),
        "old-dex": runtime(
            folder, "old-dex", auth_type=None, username="older@example.com", password=OLD_SECRET
        ),
        "old-open": runtime(folder, "old-open", auth_type=None, endpoint=IN_CLUSTER),
        "airflow": runtime(folder, "airflow", auth_type=None, schema="airflow"),
        "broken": write_broken(folder / "broken.json"),
    }


def write_broken(path: Path) -> Path:
    private_folder(path.parent)
    path.write_text('{"schema_name": "kfp", "metadata": {\n', encoding="utf-8")
    path.chmod(0o600)
    return path


def snapshot(paths: list[Path]) -> dict[Path, tuple[bytes, int]]:
    """Each file's bytes and mtime (ns), to show a reader left them as they were."""
    return {path: (path.read_bytes(), os.stat(path).st_mtime_ns) for path in paths}


def runtimes_folder(home: Path) -> Path:
    """Where Elyra keeps runtimes on Linux with no JUPYTER_DATA_DIR."""
    return home / ".local" / "share" / "jupyter" / "metadata" / "runtimes"
