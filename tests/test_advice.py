"""Advice in the reader's own language (issue 10, point 9; errors/base.py's audiences).

Python messages name arguments and variables, command-line messages flags and
verbs; token-path advice names the setting that won, wrong-password advice where
the password came from, and `check` says each failure once. Each case runs
through the library (against the emulated Kubeflow over real HTTP where it
logs in) and through the command line in-process (``kfp_profiles.cli.run``),
with its exact message. The only stand-ins are keyring backends that store
nothing or fail, as on machines with no usable keyring.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles import editing, errors
from kfp_profiles.client import get_client
from kfp_profiles.errors import Wording
from kfp_profiles.errors.base import Audience
from kfp_profiles.files import load_config
from kfp_profiles.testing import Emulator

from .helpers import DEX_FILE, DEX_NAMESPACE, DEX_USER, write_profiles
from .test_refusals import chain, cli_error

# --- point 9: advice in the user's own language --------------------------------------------


@dataclass
class Case:
    """One error, as Python and as the command line say it (None: that side cannot meet it)."""

    id: str
    #: Set-up: (tmp_path, profiles_path, monkeypatch, request) -> values for the templates.
    setup: Callable[..., dict[str, Any]]
    #: The Python call that fails (given the template values).
    python: Callable[[dict[str, Any]], object] | None
    python_says: str | None
    error: type[errors.KfpProfilesError]
    argv: list[str] | None = None
    status: int = 0
    cli_says: str | None = None
    marks: list[Any] = field(default_factory=list)


def dex_file(
    tmp_path: Path, profiles_path: Path, monkeypatch: pytest.MonkeyPatch, request: Any
) -> dict[str, Any]:
    emu = Emulator.for_release("1.11").start()
    request.addfinalizer(emu.stop)
    write_profiles(
        profiles_path, DEX_FILE.format(host=emu.api_url, user=DEX_USER, namespace=DEX_NAMESPACE)
    )
    return {"url": emu.url, "api_url": emu.api_url}


def keyring_that_stores_nothing(
    tmp_path: Path, profiles_path: Path, monkeypatch: pytest.MonkeyPatch, request: Any
) -> dict[str, Any]:
    import keyring.core
    from keyring.backends import null

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", null.Keyring())  # type: ignore[no-untyped-call]
    return dex_file(tmp_path, profiles_path, monkeypatch, request)


def no_keyring(
    tmp_path: Path, profiles_path: Path, monkeypatch: pytest.MonkeyPatch, request: Any
) -> dict[str, Any]:
    request.getfixturevalue("no_keyring")
    return dex_file(tmp_path, profiles_path, monkeypatch, request)


def host_overridden(
    tmp_path: Path, profiles_path: Path, monkeypatch: pytest.MonkeyPatch, request: Any
) -> dict[str, Any]:
    values = dex_file(tmp_path, profiles_path, monkeypatch, request)
    # Another Kubeflow that answers: the password is asked for only once a host shows
    # its password form, and this one's is not where the stored password belongs.
    other = Emulator.for_release("1.11").start()
    request.addfinalizer(other.stop)
    monkeypatch.setenv("KFP_HOST", other.api_url)
    return {**values, "other": other.api_url}


def wrong_password_in(where: str) -> Callable[..., dict[str, Any]]:
    def setup(
        tmp_path: Path, profiles_path: Path, monkeypatch: pytest.MonkeyPatch, request: Any
    ) -> dict[str, Any]:
        if where == "env":
            monkeypatch.setenv("KFP_PASSWORD", "not-the-password")
        elif where == "keyring":
            request.getfixturevalue("keyring_backend")
            import keyring

            keyring.set_password("kfp-profiles", "prod", "not-the-password")
        return dex_file(tmp_path, profiles_path, monkeypatch, request)

    return setup


def token_missing(variables: dict[str, str], in_file: bool = True) -> Callable[..., dict[str, Any]]:
    def setup(
        tmp_path: Path, profiles_path: Path, monkeypatch: pytest.MonkeyPatch, request: Any
    ) -> dict[str, Any]:
        values = {"dir": str(tmp_path), "file": str(profiles_path)}
        for name, value in variables.items():
            monkeypatch.setenv(name, value.format(**values))
        line = f'token_path = "{tmp_path}/file/token"\n' if in_file else ""
        write_profiles(
            profiles_path,
            '[profiles.pod]\nkind = "platform-in-cluster"\nhost = "http://127.0.0.1:9"\n' + line,
        )
        return values

    return setup


def one_profile(
    tmp_path: Path, profiles_path: Path, monkeypatch: pytest.MonkeyPatch, request: Any
) -> dict[str, Any]:
    write_profiles(profiles_path, '[profiles.dev]\nkind = "standalone-in-cluster"\n')
    return {"file": str(profiles_path)}


def a_directory(
    tmp_path: Path, profiles_path: Path, monkeypatch: pytest.MonkeyPatch, request: Any
) -> dict[str, Any]:
    profiles_path.mkdir(parents=True)
    return {"file": str(profiles_path)}


SECRET_SET = "`kfp-profiles secret set prod`"
WRONG = (
    "Dex at {url} rejected the password of 'user@example.com' (connector 'local') for "
    "profile 'prod': "
)
TOKEN = "Profile 'pod': the ServiceAccount token file {missing} does not exist; "
VOLUME = "the projected token volume (audience pipelines.kubeflow.org)"
FILE_TOKEN = "{dir}/file/token"
ENV_TOKEN = "{dir}/env/token"
NULL = "keyring.backends.null.Keyring"
STANDALONE = {"kind": "standalone-in-cluster"}

CASES = [
    Case(
        "password missing",
        keyring_that_stores_nothing,
        lambda v: get_client("prod"),
        "Profile 'prod' needs a password to log in as 'user@example.com' and none was found "
        f"(the keyring backend {NULL} stores nothing): pass password=..., set KFP_PASSWORD, "
        f"or run {SECRET_SET}.",
        errors.PasswordMissingError,
        ["login", "prod"],
        3,
        "Profile 'prod' needs a password to log in as 'user@example.com' and none was found "
        f"(the keyring backend {NULL} stores nothing): set KFP_PASSWORD or run {SECRET_SET}.",
    ),
    Case(
        "keyring unavailable",
        no_keyring,
        lambda v: get_client("prod"),
        "The OS keyring cannot be used (NoKeyringError: No recommended backend was available) "
        "for profile 'prod': set KFP_PASSWORD, pass password=..., or start a Secret Service "
        f"(or choose a backend with PYTHON_KEYRING_BACKEND) and run {SECRET_SET}.",
        errors.KeyringUnavailableError,
        ["login", "prod"],
        3,
        "The OS keyring cannot be used (NoKeyringError: No recommended backend was available) "
        "for profile 'prod': set KFP_PASSWORD, or start a Secret Service (or choose a backend "
        f"with PYTHON_KEYRING_BACKEND) and run {SECRET_SET}.",
    ),
    Case(
        "stored password, overridden host",
        host_overridden,
        lambda v: get_client("prod"),
        "Profile 'prod' keeps its password for {url}, but KFP_HOST points it at "
        "{other}: a stored password never follows an override to another "
        "host; pass password= (or set KFP_PASSWORD) for that host, or add a profile for it.",
        errors.StoredSecretElsewhereError,
        ["login", "prod"],
        3,
        "Profile 'prod' keeps its password for {url}, but KFP_HOST points it at "
        "{other}: a stored password never follows an override to another "
        "host; set KFP_PASSWORD for that host, or add a profile for it with `kfp-profiles add`.",
    ),
    Case(
        "wrong password, argument",
        wrong_password_in("arg"),
        lambda v: get_client("prod", password="not-the-password"),
        WRONG + "it came from the password= argument: pass the right one.",
        errors.InvalidCredentialsError,
    ),
    Case(
        "wrong password, KFP_PASSWORD",
        wrong_password_in("env"),
        lambda v: get_client("prod"),
        WRONG + "it came from KFP_PASSWORD: set KFP_PASSWORD to the right one (or unset it to "
        "use the one in the OS keyring).",
        errors.InvalidCredentialsError,
        ["login", "prod"],
        6,
        WRONG + "it came from KFP_PASSWORD: set KFP_PASSWORD to the right one (or unset it to "
        "use the one in the OS keyring).",
    ),
    Case(
        "wrong password, keyring",
        wrong_password_in("keyring"),
        lambda v: get_client("prod"),
        WRONG + f"it came from the OS keyring: run {SECRET_SET} to store the right one.",
        errors.InvalidCredentialsError,
        ["login", "prod"],
        6,
        WRONG + f"it came from the OS keyring: run {SECRET_SET} to store the right one.",
        marks=[pytest.mark.keyring],
    ),
    Case(
        "token path from the file",
        token_missing({}),
        lambda v: get_client("pod"),
        TOKEN.replace("{missing}", FILE_TOKEN) + f"`token_path` in {{file}} names it: point it "
        f"at where {VOLUME} is mounted (see `kfp-profiles manifest poddefault`), or set "
        "KFP_TOKEN_PATH.",
        errors.TokenFileError,
        ["check", "pod"],
        4,
        "check of profile 'pod' failed: "
        + TOKEN.replace("{missing}", FILE_TOKEN)
        + f"`token_path` in {{file}} names it: point it at where {VOLUME} is mounted (see "
        "`kfp-profiles manifest poddefault`), or set KFP_TOKEN_PATH.",
    ),
    Case(
        "token path from KFP_TOKEN_PATH, which outranks the SDK's variable",
        token_missing(
            {"KFP_TOKEN_PATH": ENV_TOKEN, "KF_PIPELINES_SA_TOKEN_PATH": "{dir}/sdk/token"}
        ),
        lambda v: get_client("pod"),
        TOKEN.replace("{missing}", ENV_TOKEN) + "KFP_TOKEN_PATH names it and outranks every "
        f"other setting: point KFP_TOKEN_PATH at where {VOLUME} is mounted, or unset it.",
        errors.TokenFileError,
        ["check", "pod"],
        4,
        "check of profile 'pod' failed: "
        + TOKEN.replace("{missing}", ENV_TOKEN)
        + "KFP_TOKEN_PATH names it and outranks every other setting: point KFP_TOKEN_PATH at "
        f"where {VOLUME} is mounted, or unset it.",
    ),
    Case(
        "token path from KF_PIPELINES_SA_TOKEN_PATH",
        token_missing({"KF_PIPELINES_SA_TOKEN_PATH": ENV_TOKEN}),
        lambda v: get_client("pod"),
        TOKEN.replace("{missing}", ENV_TOKEN) + "KF_PIPELINES_SA_TOKEN_PATH names it and "
        "outranks the profile's `token_path`: point KF_PIPELINES_SA_TOKEN_PATH at where "
        f"{VOLUME} is mounted, or unset it.",
        errors.TokenFileError,
        ["check", "pod"],
        4,
        "check of profile 'pod' failed: "
        + TOKEN.replace("{missing}", ENV_TOKEN)
        + "KF_PIPELINES_SA_TOKEN_PATH names it and outranks the profile's `token_path`: point "
        f"KF_PIPELINES_SA_TOKEN_PATH at where {VOLUME} is mounted, or unset it.",
    ),
    Case(
        "token path by default",
        token_missing({}, in_file=False),
        lambda v: get_client("pod"),
        TOKEN.replace("{missing}", "/var/run/secrets/kubeflow/pipelines/token")
        + f"the pod needs {VOLUME} mounted at /var/run/secrets/kubeflow/pipelines (see "
        "`kfp-profiles manifest poddefault`), or set KF_PIPELINES_SA_TOKEN_PATH to where it "
        "is mounted.",
        errors.TokenFileError,
        ["check", "pod"],
        4,
        "check of profile 'pod' failed: "
        + TOKEN.replace("{missing}", "/var/run/secrets/kubeflow/pipelines/token")
        + f"the pod needs {VOLUME} mounted at /var/run/secrets/kubeflow/pipelines (see "
        "`kfp-profiles manifest poddefault`), or set KF_PIPELINES_SA_TOKEN_PATH to where it "
        "is mounted.",
    ),
    Case(
        "token path as an argument",
        token_missing({}),
        lambda v: get_client("pod", token_path=v["dir"] + "/arg/token"),
        TOKEN.replace("{missing}", "{dir}/arg/token") + "the token_path= argument names it: "
        f"pass the path where {VOLUME} is mounted.",
        errors.TokenFileError,
    ),
    Case(
        "profile exists",
        one_profile,
        lambda v: editing.add_profile("dev", STANDALONE),
        "Profile 'dev' already exists in {file}: pass replace=True to overwrite it.",
        errors.ProfileExistsError,
        ["add", "dev", "--kind", "standalone-in-cluster", "--no-input"],
        2,
        "Profile 'dev' already exists in {file}: pass --replace to overwrite it.",
    ),
    Case(
        "profiles file exists",
        one_profile,
        lambda v: editing.init_file(Path(v["file"])),
        "{file} already exists: edit it or add profiles with `kfp-profiles add`, or pass "
        "force=True to replace it (the old file is kept as {file}.bak).",
        errors.ProfilesFileExistsError,
        ["init"],
        2,
        "{file} already exists: edit it or add profiles with `kfp-profiles add`, or run "
        "`kfp-profiles init --force` to replace it (the old file is kept as {file}.bak).",
    ),
    Case(
        "profiles file is a directory",
        a_directory,
        lambda v: load_config(),
        "{file} is a directory, not a profiles file; point KFP_PROFILES_FILE at a file such "
        "as {file}/profiles.toml.",
        errors.ProfilesFileIsDirectoryError,
        ["list"],
        2,
        "{file} is a directory, not a profiles file; point --file (or KFP_PROFILES_FILE) at a "
        "file such as {file}/profiles.toml.",
    ),
]


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=case.id, marks=case.marks) for case in CASES]
)
def test_each_audience_reads_its_own_words(
    case: Case,
    tmp_path: Path,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    values = case.setup(tmp_path, profiles_path, monkeypatch, request)
    if case.python is not None:
        assert case.python_says is not None
        call = case.python
        with pytest.raises(case.error) as caught:
            call(values)
        assert type(caught.value) is case.error
        assert str(caught.value) == case.python_says.format(**values)
        for error in chain(caught.value):
            assert "not-the-password" not in f"{error!r} {getattr(error, 'fields', '')}"
    if case.argv is not None:
        assert case.cli_says is not None
        status, out, err = cli_error(case.argv, capsys)
        said = case.cli_says.format(**values)
        assert (status, err) == (case.status, f"kfp-profiles: error: {said}\n")
        assert (out + err).count(said.removeprefix("check of profile 'pod' failed: ")) == 1


#: A Python argument (``password=``) or a command-line flag (``--file``) outside a quoted
#: command (`kfp-profiles init --force` is a command both audiences can run).
ARGUMENT = re.compile(r"\b[a-z_]+=")
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def unquoted(text: str) -> str:
    return re.sub(r"`[^`]*`", "", text)


def error_classes() -> list[type[errors.KfpProfilesError]]:
    found = [getattr(errors, name) for name in dir(errors)]
    return [c for c in found if isinstance(c, type) and issubclass(c, errors.KfpProfilesError)]


def wordings(cls: type[errors.KfpProfilesError], audience: Audience) -> list[str]:
    """Every template ``cls`` can render for ``audience``: its own and its tables' rows."""
    owner = next(klass for klass in cls.__mro__ if "fmt" in vars(klass))
    own = vars(owner).get("cli_fmt") if audience == "cli" else None
    texts = [own or cls.fmt]
    for _, table in cls.tables.values():
        texts += [row.text(audience) if isinstance(row, Wording) else row for row in table.values()]
    return texts


