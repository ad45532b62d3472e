"""platform-token end to end: the real kfp SDK over HTTP against the emulated gateways (1.9.1+).

The token comes from the stand-in `kubectl create token` (tests/fakes/kubectl,
which asks the emulated cluster's API for a real signed ServiceAccount token:
there is no Kubernetes cluster here, that is what is stood in for), from a
file, from KFP_TOKEN, from the token= argument, or from the real Secret
Service keyring. The gateway verifies each token as Istio does
(kfp_profiles/testing/bearer.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from kfp_profiles import get_client
from kfp_profiles.auth import bearer
from kfp_profiles.errors import (
    BearerRefusedError,
    TokenExpiredError,
    TokenRefusedError,
    TokenTextError,
)
from kfp_profiles.testing import Emulator

from .helpers import FAKES
from .tokens import NAMESPACE, exception_texts, token_profile

LIST = "GET /pipeline/apis/v2beta1/experiments"
GATEWAYS = ["1.9.1", "1.10", "1.11"]


pytestmark = pytest.mark.usefixtures("fresh_token_sources")


class Kubectl:
    """The stand-in kubectl on PATH, pointed at an emulator's cluster; counts its runs."""

    def __init__(self, log: Path) -> None:
        self.log = log

    @property
    def runs(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kubectl:
    log = tmp_path / "token-runs.jsonl"
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBECTL_TOKEN_LOG", str(log))
    return Kubectl(log)


@contextlib.contextmanager
def emulator(release: str, monkeypatch: pytest.MonkeyPatch, **options: Any) -> Iterator[Emulator]:
    """A running emulator of ``release``, its cluster behind the stand-in kubectl."""
    with Emulator.for_release(release, **options) as emu:
        monkeypatch.setenv("FAKE_KUBECTL_API", emu.kube_url)
        emu.add_experiment("mine", namespace=NAMESPACE)
        yield emu


def listed(client: Any) -> list[str]:
    return [e.display_name for e in client.list_experiments().experiments or []]


def sent_tokens(emu: Emulator) -> list[str]:
    """The bearer token of every API request the gateway saw, in order."""
    return [
        r.headers.get("authorization", "").removeprefix("Bearer ")
        for r in emu.requests
        if r.path.startswith("/pipeline/apis/")
    ]


# --- each source, through the SDK ---------------------------------------------------------


@pytest.mark.parametrize("release", GATEWAYS)
def test_a_token_from_kubectl_create_token_lists_experiments(
    release: str,
    kubectl: Kubectl,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_keyring: None,
) -> None:
    with emulator(release, monkeypatch) as emu:
        token_profile(profiles_path, emu, "command")
        client = get_client("t")
        assert listed(client) == ["mine"]
        assert listed(client) == ["mine"]
        counts = emu.counts
    assert kubectl.runs == 1  # one token serves both calls
    assert emu.tokens_created == 1
    assert counts == {LIST: 2}  # no login, no probe: two calls, two requests


def test_a_token_file_rotated_while_running_is_used_from_the_next_request(
    tmp_path: Path, profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator("1.11", monkeypatch) as emu:
        token_file = tmp_path / "token"
        first = emu.service_account_token(NAMESPACE, "default-editor")
        token_file.write_text(first + "\n")
        token_profile(profiles_path, emu, f'token_path = "{token_file}"')
        client = get_client("t")
        assert listed(client) == ["mine"]
        second = emu.service_account_token(NAMESPACE, "default-editor", lifetime=7200)
        rotated = tmp_path / "token.new"
        rotated.write_text(second)
        rotated.replace(token_file)  # as the kubelet swaps it: a new inode
        assert listed(client) == ["mine"]
        assert sent_tokens(emu) == [first, second]


def test_kfp_token_path_beats_the_files_token_command(
    tmp_path: Path, kubectl: Kubectl, profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator("1.11", monkeypatch) as emu:
        token_file = tmp_path / "token"
        token_file.write_text(emu.service_account_token(NAMESPACE))
        token_profile(profiles_path, emu, "command")
        monkeypatch.setenv("KFP_TOKEN_PATH", str(token_file))
        assert listed(get_client("t")) == ["mine"]
    assert kubectl.runs == 0


def test_kfp_token_wins_over_the_command_and_the_argument_over_kfp_token(
    kubectl: Kubectl, profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator("1.11", monkeypatch) as emu:
        token_profile(profiles_path, emu, "command")
        from_env = emu.service_account_token(NAMESPACE)
        argument = emu.service_account_token(NAMESPACE, lifetime=1800)
        monkeypatch.setenv("KFP_TOKEN", from_env)
        assert listed(get_client("t")) == ["mine"]
        assert listed(get_client("t", token=argument)) == ["mine"]
        assert sent_tokens(emu) == [from_env, argument]
    assert kubectl.runs == 0


@pytest.mark.keyring
def test_a_token_in_the_keyring_lists_experiments(
    keyring_backend: Any, profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring

    from kfp_profiles.secrets import set_token

    with emulator("1.11", monkeypatch) as emu:
        token = emu.service_account_token(NAMESPACE)
        set_token("t", SecretStr(token))
        token_profile(profiles_path, emu)
        assert listed(get_client("t")) == ["mine"]
        assert sent_tokens(emu) == [token]
    # The same entry a Dex password has: service kfp-profiles, username = the profile.
    assert keyring.get_password("kfp-profiles", "t") == token


# --- renewal ------------------------------------------------------------------------------


def test_a_token_near_its_expiry_is_renewed_by_running_the_command_again(
    kubectl: Kubectl, profiles_path: Path, monkeypatch: pytest.MonkeyPatch, no_keyring: None
) -> None:
    with emulator("1.11", monkeypatch) as emu:
        emu.service_account_token_lifetime = 4  # the API server shortens what was asked
        token_profile(profiles_path, emu, "command")
        client = get_client("t")
        assert listed(client) == ["mine"]
        time.sleep(2.2)  # past half its life, inside the 60 s margin: due for renewal
        assert listed(client) == ["mine"]
        first, second = sent_tokens(emu)
        counts = emu.counts
    assert kubectl.runs == 2
    assert first != second
    assert counts == {LIST: 2}  # renewed ahead of time: nothing was refused


@pytest.mark.parametrize("release", GATEWAYS)
def test_a_refused_token_runs_the_command_once_more_and_the_call_succeeds(
    release: str,
    kubectl: Kubectl,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_keyring: None,
) -> None:
    with emulator(release, monkeypatch) as emu:
        token_profile(profiles_path, emu, "command")
        client = get_client("t")
        assert listed(client) == ["mine"]
        emu.rotate_keys("kubernetes", keep_old=False)  # the held token no longer verifies
        assert listed(client) == ["mine"]
        counts = emu.counts
    assert kubectl.runs == 2
    assert counts == {LIST: 3}  # the refused call, and its one retry


def test_eight_threads_on_an_expired_token_cause_exactly_one_command_run(
    kubectl: Kubectl, profiles_path: Path, monkeypatch: pytest.MonkeyPatch, no_keyring: None
) -> None:
    with emulator("1.11", monkeypatch) as emu:
        emu.service_account_token_lifetime = 4
        token_profile(profiles_path, emu, "command")
        clients = [get_client("t"), get_client("t")]  # two clients of one profile share it
        assert listed(clients[0]) == ["mine"]
        assert kubectl.runs == 1
        time.sleep(2.2)
        barrier = threading.Barrier(8)
        results: list[list[str]] = []

        def call(index: int) -> None:
            barrier.wait()
            results.append(listed(clients[index % 2]))

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        counts = emu.counts
    assert results == [["mine"]] * 8
    assert kubectl.runs == 2  # the first token, and exactly one renewal
    assert counts == {LIST: 9}


def test_a_new_process_within_the_tokens_life_runs_no_command_and_sends_one_request(
    kubectl: Kubectl,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_keyring: None,
    isolated_home: Path,
) -> None:
    with emulator("1.11", monkeypatch) as emu:
        token_profile(profiles_path, emu, "command")
        assert listed(get_client("t")) == ["mine"]
        assert kubectl.runs == 1
        cached = list((isolated_home / ".cache" / "kfp-profiles").glob("*token*"))
        assert [oct(p.stat().st_mode & 0o777) for p in cached] == ["0o600"]
        emu.reset_counts()
        code = (
            "import kfp_profiles\n"
            "print(len(kfp_profiles.get_client('t').list_experiments().experiments))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        )
        counts, created = emu.counts, emu.tokens_created
    assert (done.returncode, done.stdout.strip()) == (0, "1"), done.stderr
    assert kubectl.runs == 1  # the new process ran nothing
    assert created == 1
    assert counts == {LIST: 1}  # its first API call cost one request


def test_a_cached_token_does_not_follow_an_override_to_another_origin(
    kubectl: Kubectl,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_keyring: None,
    isolated_home: Path,
) -> None:
    with emulator("1.11", monkeypatch) as emu:
        token_profile(profiles_path, emu, "command")
        assert listed(get_client("t")) == ["mine"]
        (cached,) = (isolated_home / ".cache" / "kfp-profiles").glob("*token*")
        before = cached.read_text()
        bearer._SHARED.clear()  # as in a new process: only the cache is left
        get_client("t", host="http://127.0.0.1:9/pipeline")  # builds; sends nothing yet
        assert kubectl.runs == 2  # the override did not get home's cached token...
        assert cached.read_text() == before  # ...nor replaced it
        assert json.loads(before)["origin"] == emu.url
        assert listed(get_client("t")) == ["mine"]
    assert kubectl.runs == 2  # home's token still served from the cache


# --- refusals: which one, without the token ---------------------------------------------


def refused(
    monkeypatch: pytest.MonkeyPatch, profiles_path: Path, make: Any, **options: Any
) -> tuple[BaseException, str, int]:
    """Send a token ``make(emu)`` as KFP_TOKEN; the error, the token, the requests sent."""
    with emulator("1.11", monkeypatch, **options) as emu:
        token = make(emu)
        monkeypatch.setenv("KFP_TOKEN", token)
        token_profile(profiles_path, emu)
        with pytest.raises((TokenRefusedError, TokenExpiredError, TokenTextError)) as caught:
            get_client("t").list_experiments()
        return caught.value, token, emu.counts[LIST]


@pytest.mark.parametrize(
    ("case", "options", "cause"),
    [
        (
            "audience",
            {"audiences": ["pipelines.kubeflow.org"]},
            "401 (Audiences in Jwt are not allowed): its audience "
            "(https://kubernetes.default.svc.cluster.local) is not one the gateway accepts",
        ),
        (
            "issuer",
            {},
            "401 (Jwt issuer is not configured): its issuer (https://issuer.example.org) is not "
            "one the gateway trusts",
        ),
        ("garbage", {}, "it is not a JWT, and the gateway takes only JWTs"),
        ("signature", {}, "its signature does not verify against the issuer's keys"),
    ],
)
def test_a_refused_token_names_the_cause_and_its_source_without_the_token(
    case: str,
    options: dict[str, Any],
    cause: str,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    makers = {
        "audience": lambda emu: emu.service_account_token(NAMESPACE),
        "issuer": lambda emu: emu.mint_token(issuer="https://issuer.example.org"),
        "garbage": lambda emu: "opaque-token-0123456789abcdef",
        "signature": lambda emu: emu.mint_token(issuer="kubernetes", foreign_signature=True),
    }
    error, token, sent = refused(monkeypatch, profiles_path, makers[case], **options)
    assert isinstance(error, BearerRefusedError)
    assert error.exit_code == 4
    assert str(error).startswith("Profile 't': ")
    assert "refused the token from KFP_TOKEN" in str(error)
    assert cause in str(error)
    assert "set KFP_TOKEN to a current token" in str(error)
    assert sent == 1  # a token given as it is cannot renew: no retry
    assert token not in exception_texts(error)


def test_an_expired_token_is_named_before_the_gateway_sees_it(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error, token, sent = refused(
        monkeypatch, profiles_path, lambda emu: emu.mint_token(issuer="kubernetes", lifetime=-300)
    )
    assert isinstance(error, TokenExpiredError)
    assert "the token from KFP_TOKEN expired at " in str(error)
    assert "(5 min ago), so it was not sent; set KFP_TOKEN to a current token" in str(error)
    assert sent == 0
    assert token not in exception_texts(error)


def test_a_token_with_whitespace_inside_is_a_typed_error_without_the_token(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error, _, sent = refused(monkeypatch, profiles_path, lambda emu: "abc.def ghi.jkl")
    assert isinstance(error, TokenTextError)
    assert str(error) == (
        "Profile 't': KFP_TOKEN gave no usable bearer token (it has whitespace at character 8, "
        "so it is more than one token); set KFP_TOKEN to a current token (or unset it to use "
        "the profile's source)."
    )
    assert sent == 0
    assert "def ghi" not in exception_texts(error)


# --- the token is never shown ---------------------------------------------------------------


def test_the_token_never_appears_in_logs_reprs_or_the_cli(
    kubectl: Kubectl,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_keyring: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with emulator("1.11", monkeypatch) as emu:
        token_profile(profiles_path, emu, "command")
        with caplog.at_level(logging.DEBUG):
            client = get_client("t")
            listed(client)
            emu.rotate_keys("kubernetes", keep_old=False)
            listed(client)
        tokens = sent_tokens(emu)
        shown = [repr(client._credentials), repr(client.resolved), caplog.text]
        for args in (["show", "t", "--sources"], ["check", "t"], ["--debug", "check", "t"]):
            done = subprocess.run(
                [str(Path(sys.executable).with_name("kfp-profiles")), *args],
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
            )
            shown += [done.stdout, done.stderr]
    assert len(set(tokens)) == 2
    for token in tokens:
        for text in shown:
            assert token not in text
