"""Every bad value is a typed error with one exact sentence, never a raw exception
(issue 10, point 6): values in the file are strict TOML, variables follow the documented
text rules, and odd arguments are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfp_profiles import errors
from kfp_profiles.client import get_client
from kfp_profiles.resolution import resolve

from .helpers import write_profiles

FORWARD = '[profiles.dev]\nkind = "standalone-port-forward"\n'
TLS_DOC = "(Check the server's TLS certificate)."
PORT_DOC = "(Local port; 0 lets kubectl pick one)."
TIMEOUT_DOC = (
    "(Seconds each request may take, from connect to last byte; more than 0, at most 3600)."
)
KINDS = (
    "standalone-in-cluster, standalone-port-forward, platform-in-cluster, platform-dex, "
    "platform-token, platform-oidc"
)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            'verify_tls = "no"',
            f"`verify_tls` = 'no' is invalid: it must be true or false {TLS_DOC}",
        ),
        ("verify_tls = 0", f"`verify_tls` = 0 is invalid: it must be true or false {TLS_DOC}"),
        (
            'local_port = "3000"',
            f"`local_port` = '3000' is invalid: it must be a valid integer {PORT_DOC}",
        ),
        ("timeout = inf", f"`timeout` = inf is invalid: it must be a finite number {TIMEOUT_DOC}"),
        ("timeout = nan", f"`timeout` = nan is invalid: it must be a finite number {TIMEOUT_DOC}"),
        (
            "timeout = 1e400",
            f"`timeout` = inf is invalid: it must be a finite number {TIMEOUT_DOC}",
        ),
        (
            "timeout = 99999999999999999999",
            "`timeout` = 99999999999999999999 is invalid: it must be less than or equal to "
            f"3600 {TIMEOUT_DOC}",
        ),
        ("timeout = 0", f"`timeout` = 0 is invalid: it must be greater than 0 {TIMEOUT_DOC}"),
        ("timeout = true", f"`timeout` = True is invalid: it must be a valid number {TIMEOUT_DOC}"),
        (
            'namespace = ["a"]',
            "`namespace` = ['a'] is invalid: it must be a valid string (Kubeflow "
            "profile namespace sent on namespaced calls (platform kinds)).",
        ),
    ],
)
def test_a_value_of_the_wrong_type_in_the_file(
    profiles_path: Path, lines: str, message: str
) -> None:
    write_profiles(profiles_path, FORWARD + lines + "\n")
    with pytest.raises(errors.ProfileValidationError) as caught:
        get_client("dev")
    assert str(caught.value) == f"Profile 'dev' in {profiles_path}: {message}"
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("kind", "shown"),
    [("[1, 2]", "[1, 2]"), ("{ a = 1 }", "{'a': 1}"), ("3", "3"), ('""', "''")],
)
def test_a_kind_that_is_not_a_name(profiles_path: Path, kind: str, shown: str) -> None:
    write_profiles(profiles_path, f"[profiles.dev]\nkind = {kind}\n")
    with pytest.raises(errors.ProfileValidationError) as caught:
        resolve("dev")
    assert str(caught.value) == (
        f"Profile 'dev' in {profiles_path}: unknown kind {shown}; use one of {KINDS}."
    )


@pytest.mark.parametrize(
    ("variable", "text", "field", "rule", "doc"),
    [
        ("KFP_VERIFY_TLS", "maybe", "verify_tls", "it must be true or false", TLS_DOC),
        ("KFP_LOCAL_PORT", "0x10", "local_port", "it must be a valid integer", PORT_DOC),
        ("KFP_LOCAL_PORT", "3000.5", "local_port", "it must be a valid integer", PORT_DOC),
        ("KFP_TIMEOUT", "inf", "timeout", "it must be a valid number", TIMEOUT_DOC),
        ("KFP_TIMEOUT", "1e400", "timeout", "it must be a finite number", TIMEOUT_DOC),
        ("KFP_TIMEOUT", "5s", "timeout", "it must be a valid number", TIMEOUT_DOC),
    ],
)
def test_a_variable_that_follows_no_rule_is_named(
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    text: str,
    field: str,
    rule: str,
    doc: str,
) -> None:
    write_profiles(profiles_path, FORWARD)
    monkeypatch.setenv(variable, text)
    with pytest.raises(errors.ProfileValidationError) as caught:
        resolve("dev")
    assert str(caught.value) == (
        f"Profile 'dev' in environment variable {variable}: `{field}` = {text!r} is invalid: "
        f"{rule} {doc}"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("TRUE", True),
        ("yes", True),
        ("On", True),
        ("1", True),
        ("false", False),
        ("0", False),
        ("no", False),
        (" off ", False),
    ],
)
def test_variables_follow_the_documented_boolean_words(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, value: bool
) -> None:
    write_profiles(profiles_path, FORWARD)
    monkeypatch.setenv("KFP_MANAGE", text)
    assert resolve("dev").values()["manage"] is value


@pytest.mark.parametrize("name", [123, 1.5, b"dev", ["dev"]])
def test_a_profile_name_that_is_not_text(profiles_path: Path, name: object) -> None:
    write_profiles(profiles_path, FORWARD)
    with pytest.raises(errors.ProfileNameTypeError) as caught:
        get_client(name)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f'A profile name is text, like "prod", but a {type(name).__name__} was passed; pass '
        "the profile's name, or None for KFP_PROFILE or the file's default."
    )


def test_a_keyword_argument_of_the_wrong_type(profiles_path: Path) -> None:
    write_profiles(profiles_path, FORWARD)
    with pytest.raises(errors.ProfileValidationError) as caught:
        get_client("dev", local_port="3000")
    assert str(caught.value) == (
        "Profile 'dev' in the keyword arguments: `local_port` = '3000' is invalid: it must "
        f"be a valid integer {PORT_DOC}"
    )


# --- paths are checked when they are set (issue 10, point 7) ---------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "does not exist"),
        (b"not a certificate\n", "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        ("folder", "is a folder, not a file of certificates"),
    ],
)
def test_a_ca_bundle_that_holds_no_certificate_is_a_configuration_error(
    profiles_path: Path, content: bytes | str | None, problem: str
) -> None:
    write_profiles(profiles_path, FORWARD + 'ca_bundle = "ca.pem"\n')
    bundle = profiles_path.parent / "ca.pem"
    if content == "folder":
        bundle.mkdir()
    elif isinstance(content, bytes):
        bundle.write_bytes(content)
    with pytest.raises(errors.CaBundleError) as caught:
        resolve("dev")
    assert str(caught.value) == (
        f"Profile 'dev': `ca_bundle` {bundle} (set in {profiles_path}) {problem}; point it at "
        "the PEM file of your cluster's CA, or remove it to trust the system's CAs."
    )


def test_a_ca_bundle_is_not_read_when_tls_is_not_verified(profiles_path: Path) -> None:
    write_profiles(profiles_path, FORWARD + 'ca_bundle = "gone.pem"\nverify_tls = false\n')
    assert resolve("dev").values()["verify_tls"] is False


def test_add_refuses_a_ca_bundle_that_does_not_exist(profiles_path: Path) -> None:
    from .helpers import cli

    done = cli("add", "x", "--kind", "standalone-in-cluster", "--ca-bundle", "/nonexistent.pem")
    assert done.returncode == 2
    assert done.stderr == (
        "kfp-profiles: error: --ca-bundle /nonexistent.pem does not exist; pass the PEM file "
        "of your cluster's CA.\n"
    )
    assert not profiles_path.exists()


def test_add_stores_a_relative_ca_bundle_as_an_absolute_path(
    profiles_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kfp_profiles.cli import run
    from kfp_profiles.testing.tls import write_tls_files

    (tmp_path / "tls").mkdir()
    ca = write_tls_files(tmp_path / "tls").ca_path
    monkeypatch.chdir(ca.parent)
    assert run(["add", "x", "--kind", "standalone-in-cluster", "--ca-bundle", ca.name]) == 0
    assert f'ca_bundle = "{ca}"' in profiles_path.read_text()
    assert resolve("x").values()["ca_bundle"] == str(ca)
