"""Bad input, one row each: the typed error and the one sentence a user reads.

Every row goes through the public API (``resolve`` or ``get_client``) with a
real file with real permissions, and checks that the message names the
profile, the file or the field, and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles import errors
from kfp_profiles.client import get_client
from kfp_profiles.resolution import resolve
from kfp_profiles.secrets import password_for
from kfp_profiles.testing.keyring import SecretServiceKeyring

from .helpers import write_profiles

DEX = """
[profiles.prod]
kind = "platform-dex"
host = "https://kubeflow.example.com/pipeline"
username = "user@example.com"
namespace = "kubeflow-user-example-com"
"""


@dataclass
class Case:
    id: str
    file: str | None  # None: no file at all
    call: Callable[[Path], object]
    error: type[errors.KfpProfilesError]
    says: list[str]
    env: dict[str, str] = field(default_factory=dict)
    mode: int = 0o600


def pod_profile(token_path: str) -> str:
    return f"""
[profiles.pod]
kind = "platform-in-cluster"
namespace = "team-a"
host = "http://127.0.0.1:9"
token_path = "{token_path}"
"""


def with_empty_token(folder: Path) -> object:
    (folder / "empty-token").write_text("")
    return get_client("pod")


CASES = [
    Case(
        "malformed TOML",
        '[profiles.prod]\nkind = "platform-dex\n',
        lambda _: resolve("prod"),
        errors.ProfilesFileParseError,
        ["profiles.toml:2:", "fix the TOML syntax"],
    ),
    Case(
        "unknown kind",
        '[profiles.prod]\nkind = "platform-dx"\n',
        lambda _: resolve("prod"),
        errors.ProfileValidationError,
        ["Profile 'prod'", "profiles.toml", "unknown kind", "did you mean 'platform-dex'?"],
    ),
    Case(
        "missing kind",
        '[profiles.prod]\nhost = "http://x"\n',
        lambda _: resolve("prod"),
        errors.ProfileValidationError,
        ["Profile 'prod'", "`kind` is missing", "platform-dex"],
    ),
    Case(
        "missing field",
        '[profiles.prod]\nkind = "platform-dex"\nhost = "https://kf.example.com"\n'
        'namespace = "ns"\n',
        lambda _: resolve("prod"),
        errors.ProfileValidationError,
        ["Profile 'prod'", "`username` is required for kind 'platform-dex'"],
    ),
    Case(
        "misspelt field",
        DEX.replace("username", "usename"),
        lambda _: resolve("prod"),
        errors.ProfileValidationError,
        ["unknown field `usename`", "did you mean 'username'?"],
    ),
    Case(
        "password in the file",
        DEX + 'password = "12341234"\n',
        lambda _: resolve("prod"),
        errors.SecretInFileError,
        [
            "`password` must not be stored in the file",
            "kfp-profiles secret set prod",
            "KFP_PASSWORD",
        ],
    ),
    Case(
        "bad URL",
        DEX.replace("https://kubeflow.example.com/pipeline", "kubeflow.example.com"),
        lambda _: resolve("prod"),
        errors.ProfileValidationError,
        ["`host` = 'kubeflow.example.com' is invalid", "http:// or https:// URL"],
    ),
    Case(
        "negative timeout",
        DEX + "timeout = -1\n",
        lambda _: resolve("prod"),
        errors.ProfileValidationError,
        ["`timeout` = -1 is invalid", "greater than 0"],
    ),
    Case(
        "unknown profile",
        DEX,
        lambda _: resolve("pord"),
        errors.ProfileNotFoundError,
        ["No profile named 'pord'", "did you mean 'prod'?", "profiles.toml"],
    ),
    Case(
        "empty file, no name",
        "",
        lambda _: resolve(),
        errors.NoProfileSelectedError,
        ["sets no `default`", "KFP_PROFILE", "kfp-profiles use NAME"],
    ),
    Case(
        "empty file, a name",
        "",
        lambda _: resolve("prod"),
        errors.ProfileNotFoundError,
        ["No profile named 'prod'", "kfp-profiles add NAME"],
    ),
    Case(
        "missing file",
        None,
        lambda _: resolve("prod"),
        errors.ProfilesFileNotFoundError,
        ["No profiles file at", "kfp-profiles init", "KFP_PROFILES_FILE"],
    ),
    Case(
        "file others can write",
        DEX,
        lambda _: resolve("prod"),
        errors.ProfilesFilePermissionError,
        ["can be written by other users", "chmod 600"],
        mode=0o666,
    ),
    Case(
        "unknown top-level key",
        'defualt = "prod"\n' + DEX,
        lambda _: resolve("prod"),
        errors.ConfigError,
        ["unknown top-level key `defualt`", "did you mean 'default'?"],
    ),
    Case(
        "environment changes kind",
        DEX,
        lambda _: resolve("prod"),
        errors.KindChangeError,
        ["Profile 'prod' is of kind 'platform-dex'", "KFP_KIND='standalone-in-cluster'", "unset"],
        env={"KFP_KIND": "standalone-in-cluster"},
    ),
    Case(
        "bad value from the environment",
        DEX,
        lambda _: resolve("prod"),
        errors.ProfileValidationError,
        ["environment variable KFP_TIMEOUT", "`timeout` = 'soon' is invalid"],
        env={"KFP_TIMEOUT": "soon"},
    ),
    Case(
        "unknown keyword override",
        DEX,
        lambda _: resolve("prod", namepsace="x"),
        errors.ProfileValidationError,
        ["`namepsace` is not a field of kind 'platform-dex'", "did you mean 'namespace'?"],
    ),
    Case(
        "token file missing",
        pod_profile("{dir}/absent/token"),
        lambda _: get_client("pod"),
        errors.TokenFileError,
        [
            "Profile 'pod'",
            "absent/token does not exist",
            "projected token volume",
            "`token_path` in",
            "KFP_TOKEN_PATH",
        ],
    ),
    Case(
        "token file empty",
        pod_profile("{dir}/empty-token"),
        with_empty_token,
        errors.TokenFileError,
        ["empty-token is empty", "pipelines.kubeflow.org"],
    ),
    Case(
        # Root reads any file whatever its mode, so "unreadable" is a directory here.
        "token path unreadable",
        pod_profile("{dir}"),
        lambda _: get_client("pod"),
        errors.TokenFileError,
        ["is a directory", "manifest poddefault"],
    ),
    Case(
        "no keyring at all",
        DEX,
        lambda _: password_for(resolve("prod")),
        errors.KeyringUnavailableError,
        [
            "OS keyring cannot be used",
            "profile 'prod'",
            "KFP_PASSWORD",
            "password=",
            "secret set prod",
        ],
        env={
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        },
    ),
]


assert len(CASES) >= 15, "issue 2 asks for at least 15 bad inputs"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(
    case: Case,
    tmp_path: Path,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if case.file is not None:
        write_profiles(profiles_path, case.file.replace("{dir}", str(tmp_path)), mode=case.mode)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    if case.env.get("PYTHON_KEYRING_BACKEND") == "keyring.backends.fail.Keyring":
        # keyring chose its backend at first use: the variable alone changes nothing here.
        request.getfixturevalue("no_keyring")
    with pytest.raises(case.error) as caught:
        case.call(tmp_path)
    message = str(caught.value)
    for fragment in case.says:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "\n" not in message, "one line"
    assert "12341234" not in message


def test_locked_keyring_names_every_other_way(
    keyring_backend: object,
    secret_service: SecretServiceKeyring,
    profiles_path: Path,
) -> None:
    write_profiles(profiles_path, DEX)
    secret_service.lock()
    with pytest.raises(errors.KeyringUnavailableError) as caught:
        password_for(resolve("prod"))
    message = str(caught.value)
    assert "KeyringLocked" in message
    for way in ("KFP_PASSWORD", "password=", "kfp-profiles secret set prod"):
        assert way in message


def test_missing_password_names_the_three_ways(
    keyring_backend: object, profiles_path: Path
) -> None:
    write_profiles(profiles_path, DEX)
    with pytest.raises(errors.PasswordMissingError) as caught:
        password_for(resolve("prod"))
    assert str(caught.value) == (
        "Profile 'prod' needs a password to log in as 'user@example.com' and none was "
        "found: pass password=..., set KFP_PASSWORD, or run `kfp-profiles secret set prod`."
    )


NOT_A_TABLE = '[profiles]\ndev = "x"\n'


@pytest.mark.parametrize("argv", [["show", "dev"], ["env", "dev"]])
def test_profile_that_is_not_a_table_is_refused_by_the_command_line(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kfp_profiles.cli import run

    path = write_profiles(tmp_path / "profiles.toml", NOT_A_TABLE)
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    assert run(argv) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"kfp-profiles: error: Profile 'dev' in {path}: must be a table ([profiles.dev]), "
        "not a str."
    ]


def test_profile_that_is_not_a_table_is_refused_by_get_client_and_doctor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kfp_profiles.cli import run

    path = write_profiles(tmp_path / "profiles.toml", NOT_A_TABLE)
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    expected = f"Profile 'dev' in {path}: must be a table ([profiles.dev]), not a str."
    with pytest.raises(errors.ProfileValidationError) as caught:
        get_client("dev")
    assert str(caught.value) == expected
    assert caught.value.exit_code == 2
    run(["doctor", "dev"])
    captured = capsys.readouterr()
    assert "AttributeError" not in captured.out + captured.err
    assert any(
        line.split()[:2] == ["profile", "FAIL"] and line.endswith(expected)
        for line in captured.out.splitlines()
    ), captured.out


DEV = '[profiles.dev]\nkind = "standalone-port-forward"\n'
LOCAL_PORT_DOC = "(Local port; 0 lets kubectl pick one)."
TIMEOUT_DOC = (
    "(Seconds each request may take, from connect to last byte; more than 0, at most 3600)."
)


@pytest.mark.parametrize(
    ("file", "env", "overrides", "line"),
    [
        (
            DEV + "local_port = 99999\n",
            {},
            {},
            "Profile 'dev' in {file}: `local_port` = 99999 is invalid: it must be less than "
            f"or equal to 65535 {LOCAL_PORT_DOC}",
        ),
        (
            DEV,
            {"KFP_TIMEOUT": "-1"},
            {},
            "Profile 'dev' in environment variable KFP_TIMEOUT: `timeout` = '-1' is invalid: "
            f"it must be greater than 0 {TIMEOUT_DOC}",
        ),
        (
            DEV,
            {"KFP_LOCAL_PORT": "abc"},
            {},
            "Profile 'dev' in environment variable KFP_LOCAL_PORT: `local_port` = 'abc' is "
            f"invalid: it must be a valid integer {LOCAL_PORT_DOC}",
        ),
        (
            DEV,
            {"KFP_VERIFY_TLS": "maybe"},
            {},
            "Profile 'dev' in environment variable KFP_VERIFY_TLS: `verify_tls` = 'maybe' is "
            "invalid: it must be true or false (Check the server's TLS certificate).",
        ),
        (
            DEV,
            {},
            {"timeout": -1},
            "Profile 'dev' in the keyword arguments: `timeout` = -1 is invalid: it must be "
            f"greater than 0 {TIMEOUT_DOC}",
        ),
    ],
    ids=["file", "KFP_TIMEOUT", "KFP_LOCAL_PORT", "KFP_VERIFY_TLS", "keyword"],
)
def test_bad_value_shows_the_value_and_what_the_field_is(
    file: str,
    env: dict[str, str],
    overrides: dict[str, Any],
    line: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_profiles(tmp_path / "profiles.toml", file)
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(errors.ProfileValidationError) as caught:
        get_client("dev", **overrides)
    assert str(caught.value) == line.format(file=path)


TOKEN = '[profiles.t]\nkind = "platform-token"\nhost = "https://kf.example.com"\nnamespace = "n"\n'
LIST_RULE = (
    "it must be a list: a TOML array of strings in the file, words split as a shell would "
    "(every quote closed) in a variable or `set`"
)


@pytest.mark.parametrize(
    ("file", "env", "line"),
    [
        (
            TOKEN + 'token_command = "kubectl create token sa"\n',
            {},
            "Profile 't' in {file}: `token_command` = 'kubectl create token sa' is invalid: "
            f"{LIST_RULE} (",
        ),
        (
            TOKEN,
            {"KFP_TOKEN_COMMAND": 'kubectl "my ns'},
            "Profile 't' in environment variable KFP_TOKEN_COMMAND: `token_command` = "
            f"'kubectl \"my ns' is invalid: {LIST_RULE} (",
        ),
    ],
    ids=["file-string", "KFP_TOKEN_COMMAND-unclosed-quote"],
)
def test_a_list_field_that_is_no_list_says_how_to_write_one(
    file: str, env: dict[str, str], line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_profiles(tmp_path / "profiles.toml", file)
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(errors.ProfileValidationError) as caught:
        get_client("t")
    assert str(caught.value).startswith(line.format(file=path))


def test_bad_proxy_url_is_shown_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_profiles(tmp_path / "profiles.toml", DEV)
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    monkeypatch.setenv("KFP_PROXY", "socks5://me:hunter2@proxy.corp:1080")
    with pytest.raises(errors.ProfileValidationError) as caught:
        resolve("dev")
    assert str(caught.value) == (
        "Profile 'dev' in environment variable KFP_PROXY: `proxy` = 'socks5://***@proxy.corp:1080' "
        "is invalid: it must be an http:// or https:// URL with a host, like "
        "https://kubeflow.example.com/pipeline (HTTP(S) proxy URL for the login and the API calls)."
    )
