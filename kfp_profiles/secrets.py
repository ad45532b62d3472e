"""Secrets and cached sessions in the OS keyring: the only module that imports ``keyring``.

Service ``kfp-profiles`` holds each profile's Dex password (or a platform-token
profile's bearer token) under the profile's name, and a platform-oidc client's
secret under ``NAME#client_secret``; ``kfp-profiles-session`` holds cached
sessions and tokens.
A keyring that is missing, locked or failing becomes one
:class:`~kfp_profiles.errors.KeyringUnavailableError` naming every other way
to supply the secret, or, when storing or deleting, its subclass whose fix
fits that; each gives the same short reason (tests/test_keyring_harness.py and
tests/test_session.py show how each backend fails).
"""

from __future__ import annotations

import getpass
import logging
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from pydantic import SecretStr

from .errors import (
    KeyringDeleteError,
    KeyringStoreError,
    KeyringUnavailableError,
    KfpProfilesError,
    PasswordMissingError,
    StoredSecretElsewhereError,
)

if TYPE_CHECKING:
    from .resolution import ResolvedProfile

PASSWORD_SERVICE = "kfp-profiles"
SESSION_SERVICE = "kfp-profiles-session"

log = logging.getLogger("kfp_profiles.secrets")


def backend_name() -> str:
    """The keyring backend in use, as ``module.Class``, for messages and `doctor`."""
    import keyring

    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def stores_nothing() -> bool:
    """True when no keyring keeps a secret: keyring's null backend (drops it silently),
    its fail backend (no keyring found), or a backend that cannot even be loaded."""
    try:
        backend = backend_name()
    except Exception:  # e.g. PYTHON_KEYRING_BACKEND names a missing module: no keyring either
        return True
    return backend.startswith(("keyring.backends.null.", "keyring.backends.fail."))


def failure_reason(exc: BaseException) -> str:
    """Why the keyring failed, short: the error's type and its first sentence.

    keyring's own texts go on with advice for its developers (NoKeyringError's
    runs to four sentences, about installing packages); the fix a user needs is
    in our message.
    """
    lines = str(exc).strip().splitlines()
    first = re.split(r"(?<=[.!?])\s", lines[0], maxsplit=1)[0].rstrip(".") if lines else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _unavailable(
    profile: str,
    exc: Exception,
    error: type[KeyringUnavailableError] = KeyringUnavailableError,
    hide: str | None = None,
) -> KeyringUnavailableError:
    reason = failure_reason(exc)
    if hide:  # a backend that repeats the value it failed to store must not show it
        reason = reason.replace(hide, "********")
    return error(profile=profile, reason=reason)


# A keyring backend is a plugin: besides keyring's own errors it may raise anything (a
# D-Bus timeout, a RuntimeError, ModuleNotFoundError for a PYTHON_KEYRING_BACKEND that
# names no module). Every one becomes our typed error, raised outside the `except`
# block so that no backend exception, which may hold the value, rides along as context.


def keyring_get(service: str, profile: str, *, name: str | None = None) -> str | None:
    """Read one item; a keyring that cannot answer raises KeyringUnavailableError.

    ``name`` is the profile an error names, where the item's key is not the name itself.
    """
    import keyring

    try:
        value = keyring.get_password(service, profile)
    except Exception as exc:
        failure = _unavailable(name or profile, exc)
    else:
        return value
    raise failure


def keyring_set(service: str, profile: str, value: str, *, name: str | None = None) -> None:
    """Store one item; a backend that silently stored nothing raises too."""
    import keyring

    # Tried first: the fail backend then raises the NoKeyringError reading gives, so a
    # machine without a keyring gets one reason whatever the command.
    failure: KeyringUnavailableError | None = None
    try:
        keyring.set_password(service, profile, value)
    except Exception as exc:
        failure = _unavailable(name or profile, exc, KeyringStoreError, hide=value)
    if failure is not None:
        raise failure
    if stores_nothing():
        raise KeyringStoreError(
            profile=name or profile, reason=f"the backend {backend_name()} stores nothing"
        )


def keyring_delete(service: str, profile: str, *, name: str | None = None) -> bool:
    """Delete one item; True when something was deleted. Deleting nothing is fine."""
    import keyring
    from keyring.errors import PasswordDeleteError

    try:
        keyring.delete_password(service, profile)
    except PasswordDeleteError:
        return False
    except Exception as exc:
        failure = _unavailable(name or profile, exc, KeyringDeleteError)
    else:
        return True
    raise failure


def get_password(profile: str) -> SecretStr | None:
    value = keyring_get(PASSWORD_SERVICE, profile)
    return SecretStr(value) if value else None


