"""`secret set|delete --token|--client-secret`, `login` and `logout` of the token kinds,
through the console script, in the real Secret Service keyring.

The token comes from the emulated cluster (its ServiceAccount issuer), from the
stand-in `kubectl create token` (tests/fakes/kubectl: there is no Kubernetes
cluster here) or from a small Python script that prints an opaque token; the
gateway is the emulator's, over real HTTP on loopback. Every test ends with the
leak check: the token or secret appears in no output and not in the profiles file.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles.testing import Emulator, StaticClient
from tests.helpers import DEX_FILE, FAKES, cli, step_lines, write_profiles

NAMESPACE = "kubeflow-user-example-com"
SA = f"ServiceAccount {NAMESPACE}/default-editor"
BACKEND = "keyring.backends.SecretService.Keyring"
CREATE_TOKEN = ["kubectl", "-n", NAMESPACE, "create", "token", "default-editor"]


pytestmark = pytest.mark.usefixtures("fresh_token_sources")


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    """Kubeflow 1.11 (its gateway takes ServiceAccount tokens), the stand-in kubectl on PATH."""
    with Emulator.for_release("1.11") as emulator:
        emulator.add_experiment("mine", namespace=NAMESPACE)
        monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_KUBECTL_API", emulator.kube_url)
        monkeypatch.setenv("FAKE_KUBECTL_TOKEN_LOG", str(tmp_path / "kubectl-runs.jsonl"))
        yield emulator


def token_profile(path: Path, emu: Emulator, *lines: str, name: str = "t") -> Path:
    body = "\n".join(lines)
    return write_profiles(
        path,
        f'[profiles.{name}]\nkind = "platform-token"\nhost = "{emu.url}"\n'
        f'namespace = "{NAMESPACE}"\ntimeout = 20\n{body}\n',
    )


def kubectl_runs(tmp_path: Path) -> int:
    log = tmp_path / "kubectl-runs.jsonl"
    return len(log.read_text().splitlines()) if log.exists() else 0


def never_shown(secret: str, outputs: list[Any], *files: Path) -> None:
    """The leak check: ``secret`` in no stdout or stderr, nor in any of ``files``."""
    for done in outputs:
        assert secret not in done.stdout and secret not in done.stderr, done.args
    for path in files:
        assert secret not in path.read_text()


# --- secret set/delete --token ------------------------------------------------------------


@pytest.mark.keyring
def test_a_token_stored_with_secret_set_is_what_the_profile_sends(
    profiles_path: Path, emu: Emulator, keyring_backend: Any
) -> None:
    token = emu.service_account_token(NAMESPACE)
    token_profile(profiles_path, emu)
    stored = cli("secret", "set", "t", "--token", stdin=token + "\n")
    assert (stored.returncode, stored.stderr) == (0, "")
    assert stored.stdout == f"Stored the token of 't' in the keyring ({BACKEND}).\n"
    assert keyring_backend.get_password("kfp-profiles", "t") == token

    emu.reset_counts()
    checked = cli("check", "t")  # the real client, its token from the keyring
    assert checked.returncode == 0, checked.stderr
    assert step_lines(checked.stdout)["list experiments"][-4:] == [
        "experiment",
        "in",
        "namespace",
        NAMESPACE,
    ]
    sent = {r.headers.get("authorization") for r in emu.requests if "/apis/" in r.path}
    assert sent == {f"Bearer {token}"}

    logged_in = cli("login", "t")
    assert logged_in.returncode == 0, logged_in.stderr
    assert re.fullmatch(
        rf"Got a token for profile 't' from the OS keyring: {SA}, expires in 0 h 5[89] min\.\n",
        logged_in.stdout,
    ), logged_in.stdout
    shown = cli("show", "t", "--sources")
    assert re.search(r"^token\s+\*{8}\s+keyring$", shown.stdout, re.M), shown.stdout

    deleted = cli("secret", "delete", "t", "--token")
    assert deleted.stdout == "Deleted the token of 't' from the keyring.\n"
    again = cli("secret", "delete", "t")  # the kind's own secret: the token
    assert again.stdout == "No token of 't' was stored in the keyring.\n"
    gone = cli("check", "t")
    assert gone.returncode == 3
    assert "`kfp-profiles secret set t --token`" in gone.stdout + gone.stderr
    outputs = [stored, checked, logged_in, shown, deleted, again, gone]
    never_shown(token, outputs, profiles_path)


@pytest.mark.keyring
def test_secret_set_without_a_flag_stores_a_token_profiles_token(
    profiles_path: Path, emu: Emulator, keyring_backend: Any
) -> None:
    token_profile(profiles_path, emu)
    done = cli("secret", "set", "t", stdin="opaque-token-123")
    assert done.stdout == f"Stored the token of 't' in the keyring ({BACKEND}).\n"
    assert keyring_backend.get_password("kfp-profiles", "t") == "opaque-token-123"
    login = cli("login", "t")
    assert login.stdout == (
        "Got a token for profile 't' from the OS keyring: not a JWT, no expiry: used until "
        "refused.\n"
    )
    never_shown("opaque-token-123", [done, login], profiles_path)


@pytest.mark.keyring
@pytest.mark.parametrize(
    ("stdin", "problem"),
    [
        ("\n", "it is empty"),
        ("   \n", "it is empty"),
        ("abc def-secret-part\n", "it has whitespace at character 4, so it is more than one token"),
    ],
)
def test_a_token_that_is_no_single_token_is_refused_and_nothing_stored(
    profiles_path: Path, emu: Emulator, keyring_backend: Any, stdin: str, problem: str
) -> None:
    token_profile(profiles_path, emu)
    done = cli("secret", "set", "t", "--token", stdin=stdin)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"kfp-profiles: error: The token given for profile 't' cannot be stored: {problem}; "
        "paste it at the hidden prompt or pipe it in (e.g. `kubectl -n "
        f"{NAMESPACE} create token default-editor | kfp-profiles secret set t --token`).\n"
    )
    assert keyring_backend.get_password("kfp-profiles", "t") is None
    assert "secret-part" not in done.stderr


# --- the wrong secret for the kind ------------------------------------------------------------


KINDS_FILE = (
    DEX_FILE.format(host="https://kf.example.com", user="u", namespace="n")
    + """
