"""`kfp-profiles import` through the console script (cli/importing.py), with its exact output.

Real runtime and context files (tests/importing_files.py), the real Secret Service
keyring of the `keyring_backend` fixture, which the subprocesses inherit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cli
from tests.importing_files import (
    DEX_SECRET,
    GATEWAY,
    IN_CLUSTER,
    no_elyra_of_the_developer,  # noqa: F401 (an autouse fixture)
    runtime,
    runtimes_folder,
    snapshot,
    write_broken,
    write_json,
)


def three_runtimes(home: Path) -> Path:
    folder = runtimes_folder(home)
    runtime(
        folder,
        "prod",
        auth_type="DEX_STATIC_PASSWORDS",
        username="user@example.com",
        password=DEX_SECRET,
        display="Production",
    )
    runtime(folder, "in-pod", auth_type="NO_AUTHENTICATION", endpoint=IN_CLUSTER)
    runtime(folder, "nightly", auth_type=None, schema="airflow")
    return folder


@pytest.mark.keyring
def test_import_twice_prints_each_runtime_and_changes_nothing_the_second_time(
    isolated_home: Path, profiles_path: Path, keyring_backend: Any
) -> None:
    folder = three_runtimes(isolated_home)
    sources = snapshot(sorted(folder.iterdir()))

    done = cli("import")

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"Elyra runtimes in {folder}:\n"
        "  in-pod.json: added profile 'in-pod'; made the default\n"
        "  nightly.json: skipped: an Airflow runtime, not Kubeflow Pipelines\n"
        "  prod.json: added profile 'prod'; its password is in the keyring "
        "(service kfp-profiles, user prod)\n"
        f"2 added, 1 skipped (profiles file {profiles_path}).\n"
    )
    assert keyring_backend.get_password("kfp-profiles", "prod") == DEX_SECRET
    written = snapshot([profiles_path])
    assert profiles_path.read_text(encoding="utf-8") == (
        'default = "in-pod"\n'
        "\n"
        "[profiles.in-pod]\n"
        'kind = "standalone-in-cluster"\n'
        f'host = "{IN_CLUSTER}"\n'
        'namespace = "team-a"\n'
        'description = "in-pod"\n'
        "\n"
        "[profiles.prod]\n"
        'kind = "platform-dex"\n'
        f'host = "{GATEWAY}"\n'
        'namespace = "team-a"\n'
        'username = "user@example.com"\n'
        'description = "Production"\n'
    )

    again = cli("import")

    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout == (
        f"Elyra runtimes in {folder}:\n"
        "  in-pod.json: profile 'in-pod' unchanged\n"
        "  nightly.json: skipped: an Airflow runtime, not Kubeflow Pipelines\n"
        "  prod.json: profile 'prod' unchanged\n"
        f"2 unchanged, 1 skipped (profiles file {profiles_path}).\n"
    )
    assert snapshot([profiles_path]) == written
    assert snapshot(sorted(folder.iterdir())) == sources
    for text in (done.stdout, again.stdout, profiles_path.read_text(encoding="utf-8")):
        assert DEX_SECRET not in text


@pytest.mark.keyring
def test_dry_run_prints_the_toml_and_the_masked_keyring_entries(
    isolated_home: Path, profiles_path: Path, keyring_backend: Any
) -> None:
    folder = three_runtimes(isolated_home)

    done = cli("import", "--dry-run")

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"Elyra runtimes in {folder}:\n"
        "  in-pod.json: would add profile 'in-pod'\n"
        "      [profiles.in-pod]\n"
        '      kind = "standalone-in-cluster"\n'
        f'      host = "{IN_CLUSTER}"\n'
        '      namespace = "team-a"\n'
        '      description = "in-pod"\n'
        "  nightly.json: skipped: an Airflow runtime, not Kubeflow Pipelines\n"
        "  prod.json: would add profile 'prod'; its password would go to the keyring "
        "(service kfp-profiles, user prod)\n"
        "      [profiles.prod]\n"
        '      kind = "platform-dex"\n'
        f'      host = "{GATEWAY}"\n'
        '      namespace = "team-a"\n'
        '      username = "user@example.com"\n'
        '      description = "Production"\n'
        f"Dry run, nothing written: 2 would add, 1 skipped (profiles file {profiles_path}).\n"
    )
    assert not profiles_path.exists()
    assert keyring_backend.get_password("kfp-profiles", "prod") is None


@pytest.mark.keyring
def test_other_values_are_skipped_with_the_fix_and_overwrite_replaces(
    isolated_home: Path, profiles_path: Path, keyring_backend: Any
) -> None:
    folder = runtimes_folder(isolated_home)
    runtime(folder, "prod", auth_type="DEX_LDAP", username="jdoe", password=DEX_SECRET)
    assert cli("import").returncode == 0
    runtime(folder, "prod", auth_type="DEX_LDAP", username="jane", password=DEX_SECRET)

    skipped = cli("import")

    assert (skipped.returncode, skipped.stderr) == (0, "")
    assert skipped.stdout.splitlines()[1:] == [
        f"  prod.json: skipped: profile 'prod' in {profiles_path} has other values; "
        "pass --overwrite to replace it",
        f"1 skipped (profiles file {profiles_path}).",
    ]
    assert 'username = "jdoe"' in profiles_path.read_text(encoding="utf-8")

    replaced = cli("import", "--overwrite")

    assert replaced.stdout.splitlines()[1:] == [
        "  prod.json: replaced profile 'prod'",
        f"1 replaced (profiles file {profiles_path}).",
    ]
    assert 'username = "jane"' in profiles_path.read_text(encoding="utf-8")
    assert keyring_backend.get_password("kfp-profiles", "prod") == DEX_SECRET


def test_a_broken_runtime_is_named_the_rest_imported_and_the_status_is_2(
    isolated_home: Path, profiles_path: Path
) -> None:
    folder = runtimes_folder(isolated_home)
    broken = write_broken(folder / "broken.json")
    runtime(folder, "in-pod", auth_type="NO_AUTHENTICATION", endpoint=IN_CLUSTER)

    done = cli("import")

    assert (done.returncode, done.stderr) == (2, "")
    assert done.stdout == (
        f"Elyra runtimes in {folder}:\n"
        f"  broken.json: failed: Elyra runtime {broken} is not a runtime configuration (not "
        "JSON: Expecting property name enclosed in double quotes at line 2 column 1), so it "
        "was not imported; fix or remove it in Elyra's Runtimes panel and import again.\n"
        "  in-pod.json: added profile 'in-pod'; made the default\n"
        f"1 added, 1 failed (profiles file {profiles_path}).\n"
    )


def test_no_runtimes_says_where_it_looked(isolated_home: Path, tmp_path: Path) -> None:
    done = cli("import", env={"ELYRA_METADATA_PATH": str(tmp_path / "elyra")})

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"No Elyra runtimes found in {tmp_path / 'elyra' / 'metadata' / 'runtimes'}, "
        f"{runtimes_folder(isolated_home)} (set ELYRA_METADATA_PATH or JUPYTER_DATA_DIR if "
        "they are elsewhere).\n"
    )


# --- the SDK's context.json -----------------------------------------------------------------


def test_context_json_needs_a_host(isolated_home: Path, profiles_path: Path) -> None:
    source = write_json(isolated_home / ".config" / "kfp" / "context.json", {"namespace": "ns"})

    done = cli("import", "--from-kfp-context")

    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"kfp-profiles: error: {source} holds no host (the KFP SDK keeps only a namespace and "
        "cookies there): pass --host with the Kubeflow Pipelines URL, or set "
        "KF_PIPELINES_ENDPOINT.\n"
    )
    assert not profiles_path.exists()


def test_context_json_with_host_and_username_is_a_dex_profile(
    isolated_home: Path, profiles_path: Path
) -> None:
    source = write_json(
        isolated_home / ".config" / "kfp" / "context.json",
        {"namespace": "team-b", "client_authentication_cookie": "authservice_session=c00k1e"},
    )

    done = cli(
        "import", "--from-kfp-context", "--host", GATEWAY, "--username", "u@example.com",
        "--name", "team-b",
    )  # fmt: skip

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"The KFP SDK's context in {source.parent}:\n"
        "  context.json: added profile 'team-b'; its cookies and headers were not imported: a "
        "login makes a new session; made the default\n"
        f"1 added (profiles file {profiles_path}).\n"
    )
    text = profiles_path.read_text(encoding="utf-8")
    assert 'kind = "platform-dex"' in text and "c00k1e" not in text


def test_context_options_without_from_kfp_context_are_refused(profiles_path: Path) -> None:
    done = cli("import", "--username", "u@example.com")

    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "kfp-profiles: error: --username applies to the KFP SDK's context.json only: pass "
        "--from-kfp-context with it, or leave it out to import Elyra's runtimes.\n"
    )