# Errors only one audience can meet: the command line's own options, and Python's keyword
# arguments (the command line passes none).
CLI_ONLY = {
    "HostOptionError",
    "KindOptionMissingError",
    "OptionNotOfKindError",
    "NamespaceOptionMissingError",
    "NoPipedPasswordError",
}
PYTHON_ONLY = {"KindArgumentError", "UnknownFieldArgumentError"}


@pytest.mark.parametrize("cls", error_classes(), ids=lambda cls: cls.__name__)
def test_no_message_names_the_other_audiences_way(cls: type[errors.KfpProfilesError]) -> None:
    if cls.__name__ not in CLI_ONLY:
        for text in wordings(cls, "python"):
            assert not FLAG.search(unquoted(text)), f"a flag in Python words: {text}"
    if cls.__name__ not in PYTHON_ONLY:
        for text in wordings(cls, "cli"):
            assert not ARGUMENT.search(unquoted(text)), f"an argument in CLI words: {text}"


# --- the mechanism ---------------------------------------------------------------------------


def test_a_subclass_with_its_own_words_keeps_them_for_the_command_line() -> None:
    # KeyringUnavailableError has CLI words; KeyringStoreError words its message anew.
    parent = errors.KeyringUnavailableError(profile="p", reason="R")
    child = errors.KeyringStoreError(profile="p", reason="R")
    assert "password=" in str(parent) and "password=" not in parent.cli_message
    assert child.cli_message == str(child)


def test_a_source_row_is_found_by_its_prefix_and_a_caller_that_knows_more_adds_it() -> None:
    error = errors.TokenFileError(profile="p", path="/t/token", problem="is empty")
    assert vars(error)["fix"].startswith("the pod needs the projected token")  # no source: default
    sourced = error.with_fields(source="file:/home/me/profiles.toml")
    assert type(sourced) is errors.TokenFileError
    assert str(sourced) == (
        "Profile 'p': the ServiceAccount token file /t/token is empty; `token_path` in "
        "/home/me/profiles.toml names it: point it at where the projected token volume "
        "(audience pipelines.kubeflow.org) is mounted (see `kfp-profiles manifest "
        "poddefault`), or set KFP_TOKEN_PATH."
    )


def test_a_callers_text_is_never_read_as_a_template() -> None:
    # The server's words go into fields; braces in them are text, not placeholders.
    error = errors.TokenRefusedError(
        profile="p", url="http://h", path="/t", kind="x", why="401 ({profile} {0})"
    )
    assert "with 401 ({profile} {0});" in str(error)
