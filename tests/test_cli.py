"""The `kfp-profiles` command line, through its real entry points and in-process.

Subprocess tests run the installed console script (and `python -m
kfp_profiles`) against real files; `check`, `doctor`, `login` run in-process
(``kfp_profiles.cli.run``, what the script calls) against the emulated
Kubeflow front doors over real HTTP on loopback. `secret set` stores into the
real Secret Service keyring of the `keyring_backend` fixture. The only
stand-ins are for a Kubernetes cluster, which cannot exist here: the fake
`kubectl` of tests/fakes for `port-forward`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles.cli import run
from kfp_profiles.testing import Emulator
from tests.forwarding import sigint_as_at_a_terminal
from tests.helpers import FakeCluster, free_port, write_profiles
from tests.test_editing import BETWEEN, DEV, HEAD, ORIGINAL, PROD, STAGING, TAIL_GAP

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("kfp-profiles")
HANG_BOUND = 60.0  # only stops a broken test from hanging
DEX_PASSWORD = "12341234"  # the emulator's Dex user (front-door.md)
DEX_USER = "user@example.com"
DEX_NAMESPACE = "kubeflow-user-example-com"


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Any:
    """Run the console script; returns the CompletedProcess (text)."""
    return subprocess.run(
        [str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=HANG_BOUND,
        env={**os.environ, **(env or {})},
    )


# --- the entry points ---------------------------------------------------------------------


def test_console_script_and_python_m_both_run(profiles_path: Path) -> None:
    assert SCRIPT.exists()
    for argv in ([str(SCRIPT)], [sys.executable, "-m", "kfp_profiles"]):
        done = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        commands = done.stdout.split("Commands:\n")[1].split("\n\n")[0]
        verbs = re.findall(r"^  (\S+)\s", commands, re.M)
        assert verbs == sorted(
            [
                "add",
                "check",
                "doctor",
                "env",
                "init",
                "list",
                "login",
                "logout",
                "manifest",
                "port-forward",
                "remove",
                "rename",
                "schema",
                "secret",
                "show",
                "use",
            ]
        )


def test_manage_profiles_from_init_to_remove(profiles_path: Path) -> None:
    done = cli("init")
    assert done.returncode == 0 and str(profiles_path) in done.stdout
    assert stat.S_IMODE(profiles_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(profiles_path.parent.stat().st_mode) == 0o700

    done = cli("add", "dev", "--kind", "standalone-port-forward", "--local-port", "3001")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Added profile 'dev' (standalone-port-forward) in {profiles_path}.",
        f"'dev' is the default profile (`default` in {profiles_path}).",
    ]
    done = cli(
        "add",
        "prod",
        "--kind",
        "platform-dex",
        "--host",
        "https://kf.example.com",
        "--username",
        "me@example.com",
        "--namespace",
        "team-a",
        "--no-verify-tls",
    )
    assert done.returncode == 0, done.stderr
    assert "kfp-profiles secret set prod" in done.stdout

    listing = cli("list").stdout.splitlines()
    assert listing[0].split() == ["NAME", "KIND", "HOST", "NAMESPACE"]
    assert listing[1].split() == [
        "*",
        "dev",
        "standalone-port-forward",
        "http://localhost:3001",
        "-",
    ]
    assert listing[2].split() == [
        "prod",
        "platform-dex",
        "https://kf.example.com/pipeline",  # as `show` and get_client use it
        "team-a",
    ]

    shown = json.loads(cli("show", "prod", "--json").stdout)
    assert shown["values"]["host"] == "https://kf.example.com/pipeline"  # the gateway's /pipeline
    assert shown["values"]["verify_tls"] is False
    assert shown["sources"]["namespace"] == f"file:{profiles_path}"
    assert shown["selected_by"] == "arg"

    assert cli("use", "prod").stdout == f"Default profile is now 'prod' (in {profiles_path}).\n"
    assert cli("rename", "prod", "live").returncode == 0
    done = cli("remove", "live")
    assert done.stdout.splitlines()[:2] == [
        f"Removed profile 'live' from {profiles_path}.",
        f'It was the default: removed `default = "live"` from {profiles_path}.',
    ]
    data = tomllib.loads(profiles_path.read_text())
    assert data == {
        "version": 1,
        "profiles": {"dev": {"kind": "standalone-port-forward", "local_port": 3001}},
    }
    assert stat.S_IMODE(profiles_path.stat().st_mode) == 0o600


def test_hand_written_file_keeps_every_byte_outside_the_touched_profile(
    profiles_path: Path,
) -> None:
    profiles_path.parent.mkdir()
    profiles_path.write_text(ORIGINAL)
    profiles_path.chmod(0o600)
    steps = [
        ("add", "ci", "--kind", "standalone-in-cluster", "--k8s-namespace", "kfp"),
        ("use", "ci"),
        ("rename", "ci", "ci-runner"),
        ("rename", "dev", "laptop"),
        ("remove", "ci-runner"),
    ]
    for step in steps:
        done = cli(*step)
        assert done.returncode == 0, (step, done.stderr)
        assert stat.S_IMODE(profiles_path.stat().st_mode) == 0o600
    # `default` named ci-runner when it was removed, so its line went too.
    head = HEAD.replace('default   =  "dev"      # what get_client() uses\n', "")
    dev = DEV.replace("[profiles.dev]", "[profiles.laptop]")
    assert profiles_path.read_text() == head + dev + BETWEEN + PROD + TAIL_GAP + STAGING + "\n"


def test_list_shows_a_broken_profile_without_hiding_the_others(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        """
        default = "good"
        [profiles.good]
        kind = "standalone-in-cluster"
        [profiles.typo]
        kind = "platform-dex"
        host = "https://kf.example.com/pipeline"
        usename = "me"
        [profiles.also-good]
        kind = "platform-in-cluster"
        namespace = "team-a"
        """,
    )
    done = cli("list")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[1].split() == [
        "*",
        "good",
        "standalone-in-cluster",
        "http://ml-pipeline-ui.kubeflow",
        "-",
    ]
    assert lines[2].split()[:2] == ["also-good", "platform-in-cluster"]
    assert lines[3].split()[:2] == ["typo", "broken:"]
    assert "unknown field `usename` for kind 'platform-dex' (did you mean 'username'?)" in lines[3]


def test_a_file_others_can_read_works_with_a_warning_and_the_fix(profiles_path: Path) -> None:
    write_profiles(profiles_path, '[profiles.a]\nkind = "standalone-in-cluster"\n', mode=0o644)
    done = cli("list")
    assert done.returncode == 0
    assert done.stderr == (
        f"kfp-profiles: warning: {profiles_path} can be read by other users; "
        f"run `chmod 600 {profiles_path}`.\n"
    )


def test_env_prints_exports_a_shell_can_eval(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        """
        [profiles.local]
        kind = "standalone-port-forward"
        local_port = 3005
        [profiles.pod]
        kind = "platform-in-cluster"
        token_path = "/var/run/token dir/token"
        [profiles.dex]
        kind = "platform-dex"
        host = "https://kf.example.com"
        username = "me"
        namespace = "ns"
        """,
    )
    script = (
        f'eval "$({SCRIPT} env pod)"; printf "%s|%s|%s" '
        '"$KFP_PROFILE" "$KF_PIPELINES_ENDPOINT" "$KF_PIPELINES_SA_TOKEN_PATH"'
    )
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert (
        done.stdout
        == "pod|http://ml-pipeline-ui.kubeflow.svc.cluster.local|/var/run/token dir/token"
    )
    assert "export KF_PIPELINES_ENDPOINT=http://localhost:3005" in cli("env", "local").stdout
    dex = cli("env", "dex").stdout
    assert "export KFP_PROFILE=dex" in dex and "KF_PIPELINES_ENDPOINT" not in dex.replace("# ", "#")


def test_schema_prints_the_committed_schema(profiles_path: Path) -> None:
    done = cli("schema")
    assert done.returncode == 0
    assert done.stdout == (ROOT / "schemas" / "profiles.schema.json").read_text()


def test_show_sources_names_the_variable_that_won(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(
        profiles_path,
        """
        default = "dev"
        [profiles.dev]
        kind = "standalone-port-forward"
        local_port = 3001
        """,
    )
    monkeypatch.setenv("KFP_HOST", "http://localhost:4000")
    assert run(["show", "--sources"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert rows["profile"] == ["dev", f"file:{profiles_path}"]
    assert rows["host"] == ["http://localhost:4000", "env:KFP_HOST"]
    assert rows["local_port"] == ["3001", f"file:{profiles_path}"]
    assert rows["service"] == ["ml-pipeline-ui", "default"]


# --- fast commands import no client --------------------------------------------------------


def imported_packages(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kfp_profiles", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "kfp_profiles.cli" in names  # the measurement saw the command line load
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("list",),
        ("show", "dev"),
        ("show", "dev", "--sources"),
        ("use", "dev"),
        ("add", "new", "--kind", "standalone-port-forward"),
        ("schema",),
    ],
    ids=lambda args: " ".join(args),
)
def test_commands_that_need_no_client_import_neither_kfp_nor_requests(
    profiles_path: Path, args: tuple[str, ...]
) -> None:
    write_profiles(profiles_path, '[profiles.dev]\nkind = "standalone-port-forward"\n')
    packages = imported_packages(*args)
    assert not packages & {"kfp", "kfp_server_api", "requests", "urllib3", "kubernetes"}
    if args[0] in ("list", "--help", "schema", "use", "add"):
        assert not packages & {"pydantic_settings", "keyring"}


def test_every_command_of_every_module_is_reachable_by_name() -> None:
    # The root group imports a module only when one of its commands is asked for, by the
    # name in COMMAND_MODULES: a command missing there would exist but never run.
    import importlib

    from kfp_profiles.cli import COMMAND_MODULES

    defined: dict[str, str] = {}
    for module_name in set(COMMAND_MODULES.values()):
        module = importlib.import_module(f"kfp_profiles.cli.{module_name}")
        defined.update({command.name or "": module_name for command in module.COMMANDS})
    assert defined == COMMAND_MODULES


def test_list_loads_only_the_module_of_its_own_commands(profiles_path: Path) -> None:
    write_profiles(profiles_path, '[profiles.dev]\nkind = "standalone-port-forward"\n')
    # sys.modules, not -X importtime: importlib.import_module is not reported by the latter.
    code = (
        "import sys; from kfp_profiles.cli import run; status = run(['list']); "
        "print(status, sorted(m for m in sys.modules if m.startswith('kfp_profiles.cli.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "dev" in done.stdout
    assert (
        done.stdout.splitlines()[-1] == "0 ['kfp_profiles.cli._common', 'kfp_profiles.cli.manage']"
    )


# --- shell completion ----------------------------------------------------------------------


def complete(words: str) -> list[str]:
    env = {
        "_KFP_PROFILES_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    done = cli(env=env)
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines()]


def test_completion_of_verbs_and_profile_names(profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        """
        [profiles.dev]
        kind = "standalone-in-cluster"
        [profiles.prod]
        kind = "standalone-in-cluster"
        [profiles.prod-eu]
        kind = "standalone-in-cluster"
        """,
    )
    assert complete("kfp-profiles re") == ["remove", "rename"]
    assert complete("kfp-profiles show pr") == ["prod", "prod-eu"]
    assert complete("kfp-profiles secret set ") == ["dev", "prod", "prod-eu"]
    assert complete("kfp-profiles manifest pod --profile d") == ["dev"]
    other = profiles_path.with_name("other.toml")
    write_profiles(other, '[profiles.elsewhere]\nkind = "standalone-in-cluster"\n')
    assert complete(f"kfp-profiles --file {other} use ") == ["elsewhere"]
    listed = cli("--file", str(other), "list").stdout.splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["elsewhere"]


# --- secrets in the real keyring -----------------------------------------------------------


DEX_FILE = """
default = "prod"
[profiles.prod]
kind = "platform-dex"
host = "{host}"
username = "{user}"
namespace = "{namespace}"
"""


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


# --- check, doctor, login against the emulated front doors ---------------------------------


DOORS = {
    # release -> (door doctor names, door the login names, approval page, login requests)
    "1.11": ("oauth2-proxy", "oauth2-proxy", "not shown", 4),
    "1.9.0": ("oauth2-proxy-first", "oauth2-proxy", "shown", 5),
    "1.8": ("oidc-authservice", "oidc-authservice", "auto-approved", 5),
}


def step_lines(out: str) -> dict[str, list[str]]:
    return {
        name: line[len(name) :].split()
        for line in out.splitlines()
        for name in ("resolve", "port-forward", "authenticate", "healthz", "list experiments")
        if line.startswith(name + " ")
    }


def door_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith("front door")]
    assert lines, out
    return lines[0]


@pytest.mark.parametrize("release", list(DOORS))
def test_check_and_doctor_through_each_front_door(
    release: str,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    door, login_door, approval, requests = DOORS[release]
    with Emulator.for_release(release) as emulator:
        emulator.add_experiment("nightly", namespace=DEX_NAMESPACE)
        write_profiles(
            profiles_path,
            DEX_FILE.format(host=emulator.api_url, user=DEX_USER, namespace=DEX_NAMESPACE),
        )
        monkeypatch.setenv("KFP_PASSWORD", DEX_PASSWORD)

        assert run(["check", "prod"]) == 0
        out = capsys.readouterr().out
        steps = step_lines(out)
        assert [status[0] for status in steps.values()] == ["OK", "SKIP", "OK", "OK", "OK"]
        assert steps["authenticate"][-4:] == ["through", login_door, f"({requests}", "requests)"]
        assert steps["list experiments"][-4:] == ["experiment", "in", "namespace", DEX_NAMESPACE]
        assert out.splitlines()[-1] == "Profile 'prod' works."

        assert run(["doctor", "prod"]) == 0
        out = capsys.readouterr().out
        assert door_line(out).split()[3:5] == [f"{emulator.api_url}:", door]
        assert f"Dex connectors: local; approval page: {approval}" in out
        assert 'kind = "platform-dex"' in out
        assert DEX_PASSWORD not in out


def test_doctor_names_a_host_with_no_front_door_and_suggests_a_profile(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator(door="none") as emulator:
        assert run(["doctor", "--host", emulator.url]) == 0
        out = capsys.readouterr().out
        assert door_line(out).split()[3:6] == [f"{emulator.url}:", "none", "(no"]
        assert "KFP: single-user" in out
        port = emulator.url.rsplit(":", 1)[1]
        assert f'suggests    --    kind = "standalone-port-forward"; local_port = {port}' in out


def test_doctor_lists_several_connectors_and_old_dex_paths(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator.for_release("1.11", connectors=("local", "ldap")) as emulator:
        assert run(["doctor", "--host", emulator.api_url]) == 0
        assert "Dex connectors: local, ldap; approval page: not shown" in capsys.readouterr().out
    with Emulator.for_release("1.5") as emulator:
        assert run(["doctor", "--host", emulator.api_url]) == 0
        out = capsys.readouterr().out
        assert door_line(out).split()[4] == "oidc-authservice"
        assert "old Dex paths (v2.28 or earlier)" in out


def test_check_fails_with_the_login_error_and_its_exit_status(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator.for_release("1.11") as emulator:
        write_profiles(
            profiles_path,
            DEX_FILE.format(host=emulator.api_url, user=DEX_USER, namespace=DEX_NAMESPACE),
        )
        monkeypatch.setenv("KFP_PASSWORD", "wrong-password-123")
        assert run(["check", "prod"]) == 6
        captured = capsys.readouterr()
        steps = step_lines(captured.out)
        assert [status[0] for status in steps.values()] == ["OK", "SKIP", "FAIL", "SKIP", "SKIP"]
        assert captured.err.splitlines() == [
            "kfp-profiles: error: check of profile 'prod' failed: Dex at "
            f"{emulator.url} rejected the password of '{DEX_USER}' (connector 'local') for "
            "profile 'prod': run `kfp-profiles secret set prod` to store the right one."
        ]
        assert "wrong-password-123" not in captured.out + captured.err


def test_check_of_an_unreachable_host_fails_fast_with_status_5(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    write_profiles(
        profiles_path,
        f'[profiles.gone]\nkind = "standalone-in-cluster"\nhost = "http://127.0.0.1:{port}"\n',
    )
    started = time.monotonic()
    assert run(["check", "gone"]) == 5
    assert time.monotonic() - started < HANG_BOUND
    captured = capsys.readouterr()
    assert [s[0] for s in step_lines(captured.out).values()] == [
        "OK",
        "SKIP",
        "SKIP",
        "FAIL",
        "SKIP",
    ]
    assert "the connection was refused" in captured.err


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


# --- the ServiceAccount token and kubectl, as doctor reports them ---------------------------


def jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"


def test_doctor_decodes_the_token_and_never_prints_it(
    tmp_path: Path,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token_file = tmp_path / "token"
    claims = {
        "aud": ["pipelines.kubeflow.org"],
        "exp": int(time.time()) + 7200,
        "kubernetes.io": {"namespace": "team-a", "serviceaccount": {"name": "default-editor"}},
    }
    token = jwt(claims)
    token_file.write_text(token)
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(token_file))
    assert run(["doctor", "--offline"]) == 0
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("token")]
    assert line.startswith(
        f"token       ok    {token_file}: audience pipelines.kubeflow.org; expires "
    )
    assert "(in 119 min)" in line or "(in 120 min)" in line
    assert line.endswith("; namespace team-a; service account default-editor")
    for piece in token.split("."):
        assert piece not in out

    token_file.write_text(jwt({"aud": "kubernetes.default.svc", "exp": int(time.time()) - 60}))
    assert run(["doctor", "--offline"]) == 1  # a token the KFP API would refuse
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("token")]
    assert (
        "FAIL" in line
        and "ago" in line
        and "the KFP API needs audience pipelines.kubeflow.org" in line
    )


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs a real kubectl")
def test_doctor_lists_kubectl_contexts_from_the_kubeconfig(
    tmp_path: Path,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    clusters = "\n".join(
        f"- name: {name}\n  cluster: {{server: 'https://127.0.0.1:1'}}" for name in ("a", "b")
    )
    contexts = "\n".join(
        f"- name: {name}\n  context: {{cluster: {name[-1]}, user: u}}"
        for name in ("kind-a", "prod-b")
    )
    kubeconfig.write_text(
        f"apiVersion: v1\nkind: Config\nclusters:\n{clusters}\ncontexts:\n{contexts}\n"
        "users:\n- name: u\n  user: {}\ncurrent-context: prod-b\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    run(["doctor", "--offline"])
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("kubectl")]
    assert line.endswith("contexts: kind-a, prod-b (current)")


# --- port-forward, through the stand-in kubectl (there is no cluster here) ------------------


def test_port_forward_runs_in_the_foreground_until_ctrl_c(
    cluster: FakeCluster, profiles_path: Path
) -> None:
    port = free_port()
    write_profiles(
        profiles_path, f'[profiles.dev]\nkind = "standalone-port-forward"\nlocal_port = {port}\n'
    )
    child = subprocess.Popen(
        [str(SCRIPT), "port-forward", "dev"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # like a shell job: Ctrl-C goes to the whole group
        preexec_fn=sigint_as_at_a_terminal,  # even when pytest runs as a background job
    )
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + HANG_BOUND
        line = ""
        while not line.startswith("Kubeflow Pipelines of profile 'dev'"):
            assert time.monotonic() < deadline
            line = child.stdout.readline()
            assert line, "port-forward exited early"
        assert f"http://localhost:{port}" in line
        with urllib.request.urlopen(
            f"http://localhost:{port}/apis/v2beta1/experiments", timeout=10
        ) as answer:
            names = [e["display_name"] for e in json.load(answer)["experiments"]]
        assert names == ["through-the-forward"]
        os.killpg(child.pid, signal.SIGINT)
        assert child.wait(HANG_BOUND) == 0
    finally:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(HANG_BOUND)


def test_check_starts_the_managed_port_forward(
    cluster: FakeCluster, profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    write_profiles(
        profiles_path, f'[profiles.dev]\nkind = "standalone-port-forward"\nlocal_port = {port}\n'
    )
    assert run(["check", "dev"]) == 0
    steps = step_lines(capsys.readouterr().out)
    assert steps["port-forward"][0] == "OK"
    assert steps["port-forward"][-4:] == ["KFP", "answers", "at", f"http://localhost:{port}"]
    assert steps["list experiments"][-2:] == ["1", "experiment"]


def test_check_of_an_in_cluster_profile_reads_the_token(
    tmp_path: Path, profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account = "system:serviceaccount:team-a:default-editor"
    token = jwt(
        {
            "aud": ["pipelines.kubeflow.org"],
            "exp": int(time.time()) + 3600,
            "kubernetes.io": {"namespace": "team-a", "serviceaccount": {"name": "default-editor"}},
        }
    )
    token_file = tmp_path / "token"
    token_file.write_text(token)
    with Emulator(door="none", multi_user=True, tokens={token: account}) as emulator:
        emulator.add_user_namespace(account, "team-a")
        emulator.add_experiment("in-the-pod", namespace="team-a")
        write_profiles(
            profiles_path,
            f"""
            [profiles.pod]
            kind = "platform-in-cluster"
            host = "{emulator.url}"
            namespace = "team-a"
            token_path = "{token_file}"
            """,
        )
        assert run(["check", "pod"]) == 0
    out = capsys.readouterr().out
    steps = step_lines(out)
    assert steps["authenticate"][0] == "OK"
    assert "audience pipelines.kubeflow.org" in " ".join(steps["authenticate"])
    assert steps["healthz"][-2:] == ["multi-user", "KFP"]
    assert steps["list experiments"][-5:] == ["1", "experiment", "in", "namespace", "team-a"]
    assert token not in out


def test_doctor_reports_a_world_readable_file_once(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(profiles_path, '[profiles.a]\nkind = "standalone-in-cluster"\n', mode=0o644)
    run(["doctor", "--offline"])
    captured = capsys.readouterr()
    assert (
        f"file        WARN  {profiles_path} is mode 0644, readable by others: "
        f"run `chmod 600 {profiles_path}`"
    ) in captured.out.splitlines()
    assert "warning" not in captured.err


def test_doctor_says_when_nothing_answers(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens there
    assert run(["doctor", "--host", f"http://127.0.0.1:{port}"]) == 1
    line = door_line(capsys.readouterr().out)
    assert line.startswith(f"front door  FAIL  nothing answers at http://127.0.0.1:{port}: ")
    assert "refused" in line and "profile" not in line

    write_profiles(
        profiles_path, f'[profiles.dev]\nkind = "standalone-port-forward"\nlocal_port = {port}\n'
    )
    assert run(["doctor", "dev"]) == 0  # a managed forward not running yet is no failure
    line = door_line(capsys.readouterr().out)
    assert line.startswith(f"front door  --    nothing answers at http://localhost:{port}: ")
    assert line.endswith("(or run `kfp-profiles port-forward dev`)")


# --- bare groups, typos, keyring messages, KFP_PROFILE, check's profile name ----------------


@pytest.mark.parametrize("group", [[], ["secret"], ["manifest"]])
def test_a_group_without_its_command_prints_its_help_and_succeeds(
    profiles_path: Path, group: list[str]
) -> None:
    done = cli(*group)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    command_path = " ".join(["kfp-profiles", *group])
    assert done.stdout.startswith(f"Usage: {command_path} [OPTIONS] COMMAND")
    assert "\nCommands:\n" in done.stdout  # click's layout, not one squeezed line


def test_a_mistyped_command_gets_a_suggestion_in_a_fresh_process(profiles_path: Path) -> None:
    done = cli("lst")
    assert done.returncode == 2
    assert done.stderr == (
        "kfp-profiles: error: No such command 'lst'. Did you mean 'list'? See "
        "`kfp-profiles --help`.\n"
    )


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


TWO_PROFILES = """\
[profiles.a]
kind = "standalone-in-cluster"

