"""Finding, checking, parsing and merging the profiles files (kfp_profiles/files.py).

Real files with real modes under the test's own folder: which files are in
use, how several merge (the first file that defines a profile supplies all of
it), which modes are refused or warned about, and the one line a broken file
gets, with its place and its fix.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kfp_profiles.errors import (
    ConfigError,
    ProfilesFileNotFoundError,
    ProfilesFileParseError,
    ProfilesFilePermissionError,
)
from kfp_profiles.files import (
    Permissions,
    check_permissions,
    default_file,
    load_config,
    profile_files,
)
from kfp_profiles.resolution import resolve

from .helpers import write_profiles

ONE_PROFILE = '[profiles.dev]\nkind = "standalone-port-forward"\n'


@pytest.fixture
def profiles_file(profiles_path: Path) -> Path:
    """A good file, mode 0600, where KFP_PROFILES_FILE points."""
    return write_profiles(profiles_path, ONE_PROFILE)


# --- which files --------------------------------------------------------------------------


def test_profile_files_splits_a_list_by_one_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFP_PROFILES_FILE", "/from/env.toml")
    assert profile_files() == (Path("/from/env.toml"),)
    assert profile_files(f"/a.toml{os.pathsep} {os.pathsep}{os.pathsep}/b.toml") == (
        Path("/a.toml"),
        Path("/b.toml"),
    )
    assert profile_files(os.pathsep) == (default_file(),)


def test_the_default_file_follows_xdg_config_home_and_a_listed_file_may_start_with_a_tilde(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "/srv/config")
    assert default_file() == Path("/srv/config/kfp/profiles.toml")
    beside_the_sdk = isolated_home / ".config" / "kfp" / "profiles.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", "")  # set but empty: as if unset
    assert default_file() == beside_the_sdk
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_file() == beside_the_sdk
    assert profile_files("~/team.toml") == (isolated_home / "team.toml",)


# --- several files merge --------------------------------------------------------------------


def test_merged_files_first_definition_wins_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_profiles(
        tmp_path / "a.toml",
        """
        [profiles.shared]
        kind = "standalone-in-cluster"
        k8s_namespace = "from-a"
        """,
    )
    second = write_profiles(
        tmp_path / "b.toml",
        """
        default = "only-b"
        [profiles.shared]
        kind = "standalone-in-cluster"
        description = "b's copy, must not be mixed in"
        [profiles.only-b]
        kind = "standalone-in-cluster"
        """,
    )
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv("KFP_PROFILES_FILE", f"{first}:{missing}:{second}")
    config = load_config()
    assert sorted(config.profiles) == ["only-b", "shared"]
    shared = resolve("shared")
    assert shared.profile.k8s_namespace == "from-a"  # type: ignore[union-attr]
    assert shared.profile.description is None
    assert shared.file == first
    assert resolve().name == "only-b"


def test_the_first_default_wins_even_when_its_profile_is_in_a_later_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_profiles(
        tmp_path / "a.toml",
        """
        default = "from-b"
        [profiles.from-a]
        kind = "standalone-in-cluster"
        """,
    )
    second = write_profiles(
        tmp_path / "b.toml",
        """
        default = "from-a"
        [profiles.from-b]
        kind = "standalone-in-cluster"
        """,
    )
    monkeypatch.setenv("KFP_PROFILES_FILE", f"{first}{os.pathsep}{second}")
    config = load_config()
    assert (config.default, config.default_file) == ("from-b", first)
    assert {name: entry.file for name, entry in config.profiles.items()} == {
        "from-a": first,
        "from-b": second,
    }
    chosen = resolve()
    assert (chosen.name, chosen.file) == ("from-b", second)
    assert chosen.sources["profile"] == f"file:{first}"


def test_missing_files_are_skipped_and_named_together_when_none_exists(tmp_path: Path) -> None:
    present = write_profiles(tmp_path / "present.toml", ONE_PROFILE)
    gone, also_gone = tmp_path / "gone.toml", tmp_path / "also-gone.toml"
    config = load_config((gone, present, also_gone))
    assert config.existing_files == (present,)
    assert list(config.profiles) == ["dev"]
    config.require_files()  # one file is enough

    nothing = load_config((gone, also_gone))
    assert nothing.profiles == {} and nothing.existing_files == ()
    with pytest.raises(ProfilesFileNotFoundError) as caught:
        nothing.require_files()
    assert str(caught.value) == (
        f"No profiles file at {gone}, {also_gone}: run `kfp-profiles init` to create one, "
        "or point KFP_PROFILES_FILE at an existing file."
    )


def test_an_unknown_name_lists_every_files_profiles_and_where_the_name_came_from(
    tmp_path: Path,
) -> None:
    first = write_profiles(tmp_path / "a.toml", ONE_PROFILE)
    second = write_profiles(
        tmp_path / "b.toml", '[profiles.prod]\nkind = "standalone-in-cluster"\n'
    )
    config = load_config((first, second))
    assert str(config.profile_not_found("prd", "env:KFP_PROFILE")) == (
        f"No profile named 'prd' in {first}, {second} (did you mean 'prod'?); the profiles "
        "are dev, prod (the name came from KFP_PROFILE)."
    )
    assert str(config.profile_not_found("zzz", f"file:{first}")) == (
        f"No profile named 'zzz' in {first}, {second}; the profiles are dev, prod "
        f"(the name came from {first})."
    )
    empty = load_config((write_profiles(tmp_path / "empty.toml", ""),))
    assert str(empty.profile_not_found("dev")) == (
        f"No profile named 'dev' in {tmp_path / 'empty.toml'}; the file defines no profiles "
        "yet: run `kfp-profiles add NAME`."
    )
    with pytest.raises(ProfilesFileNotFoundError):  # no file at all: that is the error
        load_config((tmp_path / "none.toml",)).profile_not_found("dev")


def test_loading_the_files_does_not_import_pydantic(profiles_file: Path) -> None:
    # Shell completion and `kfp_profiles.load_config` pay for the file, not for the models.
    code = (
        "import sys, kfp_profiles.files as files\n"
        "assert files.load_config().profiles\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n", done.stdout + done.stderr


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666, 0o660])
def test_a_file_others_can_write_is_refused_before_it_is_read(
    mode: int, profiles_path: Path
) -> None:
    write_profiles(profiles_path, "this is [not TOML", mode=mode)  # never parsed
    with pytest.raises(ProfilesFilePermissionError) as caught:
        load_config()
    assert str(caught.value) == (
        f"{profiles_path} can be written by other users, so it is not used; "
        f"run `chmod 600 {profiles_path}`."
    )


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o400])
def test_a_file_others_can_read_is_used_with_one_warning(
    mode: int, profiles_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_profiles(profiles_path, ONE_PROFILE, mode=mode)
    with caplog.at_level(logging.WARNING, logger="kfp_profiles"):
        assert list(load_config().profiles) == ["dev"]
        assert list(load_config().profiles) == ["dev"]
    warnings = [record.getMessage() for record in caplog.records]
    if mode & 0o044:
        assert warnings == [
            f"{profiles_path} can be read by other users; run `chmod 600 {profiles_path}`."
        ]
    else:
        assert warnings == []
    assert check_permissions(profiles_path, warn=False) == Permissions(
        mode=mode, readable_by_others=bool(mode & 0o044)
    )


def test_a_caller_that_reports_a_readable_file_itself_keeps_the_log_quiet(
    profiles_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    profiles_file.chmod(0o640)
    with caplog.at_level(logging.WARNING, logger="kfp_profiles"):
        found = check_permissions(profiles_file, warn=False)
        load_config()
    assert found == Permissions(mode=0o640, readable_by_others=True)
    assert caplog.text == ""


# --- what is not a profiles file --------------------------------------------------------------


def test_a_directory_in_the_list_is_refused_not_skipped(tmp_path: Path) -> None:
    good = write_profiles(tmp_path / "good.toml", ONE_PROFILE)
    folder = tmp_path / "conf.d"
    folder.mkdir()
    with pytest.raises(ConfigError) as caught:
        load_config((good, folder))
    assert str(caught.value) == (
        f"{folder} is a directory, not a profiles file; point KFP_PROFILES_FILE "
        f"at a file such as {folder / 'profiles.toml'}."
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_being_opened(tmp_path: Path) -> None:
    pipe = tmp_path / "profiles.toml"
    os.mkfifo(pipe)  # opening it to read would block until a writer came
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            load_config((pipe,))
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "load_config opened the pipe and waits for a writer"
    (error,) = outcome
    assert isinstance(error, ConfigError)
    assert str(error) == (
        f"{pipe} is not a regular file, so it cannot hold profiles; point KFP_PROFILES_FILE "
        "at a profiles file."
    )


# --- what the file says ---------------------------------------------------------------------


def test_a_toml_syntax_error_gives_file_line_column_and_the_fix(profiles_path: Path) -> None:
    write_profiles(profiles_path, '[profiles.a]\nkind = "standalone-in-cluster"\nhost "x"\n')
    with pytest.raises(ProfilesFileParseError) as caught:
        load_config()
    message = str(caught.value)
    assert message.startswith(f"{profiles_path}:3:6: ")
    assert message.endswith("; fix the TOML syntax there.")
    assert "(at line" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("default = 1\n", '`default` must be a profile name in quotes, like "prod".'),
        ("profiles = 3\n", "`profiles` must be a table of [profiles.NAME] tables."),
        (
            "version = 2\n",
            "`version = 2` is newer than this kfp-profiles understands; upgrade kfp-profiles.",
        ),
    ],
    ids=["default", "profiles", "version"],
)
def test_a_top_level_key_of_the_wrong_shape_is_one_sentence(
    text: str, says: str, profiles_path: Path
) -> None:
    write_profiles(profiles_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value) == f"{profiles_path}: {says}"
