"""The edits of the command line on a hand-written profiles file: byte for byte, every file.

Everything here uses real files and real permissions; the atomic write and the
lock, with their concurrency and crash tests, are tests/test_atomicfile.py's,
and splicing text alone is tests/test_tomlsplice.py's.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kfp_profiles import editing
from kfp_profiles.errors import (
    ConfigError,
    FileEditError,
    ProfileExistsError,
    ProfileNotFoundError,
    ProfilesFileExistsError,
    ProfilesFileNotFoundError,
    ProfilesFileParseError,
    ProfilesFilePermissionError,
)
from kfp_profiles.files import (
    ProfilesConfig,
    load_config,
)
from tests.handwritten import (
    BETWEEN,
    DEV,
    HEAD,
    ORIGINAL,
    PROD,
    STAGING,
    TAIL_GAP,
    mode_of,
    text_of,
    write_original,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@pytest.fixture
def profiles_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_original(tmp_path / "conf" / "profiles.toml")
    monkeypatch.setenv("KFP_PROFILES_FILE", str(path))
    return path


# --- byte for byte ------------------------------------------------------------------------


def test_add_appends_a_table_and_changes_nothing_else(profiles_file: Path) -> None:
    result = editing.add_profile(
        "team-b",
        {
            "kind": "platform-dex",
            "host": "https://b.example.com",
            "username": "u",
            "namespace": "team-b",
            "verify_tls": False,
            "timeout": 12.5,
        },
    )
    added = (
        "\n\n[profiles.team-b]\n"
        'kind = "platform-dex"\n'
        'host = "https://b.example.com"\n'
        'username = "u"\n'
        'namespace = "team-b"\n'
        "verify_tls = false\n"
        "timeout = 12.5\n"
    )
    assert text_of(profiles_file) == ORIGINAL + added
    assert result.path == profiles_file and not result.created_file and result.default_in is None
    assert mode_of(profiles_file) == 0o600


def test_use_rewrites_only_the_default_value(profiles_file: Path) -> None:
    editing.set_default_profile("prod")
    expected = ORIGINAL.replace('default   =  "dev"', 'default   =  "prod"')
    assert text_of(profiles_file) == expected


def test_rename_touches_only_the_header_and_the_default(profiles_file: Path) -> None:
    result = editing.rename_profile("dev", "laptop")
    expected = (
        HEAD.replace('"dev"', '"laptop"')
        + DEV.replace("[profiles.dev]", "[profiles.laptop]")
        + BETWEEN
        + PROD
        + TAIL_GAP
        + STAGING
    )
    assert text_of(profiles_file) == expected
    assert result.default_renamed_in == (profiles_file,)


def test_rename_of_a_quoted_header_keeps_its_comment(profiles_file: Path) -> None:
    editing.rename_profile("prod", "prod.eu")
    header = '[ profiles . "prod" ]  # quoted on purpose\n'
    assert text_of(profiles_file) == ORIGINAL.replace(
        header, '[profiles."prod.eu"]  # quoted on purpose\n'
    )
    assert "prod.eu" in tomllib.loads(text_of(profiles_file))["profiles"]


def test_remove_takes_the_profile_and_its_own_comments_only(profiles_file: Path) -> None:
    result = editing.remove_profile("prod")
    # Its leading comment and body go, with the blank line that followed it;
    # the detached section comment above it stays.
    assert text_of(profiles_file) == HEAD + DEV + BETWEEN + STAGING
    assert result.default_removed_from == ()


def test_remove_of_the_default_removes_the_default_line_and_says_so(profiles_file: Path) -> None:
    result = editing.remove_profile("dev")
    head = HEAD.replace('default   =  "dev"      # what get_client() uses\n', "")
    # DEV's leading comment is attached to it; the blank line of BETWEEN that
    # followed its body goes with it.
    assert text_of(profiles_file) == head + BETWEEN[1:] + PROD + TAIL_GAP + STAGING
    assert result.default_removed_from == (profiles_file,)


def test_remove_of_the_last_profile_drops_the_blank_lines_before_it(profiles_file: Path) -> None:
    editing.remove_profile("staging")
    assert text_of(profiles_file) == HEAD + DEV + BETWEEN + PROD


def test_hand_written_file_through_add_use_rename_remove(profiles_file: Path) -> None:
    editing.add_profile("ci", {"kind": "standalone-in-cluster", "k8s_namespace": "kfp"})
    editing.set_default_profile("ci")
    editing.rename_profile("ci", "ci-runner")
    editing.remove_profile("ci-runner")
    # Removing the default removed the default line: everything else is as written.
    expected = ORIGINAL.replace('default   =  "dev"      # what get_client() uses\n', "")
    assert text_of(profiles_file) == expected + "\n"
    assert mode_of(profiles_file) == 0o600


def test_replace_keeps_comments_inside_the_profile(profiles_file: Path) -> None:
    editing.add_profile(
        "dev",
        {"kind": "standalone-port-forward", "local_port": 3005, "service": "ui"},
        replace=True,
    )
    dev = DEV.replace("local_port = 3000\n", 'local_port = 3005\nservice = "ui"\n')
    assert text_of(profiles_file) == HEAD + dev + BETWEEN + PROD + TAIL_GAP + STAGING


def test_crlf_files_stay_crlf(profiles_file: Path) -> None:
    crlf = ORIGINAL.replace("\n", "\r\n")
    profiles_file.write_bytes(crlf.encode())
    editing.add_profile("x", {"kind": "standalone-in-cluster"})
    editing.rename_profile("prod", "live")
    data = profiles_file.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.startswith(HEAD.replace("\n", "\r\n").encode())
    assert data.endswith(b'\r\n\r\n[profiles.x]\r\nkind = "standalone-in-cluster"\r\n')


def test_a_profile_written_inline_is_refused_and_the_file_left_alone(profiles_file: Path) -> None:
    inline = 'profiles.inline = { kind = "standalone-in-cluster" }\n'
    text = inline + ORIGINAL
    profiles_file.write_text(text)
    with pytest.raises(FileEditError) as caught:
        editing.rename_profile("inline", "other")
    assert str(caught.value) == (
        f"Cannot rename profile 'inline' in {profiles_file} without touching lines outside it "
        "(the profile is not written as one [profiles.inline] table); make this change by "
        "hand, the file was left as it was."
    )
    assert profiles_file.read_text() == text


def test_name_taken_and_name_unknown(profiles_file: Path) -> None:
    with pytest.raises(ProfileExistsError):
        editing.add_profile("dev", {"kind": "standalone-in-cluster"})
    with pytest.raises(ProfileExistsError):
        editing.rename_profile("dev", "prod")
    with pytest.raises(ProfileNotFoundError, match="did you mean 'prod'"):
        editing.remove_profile("prdo")
    assert text_of(profiles_file) == ORIGINAL


# --- several files --------------------------------------------------------------------------


def test_edits_go_to_the_file_that_defines_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "a.toml"
    second = tmp_path / "b.toml"
    first.write_text('[profiles.one]\nkind = "standalone-in-cluster"\n')
    second_text = 'default = "two"  # keep\n\n[profiles.two]\nkind = "standalone-in-cluster"\n'
    second.write_text(second_text)
    for path in (first, second):
        path.chmod(0o600)
    monkeypatch.setenv("KFP_PROFILES_FILE", f"{first}:{second}")

    added = editing.add_profile("three", {"kind": "standalone-in-cluster"})
    assert added.path == first
    assert second.read_text() == second_text

    renamed = editing.rename_profile("two", "deux")
    assert renamed.path == second and renamed.default_renamed_in == (second,)
    assert second.read_text() == second_text.replace("two", "deux")

    removed = editing.remove_profile("deux")
    assert removed.default_removed_from == (second,)
    assert second.read_text() == ""

    assert editing.set_default_profile("one") == first
    assert tomllib.loads(first.read_text())["default"] == "one"


# --- files and folders: modes, permissions, symlinks -------------------------------------------


def test_new_file_is_0600_in_a_new_0700_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_PROFILES_FILE", str(tmp_path / "new" / "deeper" / "profiles.toml"))
    result = editing.add_profile("dev", {"kind": "standalone-in-cluster"})
    assert result.created_file
    assert result.default_in == result.path  # the first profile becomes the default
    assert mode_of(result.path) == 0o600
    assert mode_of(result.path.parent) == 0o700
    assert tomllib.loads(result.path.read_text()) == {
        "default": "dev",
        "profiles": {"dev": {"kind": "standalone-in-cluster"}},
    }


def test_an_existing_folder_keeps_its_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "sdk-folder"
    folder.mkdir()
    folder.chmod(0o755)  # e.g. the SDK's own ~/.config/kfp/
    monkeypatch.setenv("KFP_PROFILES_FILE", str(folder / "profiles.toml"))
    editing.add_profile("dev", {"kind": "standalone-in-cluster"})
    assert mode_of(folder) == 0o755
    assert mode_of(folder / "profiles.toml") == 0o600


def test_a_file_others_can_write_is_refused(profiles_file: Path) -> None:
    profiles_file.chmod(0o666)
    with pytest.raises(ProfilesFilePermissionError) as caught:
        editing.add_profile("x", {"kind": "standalone-in-cluster"})
    assert f"run `chmod 600 {profiles_file}`" in str(caught.value)
    assert text_of(profiles_file) == ORIGINAL


def test_a_file_others_can_read_is_tightened_by_the_next_edit_which_says_so(
    profiles_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    profiles_file.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="kfp_profiles"):
        editing.add_profile("x", {"kind": "standalone-in-cluster"})
    assert f"run `chmod 600 {profiles_file}`" in caplog.text  # the read, before the write
    assert caplog.records[-1].getMessage() == (
        f"tightened {profiles_file} from 0644 to 0600: others could read it."
    )
    assert mode_of(profiles_file) == 0o600
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kfp_profiles"):
        editing.add_profile("y", {"kind": "standalone-in-cluster"})
    assert caplog.text == ""  # private now: nothing more to say


def test_a_symlinked_file_is_edited_through_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "dotfiles" / "profiles.toml"
    real.parent.mkdir()
    real.write_text('[profiles.a]\nkind = "standalone-in-cluster"\n')
    real.chmod(0o600)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    monkeypatch.setenv("KFP_PROFILES_FILE", str(link))
    editing.add_profile("b", {"kind": "standalone-in-cluster"})
    assert link.is_symlink()
    assert set(tomllib.loads(real.read_text())["profiles"]) == {"a", "b"}


def test_init_writes_a_commented_starter_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "kfp" / "profiles.toml"
    assert editing.init_file(path) is None
    assert mode_of(path) == 0o600 and mode_of(path.parent) == 0o700
    assert tomllib.loads(path.read_text()) == {"version": 1}
    assert path.read_text().count("\n# ") > 10
    path.write_text("# mine\n")
    with pytest.raises(ProfilesFileExistsError):
        editing.init_file(path)
    backup = editing.init_file(path, force=True)
    assert backup is not None and backup.read_text() == "# mine\n"
    assert mode_of(backup) == 0o600


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "-x", "a b", "ä", "x" * 129, "a/b", 'q"'])
def test_unusable_names_are_refused(name: str) -> None:
    with pytest.raises(Exception, match="is not a usable profile name"):
        editing.validate_name(name)


# --- what is not a profiles file, and the rest of the read and write path -------------------


def test_a_directory_where_the_file_should_be_is_refused_by_reads_and_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "profiles.toml"
    folder.mkdir()
    monkeypatch.setenv("KFP_PROFILES_FILE", str(folder))
    said = (
        f"{folder} is a directory, not a profiles file; point KFP_PROFILES_FILE "
        f"at a file such as {folder / 'profiles.toml'}."
    )
    attempts: list[Callable[[], object]] = [
        load_config,
        lambda: editing.add_profile("x", {"kind": "standalone-in-cluster"}),
        lambda: editing.edit_file(
            folder, lambda text, data: (text, data), action="add profile", profile="x"
        ),
        lambda: editing.init_file(folder),
        lambda: editing.init_file(folder, force=True),
    ]
    for attempt in attempts:
        with pytest.raises(ConfigError) as caught:
            attempt()
        assert str(caught.value) == said
    assert list(folder.iterdir()) == []
    assert not folder.with_name("profiles.toml.bak").exists()
    config = ProfilesConfig(files=(folder,))
    assert config.existing_files == ()
    with pytest.raises(ProfilesFileNotFoundError):
        config.require_files()


def test_bare_cr_line_endings_are_refused_alike_by_reads_and_edits(profiles_file: Path) -> None:
    # TOML allows LF and CRLF only; the list once read such a file and every edit failed.
    bare_cr = ORIGINAL.replace("\n", "\r").encode()
    profiles_file.write_bytes(bare_cr)
    column = len(HEAD.splitlines()[0]) + 1
    said = (
        f"{profiles_file}:1:{column}: the line ends in a bare CR, which TOML does not allow; "
        f"save the file with LF or CRLF line endings."
    )
    attempts: list[Callable[[], object]] = [
        load_config,
        lambda: editing.set_default_profile("prod"),
        lambda: editing.add_profile("x", {"kind": "standalone-in-cluster"}),
        lambda: editing.rename_profile("dev", "laptop"),
        lambda: editing.remove_profile("dev"),
    ]
    for attempt in attempts:
        with pytest.raises(ProfilesFileParseError) as caught:
            attempt()
        assert str(caught.value) == said
    assert profiles_file.read_bytes() == bare_cr


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            b'[profiles.a]\nkind = "standalone-in-cluster"\n'
            b'description = "d\xc3\xa9j\xc3\xa0 \xe9"\n',  # "déjà " is good UTF-8: 5 columns
            "3:21: byte 0xe9 is not UTF-8; save the file as UTF-8.",
        ),
        (
            b'[profiles.a]\nkind = "standalone-in-cluster"\n\n[profiles.a]\n',
            "4:12: [profiles.a] is defined twice; merge the two tables or rename one.",
        ),
        (
            b'[profiles."a.b"]\n[profiles."a.b"]\n',
            '2:16: [profiles."a.b"] is defined twice; merge the two tables or rename one.',
        ),
    ],
    ids=["not UTF-8", "table twice", "quoted table twice"],
)
def test_a_parse_error_gives_its_place_and_its_own_fix(
    profiles_file: Path, content: bytes, says: str
) -> None:
    profiles_file.write_bytes(content)
    attempts: list[Callable[[], object]] = [
        load_config,
        lambda: editing.add_profile("x", {"kind": "standalone-in-cluster"}),
    ]
    for attempt in attempts:
        with pytest.raises(ProfilesFileParseError) as caught:
            attempt()
        assert str(caught.value) == f"{profiles_file}:{says}"
    assert profiles_file.read_bytes() == content


def test_a_file_others_can_read_is_warned_about_once_per_process(
    profiles_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    profiles_file.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="kfp_profiles"):
        editing.set_default_profile("prod")  # a load, then an edit: two checks, one warning
        load_config()
    assert caplog.text.count(f"{profiles_file} can be read by other users") == 1