[profiles.b]
kind = "standalone-in-cluster"
"""


def test_doctor_fails_when_kfp_profile_names_no_profile(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(profiles_path, TWO_PROFILES)
    monkeypatch.setenv("KFP_PROFILE", "nosuch")
    assert run(["doctor", "--offline"]) == 1
    assert re.search(r"^profile     FAIL  No profile named 'nosuch'", capsys.readouterr().out, re.M)

    profiles_path.unlink()  # no file at all: a profile asked for still fails ...
    assert run(["doctor", "--offline"]) == 1
    assert re.search(r"^profile     FAIL  No profiles file at", capsys.readouterr().out, re.M)
    monkeypatch.delenv("KFP_PROFILE")  # ... and with none asked for it is only a note
    assert run(["doctor", "--offline"]) == 0
    assert re.search(r"^profile     --    No profiles file at", capsys.readouterr().out, re.M)


def test_doctor_reads_the_profiles_file_once(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kfp_profiles import files, resolution

    write_profiles(profiles_path, TWO_PROFILES)
    load = files.load_config
    loads: list[object] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads.append(args)
        return load(*args, **kwargs)

    monkeypatch.setattr(files, "load_config", counted)
    monkeypatch.setattr(resolution, "load_config", counted)
    assert run(["doctor", "--offline", "a"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^profile     ok    a \(standalone-in-cluster\)", out, re.M)
    assert len(loads) == 1


def test_list_warns_when_kfp_profile_names_no_profile(profiles_path: Path) -> None:
    write_profiles(profiles_path, TWO_PROFILES)
    done = cli("list", env={"KFP_PROFILE": "nosuch"})
    assert done.returncode == 0
    assert "KFP_PROFILE" not in done.stdout
    assert done.stderr == (
        "kfp-profiles: warning: KFP_PROFILE=nosuch names no profile, so get_client() will "
        "fail; unset it or use one of a, b.\n"
    )
    done = cli("list", env={"KFP_PROFILE": "b"})
    assert done.stdout.splitlines()[-1] == "KFP_PROFILE=b selects 'b' in this shell."
    assert done.stderr == ""


def test_check_names_a_profile_with_a_space_whole(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens there
    write_profiles(
        profiles_path,
        f'[profiles."team a"]\nkind = "standalone-in-cluster"\nhost = "http://127.0.0.1:{port}"\n',
    )
    assert run(["check", "team a"]) == 5
    captured = capsys.readouterr()
    healthz = next(line for line in captured.out.splitlines() if line.startswith("healthz"))
    detail = healthz.split(" s  ", 1)[1]
    assert detail.startswith(f"Cannot reach http://127.0.0.1:{port} for profile 'team a'")
    assert captured.err == f"kfp-profiles: error: check of profile 'team a' failed: {detail}\n"


def test_an_edit_of_a_file_others_can_read_warns_once(profiles_path: Path) -> None:
    # `use` loads the file, then edits it: each read used to repeat the warning.
    write_profiles(profiles_path, '[profiles.a]\nkind = "standalone-in-cluster"\n', mode=0o644)
    for argv in (["use", "a"], ["add", "b", "--kind", "standalone-in-cluster"]):
        done = cli(*argv)
        assert done.returncode == 0, done.stderr
        assert done.stderr == (
            f"kfp-profiles: warning: {profiles_path} can be read by other users; "
            f"run `chmod 600 {profiles_path}`.\n"
        )


def test_doctor_fails_a_directory_named_as_the_profiles_file(
    profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profiles_path.mkdir(parents=True)  # it said "profiles ok 0 profiles"
    run(["doctor", "--offline"])
    said = (
        f"{profiles_path} is a directory, not a profiles file; point KFP_PROFILES_FILE "
        f"(or --file) at a file such as {profiles_path / 'profiles.toml'}."
    )
    lines = capsys.readouterr().out.splitlines()
    assert f"file        FAIL  {said}" in lines
    assert f"profiles    FAIL  {said}" in lines
