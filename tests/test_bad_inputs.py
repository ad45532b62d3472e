"""Bad input, one row each: the typed error and the one sentence a user reads.

Every row goes through the public API (``resolve`` or ``get_client``) with a
real file with real permissions, and checks that the message names the
profile, the file or the field, and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
        ["`host` is invalid", "http:// or https:// URL"],
    ),
    Case(
        "negative timeout",
        DEX + "timeout = -1\n",
        lambda _: resolve("prod"),
        errors.ProfileValidationError,
        ["`timeout` is invalid", "greater than 0"],
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
        ["environment variable KFP_TIMEOUT", "`timeout` is invalid"],
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
            "KF_PIPELINES_SA_TOKEN_PATH",
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
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "profiles.toml"
    if case.file is None:
        monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    else:
        write_profiles(path, case.file.replace("{dir}", str(tmp_path)), mode=case.mode)
        monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    if "PYTHON_KEYRING_BACKEND" in case.env:
        import keyring.core

        monkeypatch.setattr(keyring.core, "_keyring_backend", None)
        keyring.core.init_backend()
    try:
        with pytest.raises(case.error) as caught:
            case.call(tmp_path)
    finally:
        if "PYTHON_KEYRING_BACKEND" in case.env:
            monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
            keyring.core.init_backend()
    message = str(caught.value)
    for fragment in case.says:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "\n" not in message, "one line"
    assert "12341234" not in message


def test_locked_keyring_names_every_other_way(
    keyring_backend: object,
    secret_service: SecretServiceKeyring,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KFP_PROFILES_FILE", str(write_profiles(tmp_path / "profiles.toml", DEX)))
    secret_service.lock()
    with pytest.raises(errors.KeyringUnavailableError) as caught:
        password_for(resolve("prod"))
    message = str(caught.value)
    assert "KeyringLocked" in message
    for way in ("KFP_PASSWORD", "password=", "kfp-profiles secret set prod"):
        assert way in message


def test_missing_password_names_the_three_ways(
    keyring_backend: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_PROFILES_FILE", str(write_profiles(tmp_path / "profiles.toml", DEX)))
    with pytest.raises(errors.PasswordMissingError) as caught:
        password_for(resolve("prod"))
    assert str(caught.value) == (
        "Profile 'prod' needs a password to log in as 'user@example.com' and none was "
        "found: pass password=..., set KFP_PASSWORD, or run `kfp-profiles secret set prod`."
    )
