"""Bad command lines and bad files: each gives one exact line on stderr and its exit status.

Run in-process through ``kfp_profiles.cli.run`` (the function the console
script calls) against real files; `test_cli_root.py` covers the real entry point.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kfp_profiles import cli as cli_package
from kfp_profiles import errors
from kfp_profiles.cli import run

from .helpers import write_profiles

GOOD = """\
default = "dev"

[profiles.dev]
kind = "standalone-port-forward"

[profiles.prod]
kind = "platform-dex"
host = "http://127.0.0.1:9/pipeline"
username = "me@example.com"
namespace = "team-a"
"""

KINDS = (
    "standalone-in-cluster, standalone-port-forward, platform-in-cluster, platform-dex, "
    "platform-token, platform-oidc"
)


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    status: int
    #: The one stderr line; {file} is the profiles file's path.
    line: str
    file: str | None = GOOD
    mode: int = 0o600
    env: dict[str, str] = field(default_factory=dict)
    stdin: str = ""


CASES = [
    Case(
        "unknown command",
        ["lst"],
        2,
        "No such command 'lst'. (Did you mean one of: 'list', 'set'?) See `kfp-profiles --help`.",
    ),
    Case(
        "unknown option",
        ["add", "x", "--hots", "http://h"],
        2,
        "No such option '--hots'. (Did you mean one of: '--host', '--ui-host'?) See "
        "`kfp-profiles add --help`.",
    ),
    Case(
        "missing argument",
        ["env"],
        2,
        "Missing argument 'NAME'; see `kfp-profiles env --help`.",
    ),
    Case(
        "bad kind choice",
        ["add", "x", "--kind", "dex"],
        2,
        "Invalid value for '--kind': 'dex' is not one of 'standalone-in-cluster', "
        "'standalone-port-forward', 'platform-in-cluster', 'platform-dex', 'platform-token', "
        "'platform-oidc'; see `kfp-profiles add --help`.",
    ),
    Case(
        "port is not a number",
        ["add", "x", "--kind", "standalone-port-forward", "--local-port", "abc"],
        2,
        "Invalid value for '--local-port': 'abc' is not a valid integer; see "
        "`kfp-profiles add --help`.",
    ),
    Case(
        "port out of range",
        ["add", "x", "--kind", "standalone-port-forward", "--local-port", "70000"],
        2,
        "Profile 'x' in the command line: `local_port` = 70000 is invalid: it must be less "
        "than or equal to 65535 (Local port; 0 lets kubectl pick one).",
    ),
    Case(
        "option of another kind",
        ["add", "x", "--kind", "platform-dex", "--token-path", "/t"],
        2,
        "--token-path does not apply to kind 'platform-dex'; its options are --host, "
        "--namespace, --ui-host, --verify-tls, --ca-bundle, --proxy, --timeout, "
        "--description, --username, --connector.",
    ),
    Case(
        "no kind without a terminal",
        ["add", "x"],
        2,
        f"Profile 'x' needs a kind: pass --kind with one of {KINDS}.",
    ),
    Case(
        "required field missing",
        ["add", "x", "--kind", "platform-dex", "--host", "http://h", "--username", "u"],
        2,
        "Profile 'x' in the command line: `namespace` is required for kind 'platform-dex': "
        "Your Kubeflow profile namespace, e.g. kubeflow-user-example-com.",
    ),
    Case(
        "host that is not a URL",
        ["add", "x", "--kind", "standalone-in-cluster", "--host", "kubeflow"],
        2,
        "Profile 'x' in the command line: `host` = 'kubeflow' is invalid: it must be an "
        "http:// or https:// URL with a host, like https://kubeflow.example.com/pipeline "
        "(URL of the KFP API; wins over the kind's default).",
    ),
    Case(
        "name already taken",
        ["add", "dev", "--kind", "standalone-in-cluster"],
        2,
        "Profile 'dev' already exists in {file}: pass --replace to overwrite it.",
    ),
    Case(
        "unusable name",
        ["add", "my prod", "--kind", "standalone-in-cluster"],
        2,
        "'my prod' is not a usable profile name: use letters, digits, '-', '_', '.' or '@', "
        "starting with a letter or digit (at most 128 characters).",
    ),
    Case(
        "rename onto an existing name",
        ["rename", "dev", "prod"],
        2,
        "Profile 'prod' already exists in {file}: choose another name, or remove it first "
        "with `kfp-profiles remove prod`.",
    ),
    Case(
        "unknown profile, with the closest",
        ["show", "prdo"],
        2,
        "No profile named 'prdo' in {file} (did you mean 'prod'?); the profiles are dev, prod.",
    ),
    Case(
        "remove an unknown profile",
        ["remove", "staging"],
        2,
        "No profile named 'staging' in {file}; the profiles are dev, prod.",
    ),
    Case(
        "use an unknown profile",
        ["use", "deve"],
        2,
        "No profile named 'deve' in {file} (did you mean 'dev'?); the profiles are dev, prod.",
    ),
    Case(
        "no file at all",
        ["show", "prod"],
        2,
        "No profiles file at {file}: run `kfp-profiles init` to create one, or point "
        "KFP_PROFILES_FILE at an existing file.",
        file=None,
    ),
    Case(
        "init over an existing file",
        ["init"],
        2,
        "{file} already exists: edit it or add profiles with `kfp-profiles add`, or run "
        "`kfp-profiles init --force` to replace it (the old file is kept as {file}.bak).",
    ),
    Case(
        "malformed TOML",
        ["list"],
        2,
        "{file}:4:8: Invalid value; fix the TOML syntax there.",
        file='default = "dev"\n\n[profiles.dev]\nkind = \n',
    ),
    Case(
        "file others can write",
        ["list"],
        2,
        "{file} can be written by other users, so it is not used; run `chmod 600 {file}`.",
        mode=0o666,
    ),
    Case(
        "misspelt top-level key",
        ["list"],
        2,
        "{file}: unknown top-level key `profile` (did you mean 'profiles'?); a profile goes "
        "in a [profiles.NAME] table and the file may also set `default` and `version`.",
        file='[profile.dev]\nkind = "standalone-in-cluster"\n',
    ),
    Case(
        "password in the file",
        ["show", "prod"],
        2,
        "Profile 'prod' in {file}: `password` must not be stored in the file; remove it and "
        "run `kfp-profiles secret set prod` (or set KFP_PASSWORD for one process).",
        file=GOOD + 'password = "hunter2"\n',
    ),
    Case(
        "misspelt field in the file",
        ["show", "dev"],
        2,
        "Profile 'dev' in {file}: unknown field `local_prot` for kind 'standalone-port-forward' "
        "(did you mean 'local_port'?); valid fields are ca_bundle, description, host, "
        "k8s_namespace, kind, kube_context, kubectl, local_port, manage, namespace, proxy, "
        "remote_port, service, timeout, ui_host, verify_tls.",
        file='[profiles.dev]\nkind = "standalone-port-forward"\nlocal_prot = 3000\n',
    ),
    Case(
        "environment changing the kind",
        ["show", "prod"],
        2,
        "Profile 'prod' is of kind 'platform-dex' but KFP_KIND='standalone-in-cluster': the "
        "environment cannot change a profile's kind; unset KFP_KIND or pick another profile "
        "with KFP_PROFILE.",
        env={"KFP_KIND": "standalone-in-cluster"},
    ),
    Case(
        "nothing selected",
        ["show"],
        2,
        "No profile selected and {file} sets no `default`: pass a name, set KFP_PROFILE "
        "(profiles: dev, prod), or run `kfp-profiles use NAME`.",
        file=GOOD.replace('default = "dev"\n', ""),
    ),
    Case(
        "a password for a kind that has none",
        ["secret", "set", "dev"],
        2,
        "Profile 'dev' is of kind 'standalone-port-forward', which logs in with no password; "
        "only platform-dex profiles have one.",
    ),
    Case(
        "empty password on stdin",
        ["secret", "set", "prod"],
        2,
        "No password on stdin for profile 'prod': pipe it in (e.g. `pass kf | kfp-profiles "
        "secret set prod`) or run this command at a terminal.",
        stdin="\n",
    ),
    Case(
        "port-forward of a kind without one",
        ["port-forward", "prod"],
        2,
        "Profile 'prod' is of kind 'platform-dex': only standalone-port-forward profiles have "
        "a port-forward.",
    ),
    Case(
        "manifest without a namespace",
        ["manifest", "poddefault"],
        2,
        "--namespace is required: pass the Kubeflow profile namespace, e.g. --namespace "
        "kubeflow-user-example-com, or --profile NAME.",
    ),
    Case(
        "manifest with an invalid namespace",
        ["manifest", "pod", "--namespace", "Team_A"],
        2,
        "The namespace 'Team_A' is not a valid Kubernetes name: use at most 63 lower-case "
        "letters, digits and '-', starting and ending with a letter or digit.",
    ),
    Case(
        "rolebinding without its source",
        ["manifest", "rolebinding", "--namespace", "team-b"],
        2,
        "Missing option '--from-namespace'; see `kfp-profiles manifest rolebinding --help`.",
    ),
    Case(
        "doctor with a host that is not a URL",
        ["doctor", "--host", "ftp://kubeflow"],
        2,
        "--host must be an http:// or https:// URL, like http://localhost:8080/pipeline "
        "(got 'ftp://kubeflow').",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gives_one_exact_line(
    case: Case,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = profiles_path
    if case.file is not None:
        write_profiles(path, case.file, mode=case.mode)
    before = path.read_bytes() if path.exists() else None
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.stdin", io.StringIO(case.stdin))

    status = run(case.argv)

    captured = capsys.readouterr()
    expected = "kfp-profiles: error: " + case.line.format(file=path)
    assert captured.err.splitlines() == [expected]
    assert status == case.status
    assert captured.out == ""
    # A refused command changes nothing.
    assert (path.read_bytes() if path.exists() else None) == before


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


def test_debug_adds_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KFP_PROFILES_FILE", str(tmp_path / "none.toml"))
    assert run(["show", "x"]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert run(["--debug", "show", "x"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("kfp-profiles: error: No profiles file at")


def test_the_documented_exit_statuses_are_the_ones_used() -> None:
    """The table in the module docstring (quoted by the README) matches the error classes."""
    doc = cli_package.__doc__ or ""
    table = {
        int(status): text
        for status, text in re.findall(r"^(\d+)\s{2,}(.+?)(?=^\d+\s{2,}|^=)", doc, re.M | re.S)
    }
    named = {
        "ConfigError": errors.ConfigError,
        "SecretError": errors.SecretError,
        "TokenFileError": errors.TokenFileError,
        "ConnectionFailedError": errors.ConnectionFailedError,
        "LoginError": errors.LoginError,
        "ApiError": errors.ApiError,
        "PortForwardError": errors.PortForwardError,
    }
    for class_name, error_class in named.items():
        documented = [status for status, text in table.items() if f"``{class_name}``" in text]
        assert documented == [error_class.exit_code], class_name

    # Every error class's status is in the table.
    def subclasses(klass: type[errors.KfpProfilesError]) -> list[type[errors.KfpProfilesError]]:
        found = [klass]
        for sub in klass.__subclasses__():
            found += subclasses(sub)
        return found

    for error_class in subclasses(errors.KfpProfilesError):
        assert error_class.exit_code in table, error_class.__name__
    assert table.keys() >= {0, 1, 2, 130}


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["show", "dev", "extra"],
            "Got unexpected extra argument (extra); see `kfp-profiles show --help`.",
        ),
        (["--debug"], "Missing command; see `kfp-profiles --help`."),
        (
            # A URL with no host passed the old prefix test, then failed as InvalidURL.
            ["doctor", "--host", "http://"],
            "--host must be an http:// or https:// URL, like http://localhost:8080/pipeline "
            "(got 'http://').",
        ),
    ],
)
def test_a_bad_command_line_is_one_sentence_with_its_fix(
    argv: list[str],
    line: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(GOOD)
    path.chmod(0o600)
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"kfp-profiles: error: {line}"]
    assert captured.out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["show", "dev"],
        ["use", "dev"],
        ["add", "x", "--kind", "standalone-in-cluster"],
        ["remove", "dev"],
        ["init"],
        ["init", "--force"],
    ],
)
def test_a_directory_named_as_the_profiles_file_is_one_sentence_with_its_fix(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # It was read as a file with no profiles, or failed as an unexpected IsADirectoryError.
    folder = tmp_path / "adir.toml"
    folder.mkdir()
    monkeypatch.setenv("KFP_PROFILES_FILE", str(folder))
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"kfp-profiles: error: {folder} is a directory, not a profiles file; point "
        f"--file (or KFP_PROFILES_FILE) at a file such as {folder / 'profiles.toml'}."
    ]
    assert captured.out == ""
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            b'default = "a"\r[profiles.a]\rkind = "standalone-in-cluster"\r',
            "1:14: the line ends in a bare CR, which TOML does not allow; save the file with "
            "LF or CRLF line endings.",
        ),
        (
            b'# caf\xe9\n[profiles.a]\nkind = "standalone-in-cluster"\n',
            "1:6: byte 0xe9 is not UTF-8; save the file as UTF-8.",
        ),
        (
            b'[profiles.a]\nkind = "standalone-in-cluster"\n\n[profiles.a]\n',
            "4:12: [profiles.a] is defined twice; merge the two tables or rename one.",
        ),
    ],
    ids=["bare CR", "not UTF-8", "table twice"],
)
@pytest.mark.parametrize(
    "argv", [["list"], ["use", "a"], ["add", "b", "--kind", "standalone-in-cluster"]]
)
def test_a_file_that_is_not_toml_gets_one_line_alike_from_list_and_edits(
    argv: list[str],
    content: bytes,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "profiles.toml"
    path.write_bytes(content)
    path.chmod(0o600)
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"kfp-profiles: error: {path}:{says}"]
    assert path.read_bytes() == content
