"""`import_profiles()` (kfp_profiles/importing.py): Elyra runtimes and context.json as profiles.

Real files on disk (tests/importing_files.py writes them from Elyra's runtime schema
and the SDK's context.json keys) and the real Secret Service keyring of the
`keyring_backend` fixture: every password and token lands there and nowhere else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles import errors
from kfp_profiles.files import load_config
from kfp_profiles.importing import (
    ImportReport,
    elyra_runtime_folders,
    import_profiles,
    jupyter_data_dir,
)
from tests.importing_files import (
    BEARER_TOKEN,
    DEX_SECRET,
    GATEWAY,
    IN_CLUSTER,
    LDAP_SECRET,
    LEGACY_SECRET,
    OLD_SECRET,
    SECRETS,
    every_kind_of_runtime,
    no_elyra_of_the_developer,  # noqa: F401 (an autouse fixture)
    runtime,
    runtimes_folder,
    snapshot,
    write_broken,
    write_json,
)


def statuses(report: ImportReport) -> dict[str, str]:
    return {result.source.stem: result.status for result in report.results}


def profiles(path: Path) -> dict[str, dict[str, Any]]:
    return {name: dict(entry.data) for name, entry in load_config((path,)).profiles.items()}


def everything_said(report: ImportReport) -> str:
    """Every text the report holds: reprs, notes, errors and their causes."""
    parts = [repr(report)]
    for result in report.results:
        parts += [str(result.toml), *result.notes, str(result.reason)]
        if result.error is not None:
            parts += [str(result.error), result.error.cli_message, repr(result.error.args)]
            parts += [repr(result.error.__cause__), repr(result.error.__context__)]
    return "\n".join(parts)


# --- Elyra: every auth_type -----------------------------------------------------------------


@pytest.mark.keyring
def test_every_auth_type_becomes_its_kind_and_secrets_go_to_the_keyring_only(
    isolated_home: Path, profiles_path: Path, keyring_backend: Any
) -> None:
    folder = runtimes_folder(isolated_home)
    sources = every_kind_of_runtime(folder)
    before = snapshot(list(sources.values()))

    report = import_profiles()

    assert report.looked_in == (folder,)
    assert statuses(report) == {
        "airflow": "skipped",
        "broken": "failed",
        "ci": "added",
        "dex": "added",
        "ldap": "added",
        "legacy": "added",
        "old-dex": "added",
        "old-open": "added",
        "open": "added",
        "pod": "added",
    }
    dex = {"host": GATEWAY, "namespace": "team-a"}
    assert profiles(profiles_path) == {
        "ci": {"kind": "platform-token", **dex, "description": "ci"},
        "dex": {
            "kind": "platform-dex",
            **dex,
            "username": "user@example.com",
            "description": "Kubeflow (Dex)",
        },
        "ldap": {
            "kind": "platform-dex",
            **dex,
            "username": "jdoe",
            "connector": "ldap",
            "description": "ldap",
        },
        "legacy": {
            "kind": "platform-dex",
            **dex,
            "username": "old@example.com",
            "description": "legacy",
        },
        "old-dex": {
            "kind": "platform-dex",
            **dex,
            "username": "older@example.com",
            "description": "old-dex",
        },
        "old-open": {
            "kind": "standalone-in-cluster",
            "host": IN_CLUSTER,
            "namespace": "team-a",
            "description": "old-open",
        },
        "open": {
            "kind": "standalone-in-cluster",
            "host": IN_CLUSTER,
            "namespace": "team-a",
            "description": "open",
        },
        "pod": {
            "kind": "platform-in-cluster",
            "host": IN_CLUSTER,
            "namespace": "team-a",
            "description": "pod",
        },
    }
    stored = {
        name: keyring_backend.get_password("kfp-profiles", name)
        for name in ("ci", "dex", "ldap", "legacy", "old-dex", "old-open", "open", "pod")
    }
    assert stored == {
        "ci": BEARER_TOKEN,
        "dex": DEX_SECRET,
        "ldap": LDAP_SECRET,
        "legacy": LEGACY_SECRET,
        "old-dex": OLD_SECRET,
        "old-open": None,
        "open": None,
        "pod": None,  # a ServiceAccount runtime's leftover api_password is not a secret it uses
    }
    by_stem = {result.source.stem: result for result in report.results}
    assert by_stem["ci"].secret == "token"
    assert by_stem["dex"].notes == (
        "its password is in the keyring (service kfp-profiles, user dex)",
    )
    assert by_stem["airflow"].reason == "an Airflow runtime, not Kubeflow Pipelines"
    broken = by_stem["broken"].error
    assert isinstance(broken, errors.ElyraRuntimeFormatError)
    assert broken.exit_code == 2
    assert str(broken) == (
        f"Elyra runtime {sources['broken']} is not a runtime configuration (not JSON: Expecting "
        "property name enclosed in double quotes at line 2 column 1), so it was not imported; "
        "fix or remove it in Elyra's Runtimes panel and import again."
    )
    written = profiles_path.read_text(encoding="utf-8")
    said = everything_said(report)
    for secret in SECRETS:
        assert secret not in written
        assert secret not in said
    assert snapshot(list(sources.values())) == before  # the files read are left as they were


@pytest.mark.keyring
def test_a_second_import_changes_nothing(
    isolated_home: Path, profiles_path: Path, keyring_backend: Any
) -> None:
    every_kind_of_runtime(runtimes_folder(isolated_home))
    import_profiles()
    written = snapshot([profiles_path])

    again = import_profiles()

    assert set(statuses(again).values()) == {"unchanged", "skipped", "failed"}
    assert again.counts == {"unchanged": 8, "skipped": 1, "failed": 1}
    assert snapshot([profiles_path]) == written
    assert keyring_backend.get_password("kfp-profiles", "dex") == DEX_SECRET


@pytest.mark.keyring
def test_dry_run_writes_nothing_and_shows_what_would_be_written(
    isolated_home: Path, profiles_path: Path, keyring_backend: Any
) -> None:
    folder = runtimes_folder(isolated_home)
    runtime(folder, "dex", auth_type="DEX_LDAP", username="jdoe", password=LDAP_SECRET)

    report = import_profiles(dry_run=True)

    assert not profiles_path.exists()
    assert keyring_backend.get_password("kfp-profiles", "dex") is None
    (result,) = report.results
    assert (result.status, report.dry_run) == ("added", True)
    assert result.toml == (
        "[profiles.dex]\n"
        'kind = "platform-dex"\n'
        f'host = "{GATEWAY}"\n'
        'namespace = "team-a"\n'
        'username = "jdoe"\n'
        'connector = "ldap"\n'
        'description = "dex"\n'
    )
    assert result.notes == (
        "its password would go to the keyring (service kfp-profiles, user dex)",
    )
    assert LDAP_SECRET not in everything_said(report)


@pytest.mark.keyring
def test_other_values_are_skipped_until_overwrite(
    isolated_home: Path, profiles_path: Path, keyring_backend: Any
) -> None:
    folder = runtimes_folder(isolated_home)
    source = runtime(folder, "dex", auth_type="DEX_STATIC_PASSWORDS", username="a", password="pw-1")
    import_profiles()
    runtime(folder, "dex", auth_type="DEX_STATIC_PASSWORDS", username="b", password="pw-2")
    assert source.exists()

    (skipped,) = import_profiles().results
    assert (skipped.status, skipped.conflict) == ("skipped", True)
    assert skipped.reason == f"profile 'dex' in {profiles_path} has other values"
    assert profiles(profiles_path)["dex"]["username"] == "a"
    assert keyring_backend.get_password("kfp-profiles", "dex") == "pw-1"

    (replaced,) = import_profiles(overwrite=True).results
    assert replaced.status == "replaced"
    assert profiles(profiles_path)["dex"]["username"] == "b"
    assert keyring_backend.get_password("kfp-profiles", "dex") == "pw-2"


@pytest.mark.keyring
def test_a_password_changed_in_elyra_alone_is_a_conflict_too(
    isolated_home: Path, keyring_backend: Any
) -> None:
    folder = runtimes_folder(isolated_home)
    runtime(folder, "dex", auth_type="DEX_LEGACY", username="a", password="pw-1")
    import_profiles()
    runtime(folder, "dex", auth_type="DEX_LEGACY", username="a", password="pw-2")

    (skipped,) = import_profiles().results
    assert skipped.reason == f"profile 'dex' in {load_config().files[0]} has another password"
    assert keyring_backend.get_password("kfp-profiles", "dex") == "pw-1"
    keyring_backend.delete_password("kfp-profiles", "dex")

    (updated,) = import_profiles().results  # the same values, and no password stored yet
    assert updated.status == "updated"
    assert keyring_backend.get_password("kfp-profiles", "dex") == "pw-2"


@pytest.mark.usefixtures("no_keyring")
def test_without_a_keyring_the_profile_is_written_and_the_fix_said(
    isolated_home: Path, profiles_path: Path
) -> None:
    runtime(
        runtimes_folder(isolated_home),
        "ci",
        auth_type="EXISTING_BEARER_TOKEN",
        password=BEARER_TOKEN,
    )

    (result,) = import_profiles().results

    assert result.status == "added"
    assert result.notes == (
        "made the default",
        "its token is not stored (NoKeyringError: No recommended backend was available): "
        "store it with `kfp-profiles secret set ci`",
    )
    assert profiles(profiles_path)["ci"]["kind"] == "platform-token"
    assert BEARER_TOKEN not in profiles_path.read_text(encoding="utf-8")


def test_unusable_names_are_renamed_and_said(isolated_home: Path, profiles_path: Path) -> None:
    folder = runtimes_folder(isolated_home)
    runtime(folder, "My KFP (prod)", auth_type="NO_AUTHENTICATION")
    runtime(folder, "My-KFP-prod-", auth_type="NO_AUTHENTICATION")

    results = import_profiles().results

    assert [(r.source.name, r.profile, r.notes) for r in results] == [
        (
            "My KFP (prod).json",
            "My-KFP-prod-",
            (
                "renamed from 'My KFP (prod)', which is not a usable profile name",
                "made the default",
            ),
        ),
        ("My-KFP-prod-.json", "My-KFP-prod--2", ("renamed from 'My-KFP-prod-', which is taken",)),
    ]
    assert sorted(profiles(profiles_path)) == ["My-KFP-prod-", "My-KFP-prod--2"]


def test_an_unknown_auth_type_fails_that_runtime_only(isolated_home: Path) -> None:
    folder = runtimes_folder(isolated_home)
    odd = runtime(folder, "odd", auth_type="KERBEROS")
    runtime(folder, "open", auth_type="NO_AUTHENTICATION")

    report = import_profiles()

    assert statuses(report) == {"odd": "failed", "open": "added"}
    error = report.results[0].error
    assert isinstance(error, errors.ElyraAuthTypeError)
    assert str(error) == (
        f"Elyra runtime {odd} has auth_type 'KERBEROS', which kfp-profiles cannot map (it knows "
        "NO_AUTHENTICATION, DEX_STATIC_PASSWORDS, DEX_LEGACY, DEX_LDAP, "
        "KUBERNETES_SERVICE_ACCOUNT_TOKEN, EXISTING_BEARER_TOKEN); add this profile with "
        "`kfp-profiles add`."
    )


def test_a_runtime_that_is_no_profile_fails_naming_the_runtime_file(isolated_home: Path) -> None:
    folder = runtimes_folder(isolated_home)
    bad = runtime(folder, "bad", auth_type="DEX_STATIC_PASSWORDS", endpoint="kubeflow:80")

    (result,) = import_profiles().results

    assert isinstance(result.error, errors.ProfileValidationError)
    assert str(result.error).startswith(f"Profile 'bad' in Elyra runtime {bad}: `host` = ")


def test_an_unreadable_runtime_is_named_and_the_rest_imported(isolated_home: Path) -> None:
    folder = runtimes_folder(isolated_home)
    locked = folder / "locked.json"
    locked.mkdir(mode=0o700, parents=True)  # unreadable as a file, even by root
    runtime(folder, "open", auth_type="NO_AUTHENTICATION")

    report = import_profiles()

    assert statuses(report) == {"locked": "failed", "open": "added"}
    assert str(report.results[0].error) == (
        f"Elyra runtime {locked} cannot be read (Is a directory), so it was not imported; "
        "make it readable by this user and import again."
    )


def test_no_runtimes_is_an_empty_report_saying_where_it_looked(isolated_home: Path) -> None:
    report = import_profiles()
    assert report.results == ()
    assert report.looked_in == (runtimes_folder(isolated_home),)


def test_elyra_metadata_path_comes_first_and_its_runtimes_win(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "team", tmp_path / "shared"
    monkeypatch.setenv("ELYRA_METADATA_PATH", f"{first}{os.pathsep}{second}")
    mine = runtime(first / "metadata" / "runtimes", "kfp", auth_type="NO_AUTHENTICATION")
    theirs = runtime(
        runtimes_folder(isolated_home), "kfp", auth_type="NO_AUTHENTICATION", endpoint=IN_CLUSTER
    )

    report = import_profiles()

    assert report.looked_in == (
        first / "metadata" / "runtimes",
        second / "metadata" / "runtimes",
        runtimes_folder(isolated_home),
    )
    assert [(r.source, r.status, r.reason) for r in report.results] == [
        (mine, "added", None),
        (theirs, "skipped", f"Elyra uses {mine} instead"),
    ]


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({"HOME": "/h"}, "linux", "/h/.local/share/jupyter"),
        ({"HOME": "/h", "XDG_DATA_HOME": "/x"}, "linux", "/x/jupyter"),
        ({"HOME": "/h", "JUPYTER_DATA_DIR": "/j"}, "linux", "/j"),
        ({"HOME": "/h"}, "darwin", "/h/Library/Jupyter"),
        ({"HOME": "/h", "APPDATA": "/a"}, "win32", "/a/jupyter"),
        ({"HOME": "/h"}, "win32", "/h/.jupyter/data"),
    ],
)
def test_jupyter_data_dir_follows_jupyter_core(
    env: dict[str, str], platform: str, expected: str
) -> None:
    assert jupyter_data_dir(env, platform) == Path(expected)


def test_runtime_folders_without_elyra_metadata_path() -> None:
    assert elyra_runtime_folders({"HOME": "/h"}) == (
        Path("/h/.local/share/jupyter/metadata/runtimes"),
    )


def test_context_options_are_refused_for_elyra() -> None:
    with pytest.raises(errors.ImportOptionError) as caught:
        import_profiles(host="https://kf.example.com")
    assert str(caught.value) == (
        "host applies to the KFP SDK's context.json only: pass source='kfp-context' with it, "
        "or leave it out to import Elyra's runtimes."
    )


# --- the SDK's context.json -----------------------------------------------------------------

COOKIE = "authservice_session=MTcwMDAwMDAwMHxzZXNzaW9uLWNvb2tpZQ"


def context_file(home: Path, **data: Any) -> Path:
    return write_json(home / ".config" / "kfp" / "context.json", data)


@pytest.mark.keyring
def test_context_with_a_username_is_a_dex_profile_without_its_cookies(
    isolated_home: Path, profiles_path: Path, keyring_backend: Any
) -> None:
    source = context_file(
        isolated_home,
        namespace="team-b",
        client_authentication_cookie=COOKIE,
        client_authentication_header_name="Authorization",
        client_authentication_header_value="Bearer " + BEARER_TOKEN,
    )
    before = snapshot([source])

    report = import_profiles("kfp-context", host=GATEWAY, username="user@example.com")

    (result,) = report.results
    assert (result.status, result.profile, report.looked_in) == ("added", "kfp-context", (source,))
    assert result.notes == (
        "its cookies and headers were not imported: a login makes a new session",
        "made the default",
    )
    assert profiles(profiles_path) == {
        "kfp-context": {
            "kind": "platform-dex",
            "host": GATEWAY,
            "namespace": "team-b",
            "username": "user@example.com",
        }
    }
    assert keyring_backend.get_password("kfp-profiles", "kfp-context") is None
    for text in (profiles_path.read_text(encoding="utf-8"), everything_said(report)):
        assert "MTcwMDAwMDAwMH" not in text and BEARER_TOKEN not in text
    assert snapshot([source]) == before
    assert import_profiles("kfp-context", host=GATEWAY, username="user@example.com").counts == {
        "unchanged": 1
    }


def test_context_without_a_username_is_standalone_with_the_sdk_endpoint(
    isolated_home: Path, profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context_file(isolated_home, namespace="team-c")
    monkeypatch.setenv("KF_PIPELINES_ENDPOINT", IN_CLUSTER)

    import_profiles("kfp-context", name="sdk")

    assert profiles(profiles_path) == {
        "sdk": {"kind": "standalone-in-cluster", "host": IN_CLUSTER, "namespace": "team-c"}
    }


def test_context_without_a_host_is_a_typed_error(isolated_home: Path, profiles_path: Path) -> None:
    source = context_file(isolated_home, namespace="team-c")
    with pytest.raises(errors.KfpContextHostError) as caught:
        import_profiles("kfp-context")
    assert caught.value.exit_code == 2
    assert caught.value.cli_message == (
        f"{source} holds no host (the KFP SDK keeps only a namespace and cookies there): pass "
        "--host with the Kubeflow Pipelines URL, or set KF_PIPELINES_ENDPOINT."
    )
    assert not profiles_path.exists()


def test_a_missing_or_broken_context_is_a_typed_error(isolated_home: Path) -> None:
    path = isolated_home / ".config" / "kfp" / "context.json"
    with pytest.raises(errors.KfpContextFileError) as missing:
        import_profiles("kfp-context", host=GATEWAY)
    assert str(missing.value).startswith(f"{path} cannot be read as the KFP SDK's context file (")
    write_broken(path)
    with pytest.raises(errors.KfpContextFileError) as broken:
        import_profiles("kfp-context", host=GATEWAY)
    assert "(not JSON: Expecting property name" in str(broken.value)