def set_password(profile: str, password: SecretStr) -> None:
    keyring_set(PASSWORD_SERVICE, profile, password.get_secret_value())


def delete_password(profile: str) -> bool:
    return keyring_delete(PASSWORD_SERVICE, profile)


def _person_present() -> bool:
    if sys.stdin is not None and sys.stdin.isatty():
        return True
    return "ipykernel" in sys.modules  # a notebook can show getpass's prompt


def password_for(
    resolved: ResolvedProfile, *, prompt: bool = False, typed: list[SecretStr] | None = None
) -> SecretStr:
    """The password for a login: argument or KFP_PASSWORD, else the keyring, else a prompt.

    The keyring is asked only here, when a login really happens. A password typed at
    the prompt is appended to ``typed`` when given, for the caller to keep once the login
    has proved it right (:func:`keep_typed_password`); without ``typed`` it is kept now.
    """
    if resolved.password is not None:
        return resolved.password
    if not resolved.at_home:
        from .transport import origin

        assert resolved.file_host is not None  # at_home is True without one
        raise StoredSecretElsewhereError(
            profile=resolved.name,
            home=origin(resolved.file_host),
            host=resolved.host,
            via=_describe_source(resolved.sources.get("host", "arg")),
        )
    from .models import PlatformDex  # loaded already, with the profile

    username = resolved.profile.username if isinstance(resolved.profile, PlatformDex) else "?"
    keyring_problem: KeyringUnavailableError | None = None
    try:
        stored = get_password(resolved.name)
    except KeyringUnavailableError as exc:
        stored, keyring_problem = None, exc
    if stored is not None:
        return stored
    if prompt and _person_present():
        entered = getpass.getpass(f"Dex password for {username} (profile {resolved.name}): ")
        if entered:
            secret = SecretStr(entered)
            if typed is None:
                keep_typed_password(resolved.name, secret)
            else:
                typed.append(secret)
            return secret
    if keyring_problem is not None:
        raise keyring_problem
    detail = ""
    if stores_nothing():
        detail = f" (the keyring backend {backend_name()} stores nothing)"
    raise PasswordMissingError(profile=resolved.name, username=username, detail=detail)


def keep_typed_password(profile: str, secret: SecretStr) -> None:
    """Store a password a person typed, once it proved right; a keyring that cannot store
    it leaves it used once only."""
    try:
        set_password(profile, secret)
        log.info("Stored the password of profile %s in the keyring.", profile)
    except KeyringUnavailableError:
        log.info("The keyring is not usable; the password was used once only.")


def _describe_source(source: str) -> str:
    """``env:KFP_HOST`` as "KFP_HOST", ``arg`` as "the host= argument"."""
    if source.startswith("env:"):
        return source[4:]
    return "the host= argument" if source == "arg" else source


# --- platform-token: the bearer token, in the same entry a Dex password has -----------------


def get_token(profile: str) -> SecretStr | None:
    """The bearer token stored for ``profile`` (service ``kfp-profiles``), if any."""
    return get_password(profile)


def set_token(profile: str, token: SecretStr) -> None:
    _worded(lambda: set_password(profile, token), variable="KFP_TOKEN")


def delete_token(profile: str) -> bool:
    return _worded(lambda: delete_password(profile), secret="token", flag=" --token")


# --- platform-oidc: a confidential client's secret, beside the profile's entry ---------------


def client_secret_key(profile: str) -> str:
    """The keyring username of ``profile``'s client secret (service ``kfp-profiles``)."""
    return f"{profile}#client_secret"


def get_client_secret(profile: str) -> SecretStr | None:
    value = keyring_get(PASSWORD_SERVICE, client_secret_key(profile), name=profile)
    return SecretStr(value) if value else None


def set_client_secret(profile: str, secret: SecretStr) -> None:
    key, value = client_secret_key(profile), secret.get_secret_value()
    _worded(
        lambda: keyring_set(PASSWORD_SERVICE, key, value, name=profile),
        variable="KFP_CLIENT_SECRET",
    )


def delete_client_secret(profile: str) -> bool:
    key = client_secret_key(profile)
    return _worded(
        lambda: keyring_delete(PASSWORD_SERVICE, key, name=profile),
        secret="client secret",
        flag=" --client-secret",
    )


T = TypeVar("T")


def _worded(action: Callable[[], T], **fields: str) -> T:
    """``action``, its store or delete error worded for this secret (its variable, its flag)."""
    failure: KfpProfilesError | None = None
    try:
        return action()
    except (KeyringStoreError, KeyringDeleteError) as exc:
        failure = exc.with_fields(**fields)
    raise failure
