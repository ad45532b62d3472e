"""The prompts of `add` and `secret set` at a real terminal (a pseudo-terminal, stdlib `pty`).

The child is the installed console script with the pty as its controlling
terminal, as in a shell; the test types at the prompts like a person. The
password must land in the real Secret Service keyring and nowhere else: not
on the terminal (no echo), not in the TOML file.
"""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import HANG_BOUND, SCRIPT, write_profiles

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

pytestmark = [
    pytest.mark.keyring,
    pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs pty"),
]


class Terminal:
    """A command running on a pseudo-terminal, driven like a person at a keyboard."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ)
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec at once (the parent may have threads)
            try:
                os.execve(str(SCRIPT), [str(SCRIPT), *args], env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.transcript = ""
        self._seen = 0

    def _read(self, deadline: float) -> bool:
        """Read what is there; False at end of output."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.transcript += chunk.decode("utf-8", "replace")
        return True

    def expect(self, text: str) -> None:
        """Wait until ``text`` appears after what was already matched."""
        deadline = time.monotonic() + HANG_BOUND
        while text not in self.transcript[self._seen :]:
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.transcript}"
            assert self._read(deadline), f"ended without {text!r}:\n{self.transcript}"
        self._seen = self.transcript.index(text, self._seen) + len(text)

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def finish(self) -> int:
        """Read to the end and return the exit status."""
        deadline = time.monotonic() + HANG_BOUND
        while self._read(deadline):
            assert time.monotonic() < deadline, f"did not finish:\n{self.transcript}"
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_add_prompts_for_what_is_missing_and_stores_the_password(
    profiles_path: Path, keyring_backend: Any
) -> None:
    password = "typed-at-the-terminal-9x!"
    term = Terminal("add", "prod")
    term.expect(
        "Kind (standalone-in-cluster, standalone-port-forward, platform-in-cluster, platform-dex, "
        "platform-token, platform-oidc): "
    )
    term.type("platform-dex")
    term.expect(
        "host (KFP API URL at the Istio gateway, e.g. https://kubeflow.example.com/pipeline): "
    )
    term.type("https://kubeflow.example.com/pipeline")
    term.expect("namespace (Your Kubeflow profile namespace, e.g. kubeflow-user-example-com): ")
    term.type("kubeflow-user-example-com")
    term.expect("username (Dex login, e.g. user@example.com): ")
    term.type("user@example.com")
    # The prompt's last space is written after echo is off: typing now is never shown.
    term.expect(
        "Dex password of user@example.com for profile 'prod', kept in the OS keyring "
        "(Enter to skip): "
    )
    term.type(password)
    term.expect("Repeat it: ")
    term.type(password)
    term.expect("Stored the password of 'prod' in the keyring (")
    assert term.finish() == 0

    assert "platform-dex\r\n" in term.transcript  # what is typed at a visible prompt shows ...
    assert password not in term.transcript  # ... the password does not
    assert password not in profiles_path.read_text()
    assert tomllib.loads(profiles_path.read_text())["profiles"]["prod"] == {
        "kind": "platform-dex",
        "host": "https://kubeflow.example.com/pipeline",
        "namespace": "kubeflow-user-example-com",
        "username": "user@example.com",
    }
    assert keyring_backend.get_password("kfp-profiles", "prod") == password


def test_add_at_a_terminal_can_skip_the_password(profiles_path: Path, keyring_backend: Any) -> None:
    term = Terminal(
        "add",
        "prod",
        "--kind",
        "platform-dex",
        "--host",
        "https://kf.example.com",
        "--namespace",
        "team-a",
        "--username",
        "me@example.com",
    )
    term.expect("(Enter to skip): ")
    term.type("")
    term.expect("No password stored; store it later with `kfp-profiles secret set prod`")
    assert term.finish() == 0
    assert keyring_backend.get_password("kfp-profiles", "prod") is None


def test_secret_set_asks_twice_hidden_and_retries_on_a_mismatch(
    profiles_path: Path, keyring_backend: Any
) -> None:
    write_profiles(
        profiles_path,
        """
        [profiles.prod]
        kind = "platform-dex"
        host = "https://kf.example.com"
        username = "me@example.com"
        namespace = "team-a"
        """,
    )
    before = profiles_path.read_bytes()
    term = Terminal("secret", "set", "prod")
    term.expect("Dex password of me@example.com for profile 'prod': ")
    term.type("first-attempt-1")
    term.expect("Repeat it: ")
    term.type("mistyped-attempt-2")
    term.expect("The two entries differ; try again.")
    term.expect("Dex password of me@example.com for profile 'prod': ")
    term.type("the-real-one-3")
    term.expect("Repeat it: ")
    term.type("the-real-one-3")
    term.expect("Stored the password of 'prod' in the keyring")
    assert term.finish() == 0

    for typed in ("first-attempt-1", "mistyped-attempt-2", "the-real-one-3"):
        assert typed not in term.transcript
    assert keyring_backend.get_password("kfp-profiles", "prod") == "the-real-one-3"
    assert profiles_path.read_bytes() == before


@pytest.mark.parametrize(
    ("kind", "flag", "word", "entry"),
    [
        ("platform-token", "--token", "token", "prod"),
        ("platform-oidc", "--client-secret", "client secret", "prod#client_secret"),
    ],
)
def test_secret_set_asks_once_hidden_for_a_token_or_a_client_secret(
    profiles_path: Path, keyring_backend: Any, kind: str, flag: str, word: str, entry: str
) -> None:
    client = 'client_id = "kfp-profiles"' if kind == "platform-oidc" else ""
    write_profiles(
        profiles_path,
        f'[profiles.prod]\nkind = "{kind}"\nhost = "https://kf.example.com"\n'
        f'namespace = "team-a"\n{client}\n',
    )
    before = profiles_path.read_bytes()
    term = Terminal("secret", "set", "prod", flag)
    term.expect(f"The {word} of profile 'prod' (hidden): ")
    term.type("pasted-secret-text-9")
    term.expect(f"Stored the {word} of 'prod' in the keyring")
    assert term.finish() == 0
    assert "pasted-secret-text-9" not in term.transcript
    assert keyring_backend.get_password("kfp-profiles", entry) == "pasted-secret-text-9"
    assert profiles_path.read_bytes() == before


def test_login_keeps_a_typed_password_only_once_it_logged_in(
    profiles_path: Path, keyring_backend: Any
) -> None:
    from kfp_profiles.testing import Emulator

    with Emulator.for_release("1.11") as emu:
        write_profiles(
            profiles_path,
            f"""
            [profiles.prod]
            kind = "platform-dex"
            host = "{emu.url}"
            username = "user@example.com"
            namespace = "kubeflow-user-example-com"
            """,
        )
        term = Terminal("login", "prod")
        term.expect("Dex password for user@example.com (profile prod): ")
        term.type("mistyped")
        assert term.finish() == 6  # a LoginError: the wrong password
        assert keyring_backend.get_password("kfp-profiles", "prod") is None

        term = Terminal("login", "prod")
        term.expect("Dex password for user@example.com (profile prod): ")
        term.type("12341234")
        assert term.finish() == 0
        assert keyring_backend.get_password("kfp-profiles", "prod") == "12341234"
