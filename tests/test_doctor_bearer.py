"""`check` and `doctor` for the token kinds, against the emulated releases 1.8, 1.9.0 and 1.11.

`check` names the token's subject, issuer, audience and remaining life (never
the token); `doctor` tells from one request with a bearer that is no JWT
whether the front door checks bearer tokens, and for platform-oidc reads the
discovery document (rewritten or not, the flows offered). Real HTTP to the
emulator; tokens from the stand-in `kubectl create token` (tests/fakes/kubectl:
there is no cluster here), KFP_TOKEN, or a device sign-in the emulator approves.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from kfp_profiles import get_client
from kfp_profiles.auth import bearer
from kfp_profiles.auth.doors import PROBE_BEARER
from kfp_profiles.auth.oidc_store import SignInStore
from kfp_profiles.cli import run
from kfp_profiles.doctor.fingerprint import fingerprint
from kfp_profiles.testing import Emulator

from .helpers import FAKES, step_lines
from .tokens import CLIENT, CREATE_TOKEN, NAMESPACE, emulator, oidc_profile, token_profile

IN_CLUSTER_DEX = "http://dex.auth.svc.cluster.local:5556/dex"
KUBERNETES = "https://kubernetes.default.svc.cluster.local"
EXPIRES = re.compile(r"expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in [^)]+\)")


pytestmark = pytest.mark.usefixtures("fresh_token_sources")


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "token-runs.jsonl"
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBECTL_TOKEN_LOG", str(log))
    return log


def lines_of(out: str, topic: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(f"{topic} ")]


# --- check: the token described, never shown -------------------------------------------------


def test_check_of_a_token_command_names_its_claims_never_the_token(
    profiles_path: Path,
    kubectl: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_keyring: None,
) -> None:
    with emulator("1.11") as emu:
        monkeypatch.setenv("FAKE_KUBECTL_API", emu.kube_url)
        token_profile(profiles_path, emu, f"token_command = {json.dumps(CREATE_TOKEN)}")
        assert run(["check", "t"]) == 0
        sent = {r.headers.get("authorization", "") for r in emu.requests} - {""}
    out = capsys.readouterr().out
    steps = step_lines(out)
    assert [words[0] for words in steps.values()] == ["OK", "SKIP", "OK", "OK", "OK"]
    detail = " ".join(steps["authenticate"][3:])
    assert EXPIRES.sub("EXPIRES", detail) == (
        f"token from the token command `{' '.join(CREATE_TOKEN)}` (ran it): issuer "
        f"{KUBERNETES}; audience {KUBERNETES}; EXPIRES; namespace {NAMESPACE}; service "
        "account default-editor"
    )
    assert "(in 59 min)" in detail or "(in 60 min)" in detail
    assert len(sent) == 1
    for header in sent:
        assert header.removeprefix("Bearer ") not in out


def test_check_of_an_expired_token_fails_the_authenticate_step(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator("1.11") as emu:
        token = emu.mint_token(issuer="kubernetes", lifetime=-7300)
        monkeypatch.setenv("KFP_TOKEN", token)
        token_profile(profiles_path, emu)
        assert run(["check", "t"]) == 4
        sent = emu.total_requests
    captured = capsys.readouterr()
    steps = step_lines(captured.out)
    assert [words[0] for words in steps.values()] == ["OK", "SKIP", "FAIL", "SKIP", "SKIP"]
    [line] = captured.err.splitlines()
    assert re.fullmatch(
        r"kfp-profiles: error: check of profile 't' failed: Profile 't': the token from "
        r"KFP_TOKEN expired at [0-9-]+ [0-9:]+ UTC \(2 h ago\), so it was not sent; set "
        r"KFP_TOKEN to a current token \(or unset it to use the profile's source\)\.",
        line,
    )
    assert sent == 0
    assert token not in captured.out + captured.err


def test_check_of_a_platform_oidc_profile_names_the_id_tokens_claims(
    profiles_path: Path, capsys: pytest.CaptureFixture[str], no_keyring: None
) -> None:
    with emulator("1.11", device_interval=0) as emu:
        emu.auto_approve_devices()
        oidc_profile(profiles_path, emu, flow="device")
        get_client("o", prompt=True)  # a person signed in before; check reuses it
        capsys.readouterr()
        assert run(["check", "o"]) == 0
        grants = dict(emu.grant_counts)
    out = capsys.readouterr().out
    assert run(["doctor", "o", "--offline"]) == 0
    [doctor_line] = lines_of(capsys.readouterr().out, "token")[-1:]
    assert EXPIRES.sub("EXPIRES", re.sub(r"subject \S+", "subject SUB", doctor_line)) == (
        "token       ok    profile o: ID token: subject SUB email user@example.com; issuer "
        f"{IN_CLUSTER_DEX}; audience {CLIENT}; EXPIRES"
    )
    detail = " ".join(step_lines(out)["authenticate"][3:])
    assert EXPIRES.sub("EXPIRES", re.sub(r"subject \S+", "subject SUB", detail)) == (
        "ID token, the stored sign-in: subject SUB email user@example.com; issuer "
        f"{IN_CLUSTER_DEX}; audience {CLIENT}; EXPIRES; renews silently"
    )
    assert grants == {"urn:ietf:params:oauth:grant-type:device_code": 1}  # no refresh needed
    sign_in = SignInStore("o").load()
    assert sign_in is not None
    assert sign_in.id_token not in out and str(sign_in.refresh_token) not in out


# --- doctor: does the front door take bearer tokens? -------------------------------------------


@pytest.mark.parametrize(
    ("release", "answer"),
    [("1.8", "login"), ("1.9.0", "login"), ("1.11", "jwt-checker")],
)
def test_the_bearer_probe_tells_a_jwt_checker_from_a_login(release: str, answer: str) -> None:
    with emulator(release) as emu:
        door = fingerprint(emu.api_url, bearer=True)
        probes = [r for r in emu.requests if "authorization" in r.headers]
    assert door.bearer == answer
    assert [r.headers["authorization"] for r in probes] == [f"Bearer {PROBE_BEARER}"]


def test_a_standalone_kfp_answers_the_bearer_probe_itself() -> None:
    with Emulator(door="none", multi_user=True) as emu:
        assert fingerprint(emu.url, bearer=True).bearer == "api"


TOKEN_DOCTOR = {
    "1.11": (
        "ok",
        "the gateway checks bearer JWTs itself (Istio, Kubeflow 1.9.1 and later: a token "
        "that is no JWT got 401 with its reason): it takes ServiceAccount tokens of the "
        "issuers its m2m overlay trusts, and audiences only where an admin set them",
    ),
    "1.9.0": (
        "WARN",
        "oauth2-proxy (Kubeflow 1.9.0) treats a bearer it does not take as no session (a "
        "token that is no JWT got the login redirect): it takes a ServiceAccount token only "
        "for an `issuer=audience` pair in its `extra_jwt_issuers`; ask the cluster admin for it",
    ),
    "1.8": (
        "WARN",
        "oidc-authservice (Kubeflow 1.8 and earlier) treats a bearer it does not take as no "
        "session (a token that is no JWT got the login redirect): it takes a ServiceAccount "
        "token only through its TokenReview authenticator, where enabled, for its own audience",
    ),
}


@pytest.mark.parametrize("release", list(TOKEN_DOCTOR))
def test_doctor_of_a_platform_token_profile_says_whether_the_door_takes_bearer_tokens(
    release: str,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_keyring: None,
) -> None:
    mark, text = TOKEN_DOCTOR[release]
    with emulator(release) as emu:
        token_profile(profiles_path, emu, f"token_command = {json.dumps(CREATE_TOKEN)}")
        assert run(["doctor", "t"]) == 0  # the command is not run: nothing cached is no failure
    out = capsys.readouterr().out
    assert lines_of(out, "bearer") == [f"bearer      {mark:<4}  {text}"]
    suggests = lines_of(out, "suggests")
    if release == "1.11":
        assert suggests == []  # the profile's kind works here
    else:
        [line] = suggests
        assert line.startswith('suggests    WARN  kind = "platform-dex"')
        assert line.endswith("(the profile is of kind platform-token)")


OIDC_DOCTOR = {
    "1.11": (
        0,
        "ok",
        "the gateway checks bearer JWTs itself (Istio, Kubeflow 1.9.1 and later: a token "
        "that is no JWT got 401 with its reason): it takes Dex ID tokens, and audiences only "
        "where an admin set them",
    ),
    "1.9.0": (
        0,
        "WARN",
        "oauth2-proxy (Kubeflow 1.9.0) treats a bearer it does not take as no session (a "
        "token that is no JWT got the login redirect): it takes Dex ID tokens of its own "
        "client 'kubeflow-oidc-authservice' and of the pairs in its `extra_jwt_issuers`; ask "
        "the cluster admin to add 'kfp-profiles' (`kfp-profiles manifest oidc-client "
        "--client-id kfp-profiles` shows the line)",
    ),
    "1.8": (
        1,
        "FAIL",
        "oidc-authservice (Kubeflow 1.8 and earlier) treats a bearer it does not take as no "
        "session (a token that is no JWT got the login redirect): it takes Dex ID tokens of "
        "its own client 'kubeflow-oidc-authservice' only, not of 'kfp-profiles'",
    ),
}


@pytest.mark.parametrize("release", list(OIDC_DOCTOR))
def test_doctor_of_a_platform_oidc_profile_reads_the_door_and_the_discovery_document(
    release: str, profiles_path: Path, capsys: pytest.CaptureFixture[str], no_keyring: None
) -> None:
    status, mark, text = OIDC_DOCTOR[release]
    with emulator(release) as emu:
        oidc_profile(profiles_path, emu)
        assert run(["doctor", "o"]) == status
        dex = emu.url + "/dex"
    out = capsys.readouterr().out
    assert lines_of(out, "bearer") == [f"bearer      {mark:<4}  {text}"]
    assert lines_of(out, "oidc") == [
        f"oidc        ok    discovery at {dex}: issuer {IN_CLUSTER_DEX}, whose endpoints on "
        f"http://dex.auth.svc.cluster.local:5556 were rewritten to {dex} (ID tokens are still "
        "checked for that issuer)",
        'oidc        ok    flows offered: device, browser; `flow = "auto"` signs in with the '
        "device flow",
    ]


def test_doctor_says_when_the_documents_endpoints_are_used_as_published(
    profiles_path: Path, capsys: pytest.CaptureFixture[str], no_keyring: None
) -> None:
    with emulator("1.11", public_issuer=True, device_flow=False) as emu:
        oidc_profile(profiles_path, emu, flow="device")
        assert run(["doctor", "o"]) == 1
        dex = emu.url + "/dex"
    assert lines_of(capsys.readouterr().out, "oidc") == [
        f"oidc        ok    discovery at {dex}: issuer {dex}, endpoints used as published",
        "oidc        FAIL  flows offered: browser; the profile's flow `device` is not: run "
        "`kfp-profiles set o flow=browser` (or flow=auto)",
    ]


# --- doctor: the token the profile holds now ----------------------------------------------------


def test_doctor_describes_the_profiles_token_and_runs_no_command(
    profiles_path: Path,
    kubectl: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_keyring: None,
) -> None:
    with emulator("1.11") as emu:
        monkeypatch.setenv("FAKE_KUBECTL_API", emu.kube_url)
        token_profile(profiles_path, emu, f"token_command = {json.dumps(CREATE_TOKEN)}")
        assert run(["doctor", "t", "--offline"]) == 0
        before = lines_of(capsys.readouterr().out, "token")[-1]
        assert run(["check", "t"]) == 0  # runs the command; its token is cached
        capsys.readouterr()
        bearer._SHARED.clear()  # as in a new process
        assert run(["doctor", "t", "--offline"]) == 0
        after = lines_of(capsys.readouterr().out, "token")[-1]
        token = emu.service_account_token(NAMESPACE)
        monkeypatch.setenv("KFP_TOKEN", token)
        assert run(["doctor", "t", "--offline"]) == 0
        given = lines_of(capsys.readouterr().out, "token")[-1]
    assert before == "token       --    profile t: no cached token (`check` runs the command)"
    assert EXPIRES.sub("EXPIRES", after) == (
        f"token       ok    profile t: token_command: issuer {KUBERNETES}; audience "
        f"{KUBERNETES}; EXPIRES; namespace {NAMESPACE}; service account default-editor"
    )
    assert len(kubectl.read_text().splitlines()) == 1  # check's run only
    assert EXPIRES.sub("EXPIRES", given).startswith(
        f"token       ok    profile t: env:KFP_TOKEN: issuer {KUBERNETES}; "
    )
    assert token not in given
