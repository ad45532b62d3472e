"""`list --status` (status.py, cli/manage.py): what each profile keeps, read offline.

Sessions are made for real (a Dex login, a token command run, a device-flow
sign-in against the emulated Kubeflow over loopback) and stored in the real
Secret Service keyring of the `keyring_backend` fixture; `list --status` then
runs as the console script in a subprocess. Plain `list` is shown to need no
keyring at all: a backend that cannot even be imported does not disturb it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kfp_profiles import get_client
from kfp_profiles.testing import Emulator
from tests.helpers import DEX_PASSWORD, FAKES, cli, write_profiles
from tests.tokens import NAMESPACE, every_kind_file

ROOT = Path(__file__).resolve().parent.parent
#: `14:05 UTC (1 h 59 min)`, a date before it when not today: the end and what is left.
UNTIL = r"(\d{4}-\d\d-\d\d )?\d\d:\d\d UTC \((\d+ h )?\d+ min\)"


pytestmark = pytest.mark.usefixtures("fresh_token_sources")


def rows(out: str) -> dict[str, str]:
    """Each profile's line of `list`, by name, from its KIND column on."""
    found = {}
    for line in out.splitlines()[1:]:
        match = re.match(r"^[* ] +(\S+) +(.*)$", line)
        if match:
            found[match[1]] = match[2]
    return found


def status_of(name: str) -> str:
    return rows(cli("list", "--status").stdout)[name]


@pytest.mark.keyring
def test_list_status_shows_each_profiles_secret_and_session(
    profiles_path: Path, keyring_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBECTL_TOKEN_LOG", str(profiles_path.parent / "runs.jsonl"))
    with Emulator.for_release("1.11", device_interval=0) as emu:
        monkeypatch.setenv("FAKE_KUBECTL_API", emu.kube_url)
        emu.auto_approve_devices()
        every_kind_file(profiles_path, emu)

        before = cli("list", "--status")
        assert (before.returncode, before.stderr) == (0, "")
        assert before.stdout.splitlines()[0].split() == [
            "NAME", "KIND", "HOST", "NAMESPACE", "SECRET", "SESSION",
        ]  # fmt: skip
        found = rows(before.stdout)
        assert found["prod"].split()[-4:] == ["no", "password", "no", "session"]
        assert found["ci"].split()[-3:] == ["-", "no", "token"]
        assert found["bot"].split()[-4:] == ["no", "token", "no", "token"]
        assert found["sso"].split()[-5:] == ["no", "client", "secret", "no", "sign-in"]
        assert found["pod"].split()[-2:] == ["-", "-"]

        keyring_backend.set_password("kfp-profiles", "prod", DEX_PASSWORD)
        assert cli("login", "prod").returncode == 0
        token = emu.service_account_token(NAMESPACE)
        keyring_backend.set_password("kfp-profiles", "bot", token)
        get_client("ci").list_experiments()  # runs the command; its token is cached
        get_client("sso", prompt=True).list_experiments()  # signs in; kept in the keyring

        after = cli("list", "--status")
        assert (after.returncode, after.stderr) == (0, "")
        found = rows(after.stdout)
        assert re.search(rf"password +session live until {UNTIL}, renews itself$", found["prod"])
        assert re.search(rf" - +token live until {UNTIL}, renews itself$", found["ci"])
        assert re.search(rf" token +token live until {UNTIL}$", found["bot"])
        sso = rf"no client secret +sign-in live until {UNTIL}, renews itself$"
        assert re.search(sso, found["sso"])
        assert token not in after.stdout and DEX_PASSWORD not in after.stdout

        listed = json.loads(cli("list", "--status", "--json").stdout)
        jsonschema.validate(listed, json.loads((ROOT / "schemas/list.schema.json").read_text()))
        status = {entry["name"]: entry["status"] for entry in listed["profiles"]}
        assert status["prod"]["secret"] == "password" and status["prod"]["secret_stored"] is True
        assert status["prod"]["session_state"] == "live" and status["prod"]["renews"] is True
        assert status["bot"]["expires_at"].endswith("+00:00")
        assert status["pod"] == {
            "secret": None, "secret_stored": None, "session": None, "session_state": None,
            "expires_at": None, "renews": False, "problem": None,
        }  # fmt: skip

        assert cli("logout", "prod").returncode == 0
        assert status_of("prod").split()[-3:] == ["password", "no", "session"]


@pytest.mark.keyring
def test_a_session_made_for_another_host_is_not_counted(
    profiles_path: Path, keyring_backend: Any
) -> None:
    with Emulator.for_release("1.11") as emu:
        every_kind_file(profiles_path, emu)
        keyring_backend.set_password("kfp-profiles", "prod", DEX_PASSWORD)
        assert cli("login", "prod").returncode == 0
        text = profiles_path.read_text().replace(emu.api_url, "https://elsewhere.example.com", 1)
        write_profiles(profiles_path, text)
        assert status_of("prod").split()[-3:] == ["password", "no", "session"]


def test_plain_list_reads_no_keyring_and_status_says_when_it_cannot(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        '[profiles.prod]\nkind = "platform-dex"\nhost = "https://kf.example.com"\n'
        'username = "me@example.com"\nnamespace = "team-a"\n'
        '[profiles.bot]\nkind = "platform-token"\nhost = "https://kf.example.com"\n'
        'namespace = "team-a"\n',
    )
    broken = {"PYTHON_KEYRING_BACKEND": "no_such_module.Keyring"}
    plain = cli("list", env=broken)
    assert (plain.returncode, plain.stderr) == (0, "")
    assert "SECRET" not in plain.stdout

    status = cli("list", "--status", env=broken)
    assert status.returncode == 0
    assert rows(status.stdout)["prod"].split()[-3:] == ["unknown", "no", "session"]
    # A keyring token is its own session: as unknown as the secret.
    assert rows(status.stdout)["bot"].split()[-2:] == ["unknown", "-"]
    assert status.stderr == (
        "kfp-profiles: warning: the keyring could not be read (ModuleNotFoundError: No module "
        "named 'no_such_module'): SECRET shows 'unknown'.\n"
    )
