"""A token command runs as a real process: bounded, capped, its answer read, its failure named.

Real processes throughout (the Python interpreter as a stand-in helper, and the
stand-in kubectl of tests/fakes, which asks the emulated cluster for a token).
No error may hold what the command printed on standard output.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
from pathlib import Path

import pytest

from kfp_profiles.auth.bearer_token import jwt_claims
from kfp_profiles.auth.token_command import CommandSpec, run_token_command
from kfp_profiles.errors import (
    TokenCommandError,
    TokenCommandNotFoundError,
    TokenCommandOutputError,
    TokenCommandTimeoutError,
)
from kfp_profiles.testing import Emulator

from .helpers import FAKES, running

NAMESPACE = "kubeflow-user-example-com"
V1 = "client.authentication.k8s.io/v1"
CERT = {"clientCertificateData": "x"}
SECRET = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2VjcmV0LXNpZ25hdHVyZQ"


def spec(*argv: str, timeout: float = 20.0, named_by: str = "file:/p/profiles.toml") -> CommandSpec:
    return CommandSpec("ci", tuple(argv), timeout, named_by)


def python(code: str, timeout: float = 20.0) -> CommandSpec:
    return spec(sys.executable, "-c", code, timeout=timeout)


def printing(payload: dict[str, object]) -> str:
    """Python code that prints ``payload`` as JSON."""
    return f"print({json.dumps(json.dumps(payload))})"


def fails(command: CommandSpec) -> TokenCommandError:
    with pytest.raises(TokenCommandError) as caught:
        run_token_command(command)
    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    assert error.exit_code == 4
    return error


def test_a_bare_token_with_its_expiry_from_the_jwt() -> None:
    token = run_token_command(python(f"print({SECRET!r})"))
    assert token.text == SECRET
    assert token.expires_at is None  # a JWT with no exp: valid until refused
    assert "secret" not in repr(token) and SECRET not in repr(token)


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_kubectl_create_token_and_an_exec_credential(
    version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with Emulator.for_release("1.11") as emu:
        monkeypatch.setenv("FAKE_KUBECTL_API", emu.kube_url)
        argv = (str(FAKES / "kubectl"), "-n", NAMESPACE, "create", "token", "default-editor")
        bare = run_token_command(spec(*argv))
        monkeypatch.setenv("FAKE_KUBECTL_EXEC_CREDENTIAL", version)
        credential = run_token_command(spec(*argv))
    assert bare.expires_at == jwt_claims(bare.text)["exp"]  # type: ignore[index]
    claims = jwt_claims(credential.text)
    assert (
        claims is not None and claims["sub"] == f"system:serviceaccount:{NAMESPACE}:default-editor"
    )
    assert credential.expires_at == claims["exp"]  # from status.expirationTimestamp


def test_an_exec_credentials_expiry_wins_over_the_tokens_own() -> None:
    payload = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "opaque-token", "expirationTimestamp": "2031-01-02T03:04:05Z"},
    }
    token = run_token_command(python(f"print({json.dumps(payload)!r})"))
    moment = datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert (token.text, token.expires_at) == ("opaque-token", moment.timestamp())


def test_the_command_gets_kubectls_exec_info_and_no_terminal() -> None:
    code = (
        "import json, os, sys\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "print(f\"{info['apiVersion']}/{info['spec']['interactive']}/{sys.stdin.read()!r}\")"
    )
    token = run_token_command(python(code))
    assert token.text == "client.authentication.k8s.io/v1/False/''"


def test_a_failing_command_shows_its_last_lines_of_standard_error_never_its_output() -> None:
    code = (
        "import sys\n"
        "for n in range(8): print(f'line {n}', file=sys.stderr)\n"
        f"print({SECRET!r}); print('leaked: ' + {SECRET!r}, file=sys.stderr); sys.exit(3)"
    )
    error = fails(python(code))
    assert type(error) is TokenCommandError
    assert str(error).startswith(f"Profile 'ci': the token command `{sys.executable} -c ")
    assert "exited with status 3 (it said: line 4 | line 5 | line 6 | line 7 | leaked: ***)" in str(
        error
    )
    assert "fix `token_command` in /p/profiles.toml" in str(error)
    assert SECRET not in str(error) + repr(error.fields)


def test_kubectls_own_error_is_in_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator.for_release("1.11") as emu:
        monkeypatch.setenv("FAKE_KUBECTL_API", emu.kube_url)
        error = fails(spec(str(FAKES / "kubectl"), "-n", NAMESPACE, "create", "token", "nobody"))
    assert str(error) == (
        f"Profile 'ci': the token command `{FAKES}/kubectl -n {NAMESPACE} create token nobody` "
        'exited with status 1 (it said: error: failed to create token: serviceaccounts "nobody" '
        "not found); run it yourself to see why, or fix `token_command` in /p/profiles.toml."
    )


def test_a_missing_program_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    error = fails(
        spec("kubectl-that-is-not-there", "create", "token", "x", named_by="env:KFP_TOKEN_COMMAND")
    )
    assert isinstance(error, TokenCommandNotFoundError)
    assert str(error) == (
        "Profile 'ci': the token command's program 'kubectl-that-is-not-there' was not found "
        "on PATH; install it (or put it on PATH), or fix `token_command` in the variable "
        "KFP_TOKEN_COMMAND."
    )


def test_a_program_that_is_not_executable_is_named(tmp_path: Path) -> None:
    script = tmp_path / "helper"
    script.write_text("#!/bin/sh\necho token\n")
    script.chmod(0o600)
    error = fails(spec(str(script)))
    assert isinstance(error, TokenCommandNotFoundError)
    assert "cannot be run (permission denied: is it executable?)" in str(error)


def test_a_hung_command_and_its_children_are_stopped_at_the_timeout(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # A shell that starts a child holding standard output open, then waits forever.
    code = f"sleep 300 & echo $! > {pids}; echo started >&2; sleep 300"
    started = time.monotonic()
    error = fails(spec("/bin/sh", "-c", code, timeout=1.5))
    elapsed = time.monotonic() - started
    assert isinstance(error, TokenCommandTimeoutError)
    assert elapsed < 1.5 + 5
    assert "did not finish within the 1.5 s `timeout` and was stopped (it said: started)" in str(
        error
    )
    child = int(pids.read_text())
    time.sleep(0.2)
    assert not running(child)  # the whole group was killed, not the shell alone


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("pass", "printed nothing on standard output"),
        (
            "print('two words')",
            "printed something that is not one token: it has whitespace at character 4, so it "
            "is more than one token",
        ),
        (
            "import sys; sys.stdout.buffer.write(b'tok\\x01en')",
            "printed something that is not one token: it has a control character at character 4",
        ),
        (
            "import sys; sys.stdout.buffer.write(b'\\xff\\xfe')",
            "printed bytes that are not UTF-8 text",
        ),
        ("print('{\"kind\": ')", "printed text that starts like JSON but is not JSON"),
        ('print(\'{"kind": "Pod"}\')', "printed JSON that is not a Kubernetes ExecCredential"),
        (
            printing({"kind": "ExecCredential", "apiVersion": V1, "status": {}}),
            "printed an ExecCredential with no status.token",
        ),
        (
            printing({"kind": "ExecCredential", "apiVersion": V1, "status": CERT}),
            "printed an ExecCredential with a client certificate, not a token",
        ),
        (
            "import sys; sys.stdout.buffer.write(b'x' * (3 << 20))",
            "printed more than 1 MiB",
        ),
    ],
)
def test_output_that_is_no_token_is_named_without_showing_it(code: str, problem: str) -> None:
    error = fails(python(code))
    assert isinstance(error, TokenCommandOutputError)
    assert f"` {problem}, where a bearer token or a Kubernetes ExecCredential was expected" in str(
        error
    )


def test_output_that_is_no_token_never_appears_in_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HELPER_OUTPUT", f"{SECRET} {SECRET}")
    error = fails(python("import os; print(os.environ['HELPER_OUTPUT'])"))
    assert "it has whitespace at character 59" in str(error)
    assert SECRET not in str(error) + error.cli_message + repr(error.args) + repr(vars(error))


def test_an_endless_output_is_cut_at_the_cap_without_waiting_for_the_timeout() -> None:
    started = time.monotonic()
    error = fails(python("import sys\nwhile True: sys.stdout.write('x' * 65536)", timeout=30))
    assert "printed more than 1 MiB" in str(error)
    assert time.monotonic() - started < 10


def test_the_environment_reaches_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPER_TOKEN", "from-the-environment")
    token = run_token_command(python("import os; print(os.environ['HELPER_TOKEN'])"))
    assert token.text == "from-the-environment"
    assert os.environ.get("KUBERNETES_EXEC_INFO") is None  # set for the child only
