"""`env NAME --with-token` (cli/show.py): a current bearer as KFP_EXISTING_TOKEN, only when
asked, only on standard output; through the console script and the real `kfp` CLI.

The tokens are real: the emulated cluster's ServiceAccount tokens (through the
stand-in `kubectl create token`, tests/fakes: there is no Kubernetes cluster
here) and the emulated Dex's ID tokens, checked by the emulated gateway over
real HTTP on loopback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kfp_profiles.auth.oidc_store import SignInStore
from kfp_profiles.testing import Emulator
from tests.helpers import DEX_FILE, FAKES, SCRIPT, cli, write_profiles

NAMESPACE = "kubeflow-user-example-com"
CREATE_TOKEN = ["kubectl", "-n", NAMESPACE, "create", "token", "default-editor"]
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
SECRET_LINE = re.compile(
    r"# KFP_EXISTING_TOKEN is a secret: keep it out of logs; it expires at "
    r"\d\d:\d\d:\d\d UTC \(in (\d+) min\): run this again then"
)


pytestmark = pytest.mark.usefixtures("fresh_token_sources")


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.for_release("1.11", device_interval=0) as emulator:
        emulator.add_experiment("mine", namespace=NAMESPACE)
        emulator.auto_approve_devices()
        monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_KUBECTL_API", emulator.kube_url)
        monkeypatch.setenv("FAKE_KUBECTL_TOKEN_LOG", str(tmp_path / "kubectl-runs.jsonl"))
        yield emulator


def profiles(path: Path, emu: Emulator) -> Path:
    return write_profiles(
        path,
        f"""
        [profiles.t]
        kind = "platform-token"
        host = "{emu.url}"
        namespace = "{NAMESPACE}"
        token_command = {json.dumps(CREATE_TOKEN)}
        [profiles.o]
        kind = "platform-oidc"
        host = "{emu.api_url}"
        namespace = "{NAMESPACE}"
        client_id = "kfp-profiles"
        timeout = 10
        """,
    )


def exported(out: str) -> str:
    """The value of KFP_EXISTING_TOKEN in ``env``'s output, as a shell reads it."""
    script = f'{out}\nprintf %s "$KFP_EXISTING_TOKEN"'
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout


def runs(tmp_path: Path) -> int:
    log = tmp_path / "kubectl-runs.jsonl"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_with_token_exports_the_tokens_next_request_and_the_kfp_cli_lists_with_it(
    profiles_path: Path, emu: Emulator, tmp_path: Path, no_keyring: None
) -> None:
    profiles(profiles_path, emu)
    done = cli("env", "t", "--with-token", env=NO_KEYRING)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[:2] == ["export KFP_PROFILE=t", f"export KF_PIPELINES_ENDPOINT={emu.api_url}"]
    match = SECRET_LINE.fullmatch(lines[2])
    assert match and int(match.group(1)) in (59, 60), lines[2]
    token = exported(done.stdout)
    assert lines[3:] == [f"export KFP_EXISTING_TOKEN={token}"] and len(lines) == 4
    assert runs(tmp_path) == 1
    # The token the next request carries: the command's, cached for the next process.
    again = cli("env", "t", "--with-token", env=NO_KEYRING)
    assert exported(again.stdout) == token and runs(tmp_path) == 1
    debug = cli("--debug", "env", "t", "--with-token", env=NO_KEYRING)  # its logs: no token
    assert exported(debug.stdout) == token and token not in debug.stderr

    # The kfp CLI sends it as --existing-token (KFP_EXISTING_TOKEN, click's KFP_ prefix).
    listed = subprocess.run(
        [
            "sh",
            "-c",
            f'eval "$({SCRIPT} env t --with-token)" && '
            f"{SCRIPT.with_name('kfp')} -n {NAMESPACE} experiment list",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **NO_KEYRING},
    )
    assert listed.returncode == 0, listed.stderr
    assert "mine" in listed.stdout
    assert {
        r.headers.get("authorization") for r in emu.requests if r.path.startswith("/pipeline/apis")
    } == {f"Bearer {token}"}

    plain = cli("env", "t", env=NO_KEYRING)  # without the flag: no token, no keyring
    assert (plain.returncode, plain.stderr) == (0, "")
    assert plain.stdout.splitlines() == [
        "export KFP_PROFILE=t",
        "# the kfp CLI needs a bearer token: `kfp-profiles env t --with-token` exports one as "
        "KFP_EXISTING_TOKEN",
        f"export KF_PIPELINES_ENDPOINT={emu.api_url}",
    ]
    assert runs(tmp_path) == 1  # nothing ran either
    assert "KFP_TOKEN=" not in done.stdout  # never the variable platform-token profiles read
    for text in (done.stderr, again.stderr, listed.stderr, plain.stdout, plain.stderr):
        assert token not in text
    assert token not in profiles_path.read_text()


