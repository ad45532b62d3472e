"""`secret set|delete`, `login`, `logout` (cli/credentials.py), in the real keyring.

`secret set` stores into the real Secret Service keyring of the
`keyring_backend` fixture; `login` runs in-process against the emulated
Kubeflow front door over real HTTP on loopback. Without a keyring, each
command says why and how to do without.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles.cli import run
from kfp_profiles.testing import Emulator
from tests.helpers import (
    DEX_FILE,
    DEX_NAMESPACE,
    DEX_PASSWORD,
    DEX_USER,
    cli,
    step_lines,
    write_profiles,
)

# --- secrets in the real keyring -----------------------------------------------------------


@pytest.mark.keyring
def test_secret_set_stores_in_the_keyring_and_nowhere_else(
    profiles_path: Path, keyring_backend: Any
) -> None:
    write_profiles(
        profiles_path,
        DEX_FILE.format(host="https://kf.example.com", user=DEX_USER, namespace=DEX_NAMESPACE),
    )
    password = "correct horse battery staple 4d7!"
    done = cli("--debug", "secret", "set", "prod", stdin=password + "\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Stored the password of 'prod' in the keyring (")
    assert keyring_backend.get_password("kfp-profiles", "prod") == password
    shown = cli("show", "prod", "--sources")
    assert re.search(r"^password\s+\*{8}\s+keyring$", shown.stdout, re.M)
    for text in (done.stdout, done.stderr, shown.stdout, shown.stderr, profiles_path.read_text()):
        assert password not in text

    done = cli("rename", "prod", "live")
    assert "Moved its password in the keyring." in done.stdout.splitlines()
    assert keyring_backend.get_password("kfp-profiles", "prod") is None
    assert keyring_backend.get_password("kfp-profiles", "live") == password

    done = cli("remove", "live")
    assert "Deleted its password from the keyring." in done.stdout.splitlines()
    assert keyring_backend.get_password("kfp-profiles", "live") is None


@pytest.mark.keyring
def test_secret_delete_is_idempotent(profiles_path: Path, keyring_backend: Any) -> None:
    write_profiles(
        profiles_path, DEX_FILE.format(host="https://kf.example.com", user="u", namespace="n")
    )
    keyring_backend.set_password("kfp-profiles", "prod", "x-secret")
    assert (
        cli("secret", "delete", "prod").stdout
        == "Deleted the password of 'prod' from the keyring.\n"
    )
    assert (
        cli("secret", "delete", "prod").stdout
        == "No password of 'prod' was stored in the keyring.\n"
    )


# --- login and logout ----------------------------------------------------------------------


@pytest.mark.keyring
def test_login_and_logout_through_the_session_cache(
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keyring_backend: Any,
) -> None:
    with Emulator.for_release("1.11") as emulator:
        write_profiles(
            profiles_path,
            DEX_FILE.format(host=emulator.api_url, user=DEX_USER, namespace=DEX_NAMESPACE),
        )
        keyring_backend.set_password("kfp-profiles", "prod", DEX_PASSWORD)
        assert run(["login", "prod"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(
            f"Logged in to {emulator.api_url} through oauth2-proxy for profile 'prod'"
        )
        assert keyring_backend.get_password("kfp-profiles-session", "prod") is not None

        emulator.reset_counts()
        assert run(["check", "prod"]) == 0  # the cached session: no login
        assert step_lines(capsys.readouterr().out)["authenticate"][-3:] == [
            "of",
            DEX_USER,
            "(oauth2-proxy)",
        ]
        assert not [key for key in emulator.counts if "/dex/" in key]

        assert run(["rename", "prod", "live"]) == 0
        assert "Moved its cached session." in capsys.readouterr().out.splitlines()
        assert run(["logout", "live"]) == 0
        assert capsys.readouterr().out == "Deleted the cached session of 'live'.\n"
        assert keyring_backend.get_password("kfp-profiles-session", "live") is None


# --- no keyring, or one that stores nothing ------------------------------------------------


NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

NO_KEYRING_REASON = "NoKeyringError: No recommended backend was available"


def test_without_a_keyring_every_command_gives_one_short_reason_and_its_own_fix(
    profiles_path: Path,
) -> None:
    write_profiles(
        profiles_path, DEX_FILE.format(host="https://kf.example.com", user="u", namespace="n")
    )
    stored = cli("secret", "set", "prod", stdin="a-password\n", env=NO_KEYRING)
    assert stored.returncode == 3
    assert stored.stderr == (
        f"kfp-profiles: error: The OS keyring cannot store secrets ({NO_KEYRING_REASON}), so "
        f"nothing was stored for profile 'prod': start a Secret Service or choose a backend "
        f"that stores with PYTHON_KEYRING_BACKEND, or set KFP_PASSWORD instead.\n"
    )
    deleted = cli("secret", "delete", "prod", env=NO_KEYRING)
    assert deleted.returncode == 3
    assert deleted.stderr == (
        f"kfp-profiles: error: The OS keyring cannot be used ({NO_KEYRING_REASON}), so nothing "
        f"was deleted for profile 'prod': start or unlock the keyring that holds the password "
        f"(a Secret Service, or the backend PYTHON_KEYRING_BACKEND names) and run "
        f"`kfp-profiles secret delete prod` again.\n"
    )
    shown = cli("show", "prod", "--sources", env=NO_KEYRING)
    assert re.search(
        rf"^password\s+\(unknown\)\s+keyring unavailable: {NO_KEYRING_REASON}$",
        shown.stdout,
        re.M,
    ), shown.stdout
    doctor = cli("doctor", "--offline", "prod", env=NO_KEYRING)
    assert f"keyring     WARN  unusable ({NO_KEYRING_REASON}): " in doctor.stdout
    for done in (stored, deleted, shown, doctor):
        assert "keyrings.alt" not in done.stdout + done.stderr
        assert "a-password" not in done.stdout + done.stderr


def test_a_keyring_that_stores_nothing_is_named_when_storing(profiles_path: Path) -> None:
    write_profiles(
        profiles_path, DEX_FILE.format(host="https://kf.example.com", user="u", namespace="n")
    )
    done = cli(
        "secret",
        "set",
        "prod",
        stdin="a-password\n",
        env={"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"},
    )
    assert done.returncode == 3
    assert done.stderr.startswith(
        "kfp-profiles: error: The OS keyring cannot store secrets (the backend "
        "keyring.backends.null.Keyring stores nothing), so nothing was stored for profile 'prod'"
    )
    assert "secret set" not in done.stderr  # not the command that just failed
