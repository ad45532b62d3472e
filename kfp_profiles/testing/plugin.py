"""pytest fixtures for code that uses kfp-profiles.

Installing kfp-profiles registers this module as a pytest plugin (entry point
``kfp_profiles``), so the fixtures below are available in every test suite of
that environment without a ``conftest.py`` line.

``secret_service`` (session scope)
    A real freedesktop Secret Service (gnome-keyring on a private D-Bus), the
    keyring Linux users have, started once per test session; see
    ``kfp_profiles.testing.keyring.SecretServiceKeyring``. For the whole
    session ``DBUS_SESSION_BUS_ADDRESS``, ``PYTHON_KEYRING_BACKEND`` and the
    ``XDG_*`` folders point at it, and ``keyring`` uses its SecretService
    backend. It needs ``gnome-keyring-daemon``, ``dbus-daemon`` and
    ``dbus-send`` (Debian: ``apt-get install -y --no-install-recommends
    gnome-keyring dbus-daemon dbus-bin``). When it cannot start, the tests
    that use it are skipped with the reason; with ``CI=true`` they fail
    instead, so a CI machine never passes without having tested the keyring.

``keyring_backend`` (function scope)
    Uses ``secret_service`` and yields the ``keyring`` backend talking to it.
    Each test starts with no item stored under the services ``kfp-profiles``
    (passwords) and ``kfp-profiles-session`` (cached sessions), and whatever
    it stored there is deleted afterwards. A test may call
    ``secret_service.lock()`` or ``secret_service.kill_daemon()`` to see how
    code copes with a locked or vanished keyring: the keyring is brought back,
    unlocked, before the next test.

``kfp_emulator`` (function scope)
    A factory: ``kfp_emulator(**options)`` starts a
    ``kfp_profiles.testing.Emulator`` (an emulated Kubeflow front door, Dex
    and KFP API on loopback; ``release="1.11"`` picks a release's preset)
    and returns it; every emulator it started is stopped after the test.
    The options include Dex's OIDC settings and the gateway's
    (``kfp_emulator(release="1.11", audiences=["kfp-profiles"],
    id_token_lifetime=5, device_interval=0)``); a sign-in URL is walked by a
    scripted person with ``kfp_profiles.testing.browse``.

Tests may be marked ``@pytest.mark.keyring`` so that ``-m "not keyring"``
deselects them on machines without the daemons.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from kfp_profiles.testing.keyring import (
    KeyringHarnessError,
    SecretServiceKeyring,
    use_secret_service_backend,
)

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from kfp_profiles.testing.emulator import Emulator

__all__ = ["KFP_KEYRING_SERVICES", "keyring_backend", "kfp_emulator", "secret_service"]

#: The keyring services kfp-profiles stores under: profile passwords and
#: cached Dex sessions.
KFP_KEYRING_SERVICES = ("kfp-profiles", "kfp-profiles-session")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "keyring: needs the real Secret Service keyring started by the session fixture",
    )


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def secret_service() -> Iterator[SecretServiceKeyring]:
    """A real Secret Service keyring for the session; the environment points at it."""
    harness = SecretServiceKeyring()
    try:
        harness.start()
    except KeyringHarnessError as exc:
        if _in_ci():
            pytest.fail(f"CI=true and the Secret Service keyring cannot start: {exc}")
        pytest.skip(f"Secret Service keyring unavailable: {exc}")
    try:
        harness.apply_env()
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def keyring_backend(secret_service: SecretServiceKeyring) -> Iterator[KeyringBackend]:
    """The SecretService ``keyring`` backend; kfp-profiles' items are removed around each test."""
    _reset(secret_service)
    yield use_secret_service_backend()
    _reset(secret_service)


def _reset(harness: SecretServiceKeyring) -> None:
    # A test may have locked the collection or killed the daemon on purpose.
    harness.ensure_ready()
    for service in KFP_KEYRING_SERVICES:
        harness.delete_items(service)


# --- the emulated Kubeflow ------------------------------------------------------


@pytest.fixture
def kfp_emulator() -> Iterator[Callable[..., Emulator]]:
    """A factory of running emulators, all stopped when the test ends.

    ``kfp_emulator(**options)`` takes ``Emulator``'s keywords, or
    ``release="1.11"`` (plus overrides) for ``Emulator.for_release``::

        def test_login(kfp_emulator):
            emu = kfp_emulator(release="1.11")
            client = my_code_that_logs_in(emu.api_url, "user@example.com", "12341234")
    """
    from kfp_profiles.testing.emulator import Emulator

    started: list[Emulator] = []

    def start(release: str | None = None, **options: Any) -> Emulator:
        emulator = Emulator.for_release(release, **options) if release else Emulator(**options)
        started.append(emulator.start())
        return emulator

    try:
        yield start
    finally:
        for emulator in reversed(started):
            emulator.stop()