def test_with_token_exports_the_oidc_id_token_renewed_when_due(
    profiles_path: Path, isolated_home: Path, no_keyring: None
) -> None:
    # An ID token of 2 s is due for renewal after 1 s (the margin is at most half its life).
    with Emulator.for_release("1.11", device_interval=0, id_token_lifetime=2) as emu:
        emu.auto_approve_devices()
        profiles(profiles_path, emu)
        missing = cli("env", "o", "--with-token", env=NO_KEYRING)
        assert missing.returncode == 6
        assert missing.stdout == ""
        assert missing.stderr.startswith("kfp-profiles: error: Profile 'o' has no sign-in at ")
        assert missing.stderr.endswith(": run `kfp-profiles login o`.\n")

        assert cli("login", "o", env=NO_KEYRING).returncode == 0
        signed_in = SignInStore("o").load()
        assert signed_in is not None
        time.sleep(1.2)
        done = cli("env", "o", "--with-token", env=NO_KEYRING)
        assert (done.returncode, done.stderr) == (0, "")
        token = exported(done.stdout)
        renewed = SignInStore("o").load()
        assert renewed is not None and token == renewed.id_token != signed_in.id_token
        assert emu.grant_counts["refresh_token"] == 1
        assert done.stdout.splitlines()[-1] == f"export KFP_EXISTING_TOKEN={token}"
        assert re.fullmatch(
            r"# KFP_EXISTING_TOKEN is a secret: keep it out of logs; it expires at "
            r"\d\d:\d\d:\d\d UTC \(in 0 min\): run this again then",
            done.stdout.splitlines()[-2],
        )
    assert token not in done.stderr and token not in profiles_path.read_text()


def test_with_token_exports_a_pods_projected_token_file(
    profiles_path: Path, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("opaque.projected-token\n")
    write_profiles(
        profiles_path,
        f'[profiles.pod]\nkind = "platform-in-cluster"\ntoken_path = "{token_file}"\n',
    )
    done = cli("env", "pod", "--with-token")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "export KFP_PROFILE=pod",
        "export KF_PIPELINES_ENDPOINT=http://ml-pipeline-ui.kubeflow.svc.cluster.local",
        f"export KF_PIPELINES_SA_TOKEN_PATH={token_file}",
        "# KFP_EXISTING_TOKEN is a secret: keep it out of logs; it has no known expiry (used "
        "until refused)",
        "export KFP_EXISTING_TOKEN=opaque.projected-token",
    ]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("prod", " (it logs in with Dex session cookies, which the kfp CLI cannot send)"),
        ("dev", " (standalone KFP takes no login)"),
    ],
)
def test_with_token_for_a_kind_without_a_bearer_is_a_typed_error(
    profiles_path: Path, name: str, why: str
) -> None:
    write_profiles(
        profiles_path,
        DEX_FILE.format(host="https://kf.example.com", user="u", namespace="n")
        + '[profiles.dev]\nkind = "standalone-in-cluster"\n',
    )
    done = cli("env", name, "--with-token")
    kind = "platform-dex" if name == "prod" else "standalone-in-cluster"
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"kfp-profiles: error: Profile '{name}' is of kind '{kind}', which has no bearer token "
        f"to export{why}; `--with-token` serves platform-token, platform-oidc and "
        "platform-in-cluster profiles: leave it out for this one.\n"
    )


def test_the_help_says_the_token_is_a_secret() -> None:
    done = cli("env", "--help")
    text = " ".join(done.stdout.split())
    assert "A secret: keep the output out of logs." in text
    assert "never as KFP_TOKEN" in text
