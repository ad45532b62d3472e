"""The keyring (secrets.py): a backend that fails in any way is one typed error, and no
backend exception, which may hold the secret, rides along in the error's chain."""

from __future__ import annotations

import os
from collections.abc import Iterator

import keyring.core
import pytest
from keyring.backend import KeyringBackend
from pydantic import SecretStr

from kfp_profiles import errors, secrets

from .helpers import cli, write_profiles

SECRET = "s3cret-that-must-not-travel"


class Failing(KeyringBackend):
    """A backend that raises what real plugins have been seen to raise."""

    priority = 1

    def __init__(self, error: BaseException) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


@pytest.fixture
def failing_with(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    def install(error: BaseException) -> None:
        monkeypatch.setattr(keyring.core, "_keyring_backend", Failing(error))

    yield install


ERRORS = [
    RuntimeError("D-Bus said no"),
    TimeoutError("the Secret Service did not answer"),
    ModuleNotFoundError("No module named 'nonexistent'"),
    OSError(5, "Input/output error"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_any_backend_failure_is_one_typed_error_without_its_chain(
    failing_with: object, error: BaseException
) -> None:
    install = failing_with
    install(error)  # type: ignore[operator]
    for call, kind in (
        (lambda: secrets.get_password("prod"), errors.KeyringUnavailableError),
        (lambda: secrets.set_password("prod", SecretStr(SECRET)), errors.KeyringStoreError),
        (lambda: secrets.delete_password("prod"), errors.KeyringDeleteError),
    ):
        with pytest.raises(kind) as caught:
            call()
        assert f"({secrets.failure_reason(error)})" in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_a_backend_that_repeats_the_value_it_failed_to_store_does_not_show_it(
    failing_with: object,
) -> None:
    failing_with(RuntimeError(f"cannot store {SECRET!r} now"))  # type: ignore[operator]
    with pytest.raises(errors.KeyringStoreError) as caught:
        secrets.set_password("prod", SecretStr(SECRET))
    assert SECRET not in str(caught.value)
    assert "(RuntimeError: cannot store '********' now)" in str(caught.value)


def test_a_backend_named_by_a_variable_that_does_not_exist(profiles_path: os.PathLike[str]) -> None:
    write_profiles(
        profiles_path,  # type: ignore[arg-type]
        '[profiles.prod]\nkind = "platform-dex"\nhost = "https://kf.invalid"\n'
        'username = "me"\nnamespace = "team"\n',
    )
    done = cli(
        "secret", "set", "prod", env={"PYTHON_KEYRING_BACKEND": "nonexistent.Backend"},
        stdin=SECRET + "\n",
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert done.stderr == (
        "kfp-profiles: error: The OS keyring cannot store secrets (ModuleNotFoundError: No "
        "module named 'nonexistent'), so nothing was stored for profile 'prod': start a "
        "Secret Service or choose a backend that stores with PYTHON_KEYRING_BACKEND, or set "
        "KFP_PASSWORD instead.\n"
    )
    assert "Traceback" not in done.stderr and SECRET not in done.stderr + done.stdout
