"""Every bad value is a typed error with one exact sentence, never a raw exception
(issue 10, point 6): values in the file are strict TOML, variables follow the documented
text rules, and odd arguments are refused by name."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
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


# --- a token file that is not one token --------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "tok-en\nsecond-line",
            "holds more than one token (a line break or a space that no token has)",
        ),
        ("tok en", "holds more than one token (a line break or a space that no token has)"),
        ("tok\x07en", "holds more than one token (a character that no token has)"),
        ("", "is empty"),
        ("fifo", "is not a regular file (a pipe or a device)"),
    ],
)
def test_a_token_file_that_is_not_one_token(
    tmp_path: Path, profiles_path: Path, content: str, problem: str
) -> None:
    import os

    token = tmp_path / "token"
    if content == "fifo":
        os.mkfifo(token, 0o600)
    else:
        token.write_text(content)
    write_profiles(
        profiles_path,
        f'[profiles.pod]\nkind = "platform-in-cluster"\nhost = "http://127.0.0.1:9"\n'
        f'token_path = "{token}"\n',
    )
    with pytest.raises(errors.TokenFileError) as caught:
        get_client("pod")
    message = str(caught.value)
    assert message.startswith(f"Profile 'pod': the ServiceAccount token file {token} {problem}")
    for secret_part in ("tok-en", "second-line", "tok en"):
        assert secret_part not in message
    assert caught.value.__context__ is None


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("fifo", "is not a regular file, so it cannot hold profiles"),
        ("/dev/zero", "is not a regular file, so it cannot hold profiles"),
        ("/dev/null", "is not a regular file, so it cannot hold profiles"),
        ("/proc/self/mem", "cannot be read as a profiles file (Input/output error)"),
    ],
)
def test_a_profiles_file_that_is_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, problem: str
) -> None:
    import os

    if path == "fifo":
        path = str(tmp_path / "fifo.toml")
        os.mkfifo(path, 0o600)
    monkeypatch.setenv("KFP_PROFILES_FILE", path)
    with pytest.raises(errors.ConfigError) as caught:
        get_client("dev")
    assert str(caught.value) == f"{path} {problem}; point KFP_PROFILES_FILE at a profiles file."


# --- a redirect to something that is not a URL ------------------------------------------------


class _BadRedirect(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "http://[not-ipv6")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def bad_redirect() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BadRedirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_to_no_url_is_a_typed_error_for_the_login_and_the_api(
    profiles_path: Path, bad_redirect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profiles(
        profiles_path,
        f"""
        [profiles.dex]
        kind = "platform-dex"
        host = "{bad_redirect}"
        username = "me@example.com"
        namespace = "team"
        [profiles.plain]
        kind = "standalone-in-cluster"
        host = "{bad_redirect}"
        """,
    )
    monkeypatch.setenv("KFP_PASSWORD", "not-sent")
    with pytest.raises(errors.LoginFlowError) as login:
        get_client("dex")
    assert "the API URL answered 302" in str(login.value)
    with pytest.raises(errors.BehindLoginError) as api:
        get_client("plain").list_experiments()
    assert str(api.value) == (
        f"{bad_redirect} answered an unexpected redirect (302) to an address that is not a "
        "URL for profile 'plain' (kind standalone-in-cluster): this host sits behind a "
        'login; use a platform-dex profile for it (kind = "platform-dex", with your Dex '
        "`username` and `namespace`)."
    )