[profiles.t]
kind = "platform-token"
host = "https://kf.example.com"
namespace = "n"
[profiles.o]
kind = "platform-oidc"
host = "https://kf.example.com"
namespace = "n"
client_id = "kfp-profiles"
[profiles.pod]
kind = "standalone-in-cluster"
"""
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["set", "prod", "--token"],
            "Profile 'prod' is of kind 'platform-dex', which keeps no bearer token; store its "
            "Dex password with `kfp-profiles secret set prod`.",
        ),
        (
            ["delete", "prod", "--token"],  # the token's entry is the password's: kept safe
            "Profile 'prod' is of kind 'platform-dex', which keeps no bearer token; store its "
            "Dex password with `kfp-profiles secret set prod`.",
        ),
        (
            ["set", "t", "--client-secret"],
            "Profile 't' is of kind 'platform-token', which keeps no client secret; store its "
            "bearer token with `kfp-profiles secret set t --token`.",
        ),
        (
            ["set", "o"],
            "Profile 'o' is of kind 'platform-oidc', which keeps no password; it signs in with "
            "`kfp-profiles login o`, and a confidential client's secret is stored with "
            "`kfp-profiles secret set o --client-secret`.",
        ),
        (
            ["delete", "o"],
            "Profile 'o' is of kind 'platform-oidc', which keeps no password; it signs in with "
            "`kfp-profiles login o`, and a confidential client's secret is stored with "
            "`kfp-profiles secret set o --client-secret`.",
        ),
        (
            ["set", "pod", "--token"],
            "Profile 'pod' is of kind 'standalone-in-cluster', which keeps no bearer token; only "
            "platform-dex (a password), platform-token (`--token`) and platform-oidc "
            "(`--client-secret`) profiles keep a secret in the keyring.",
        ),
        (
            ["set", "pod"],
            "Profile 'pod' is of kind 'standalone-in-cluster', which logs in with no password; "
            "only platform-dex profiles have one.",
        ),
    ],
)
def test_a_secret_the_kind_does_not_keep_is_refused_with_the_fix(
    profiles_path: Path, args: list[str], message: str
) -> None:
    write_profiles(profiles_path, KINDS_FILE)
    done = cli("secret", *args, stdin="never-stored-secret\n", env={"PYTHON_KEYRING_BACKEND": ""})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"kfp-profiles: error: {message}\n"


def test_both_flags_at_once_is_a_usage_error(profiles_path: Path) -> None:
    write_profiles(profiles_path, KINDS_FILE)
    done = cli("secret", "set", "t", "--token", "--client-secret", stdin="x\n")
    assert done.returncode == 2
    assert "pass --token or --client-secret, not both" in done.stderr


# --- the client secret of platform-oidc ---------------------------------------------------


@pytest.mark.keyring
def test_a_client_secret_stored_with_secret_set_lets_a_confidential_client_sign_in(
    profiles_path: Path, keyring_backend: Any
) -> None:
    client_secret = "conf-client-secret-7f3a9"
    confidential = StaticClient("kfp-profiles", secret=client_secret, name="kfp-profiles")
    # Dex takes a confidential client's secret with the device request (checked once the
    # person signs in) and at every refresh: an ID token of 2 s is due after 1 s.
    with Emulator.for_release(
        "1.11", device_interval=0, clients=[confidential], id_token_lifetime=2
    ) as emu:
        emu.add_experiment("mine", namespace=NAMESPACE)
        emu.auto_approve_devices()
        write_profiles(
            profiles_path,
            f'[profiles.o]\nkind = "platform-oidc"\nhost = "{emu.api_url}"\n'
            f'namespace = "{NAMESPACE}"\nclient_id = "kfp-profiles"\ntimeout = 10\n',
        )
        stored = cli("secret", "set", "o", "--client-secret", stdin=client_secret + "\n")
        assert stored.stdout == f"Stored the client secret of 'o' in the keyring ({BACKEND}).\n"
        assert keyring_backend.get_password("kfp-profiles", "o#client_secret") == client_secret
        signed_in = cli("login", "o")
        assert signed_in.returncode == 0, signed_in.stderr
        time.sleep(1.2)
        refreshes = emu.grant_counts.get("refresh_token", 0)
        checked = cli("check", "o")  # the stored secret goes with the refresh
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert emu.grant_counts["refresh_token"] > refreshes
        shown = cli("show", "o", "--sources")
        assert re.search(r"^client_secret\s+\*{8}\s+keyring$", shown.stdout, re.M), shown.stdout

        deleted = cli("secret", "delete", "o", "--client-secret")
        assert deleted.stdout == "Deleted the client secret of 'o' from the keyring.\n"
        assert keyring_backend.get_password("kfp-profiles", "o#client_secret") is None
        time.sleep(1.2)
        refused = cli("check", "o")  # no secret now: Dex refuses the client at the refresh
        assert refused.returncode == 6, refused.stdout
        assert "invalid_client" in refused.stdout + refused.stderr
        logged_out = cli("logout", "o")
        assert logged_out.stdout == "Deleted the sign-in of 'o'.\n"
    outputs = [refused, stored, signed_in, checked, shown, deleted, logged_out]
    never_shown(client_secret, outputs, profiles_path)


def test_an_empty_client_secret_is_refused(profiles_path: Path) -> None:
    write_profiles(profiles_path, KINDS_FILE)
    done = cli("secret", "set", "o", "--client-secret", stdin="\n")
    assert done.returncode == 2
    assert done.stderr == (
        "kfp-profiles: error: The client secret given for profile 'o' cannot be stored: it is "
        "empty; paste it at the hidden prompt or pipe it in (e.g. `printenv CLIENT_SECRET | "
        "kfp-profiles secret set o --client-secret`).\n"
    )


# --- login and logout of platform-token ---------------------------------------------------


@pytest.mark.keyring
def test_login_runs_the_token_command_caches_its_token_and_logout_forgets_it(
    profiles_path: Path, emu: Emulator, keyring_backend: Any, tmp_path: Path
) -> None:
    token_profile(profiles_path, emu, f"token_command = {json.dumps(CREATE_TOKEN)}")
    first = cli("login", "t")
    assert first.returncode == 0, first.stderr
    command = " ".join(CREATE_TOKEN)
    assert re.fullmatch(
        rf"Got a token for profile 't' from the token command `{command}`: {SA}, expires in "
        r"(0 h 59|1 h 0) min; cached in the keyring\.\n",
        first.stdout,
    ), first.stdout
    assert kubectl_runs(tmp_path) == 1
    cached = keyring_backend.get_password("kfp-profiles-session", "t#token")
    token = json.loads(cached)["token"]

    again = cli("login", "t")  # login gets a new one now, whatever is cached
    assert kubectl_runs(tmp_path) == 2
    renewed = json.loads(keyring_backend.get_password("kfp-profiles-session", "t#token"))
    assert renewed["token"] != token

    checked = cli("check", "t")  # a new process uses the cached token: no run
    assert checked.returncode == 0, checked.stderr
    assert kubectl_runs(tmp_path) == 2

    out = cli("logout", "t")
    assert (out.returncode, out.stdout) == (0, "Deleted the cached token of 't'.\n")
    assert keyring_backend.get_password("kfp-profiles-session", "t#token") is None
    assert cli("logout", "t").stdout == "No token of 't' was cached.\n"
    never_shown(token, [first, again, checked, out], profiles_path)
    never_shown(renewed["token"], [first, again, checked, out], profiles_path)


def test_login_of_a_command_that_prints_an_opaque_token_says_it_has_no_expiry(
    profiles_path: Path, emu: Emulator, tmp_path: Path, no_keyring: None
) -> None:
    script = tmp_path / "print-token.py"
    script.write_text("print('opaque-from-a-script-42')\n")
    argv = [sys.executable, str(script)]
    token_profile(profiles_path, emu, f"token_command = {json.dumps(argv)}")
    done = cli("login", "t", env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"Got a token for profile 't' from the token command `{sys.executable} {script}`: "
        "not a JWT, no expiry: used until refused; cached in the file.\n"
    )
    assert done.stderr == ""
    never_shown("opaque-from-a-script-42", [done], profiles_path)


def test_login_of_a_failing_command_names_it_and_its_stderr(
    profiles_path: Path, emu: Emulator
) -> None:
    token_profile(
        profiles_path, emu, 'token_command = ["kubectl", "-n", "nowhere", "create", "token", "x"]'
    )
    done = cli("login", "t", env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert done.returncode == 4
    assert done.stderr.startswith(
        "kfp-profiles: error: Profile 't': the token command `kubectl -n nowhere create token x`"
    )
    assert "not found" in done.stderr


def test_the_library_login_returns_the_source_subject_and_expiry(
    profiles_path: Path, emu: Emulator, tmp_path: Path, no_keyring: None
) -> None:
    from kfp_profiles.client import login

    token_profile(profiles_path, emu, f"token_command = {json.dumps(CREATE_TOKEN)}")
    result = login("t")
    assert (result.profile, result.kind, result.door, result.requests) == (
        "t",
        "platform-token",
        None,
        0,
    )
    assert result.source == f"the token command `{' '.join(CREATE_TOKEN)}`"
    assert (result.identity, result.stored_in) == (SA, "file")
    assert result.expires_at is not None and 3500 < result.expires_at - time.time() <= 3600
    assert kubectl_runs(tmp_path) == 1
    assert "eyJ" not in repr(result)  # no JWT in it
