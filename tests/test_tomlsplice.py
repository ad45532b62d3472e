"""Splicing a file's own lines: the line classifier, headers, and each edit on text alone."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from kfp_profiles import tomlsplice
from kfp_profiles.errors import CannotEditError, NotOneTableError
from tests.handwritten import BETWEEN, DEV, HEAD, ORIGINAL, PROD, STAGING

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


# --- the line classifier --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a = """\n[x]\n"""\n[t]\n', ["content", "content", "content", "header"]),
        ("a = '''\n[x]\n'''\n[t]\n", ["content", "content", "content", "header"]),
        ('a = """ends "" here"""\n[t]\n', ["content", "header"]),
        ('a = """\\"""\n[x]\n"""\n', ["content", "content", "content"]),
        ("a = [\n  1, # ]\n  2,\n]\n[t]\n", ["content", "content", "content", "content", "header"]),
        ('a = "[not" # [x\n[t]\n', ["content", "header"]),
        ("\n  # c\n  [ t ]\n", ["blank", "comment", "header"]),
    ],
)
def test_lines_are_classified_around_strings_and_arrays(text: str, expected: list[str]) -> None:
    tomllib.loads(text)  # each case is valid TOML
    assert [line.kind for line in tomlsplice._classify(text)] == expected


@pytest.mark.parametrize(
    ("line", "table"),
    [
        ("[profiles.dev]\n", ("profiles", "dev")),
        ('[ profiles . "a.b" ] # x\n', ("profiles", "a.b")),
        ("[profiles.'lit']\n", ("profiles", "lit")),
        ('[profiles."q\\"uote"]\n', ("profiles", 'q"uote')),
    ],
)
def test_headers_are_parsed_as_toml_parses_them(line: str, table: tuple[str, ...]) -> None:
    parsed, array, _ = tomlsplice._parse_header(line)
    assert parsed == table and not array
    assert tomllib.loads(line)["profiles"][table[1]] == {}


# --- each edit, text in and text out ---------------------------------------------------------


def test_add_appends_after_one_blank_line_and_quotes_a_name_that_needs_it() -> None:
    assert tomlsplice.add_profile_text("", "a", {"kind": "x"}) == '[profiles.a]\nkind = "x"\n'
    assert tomlsplice.add_profile_text("x = 1", "a b", {"kind": "x"}) == (
        'x = 1\n\n[profiles."a b"]\nkind = "x"\n'
    )
    crlf = ORIGINAL.replace("\n", "\r\n")
    assert tomlsplice.add_profile_text(crlf, "x", {"kind": "k"}) == (
        crlf + '\r\n\r\n[profiles.x]\r\nkind = "k"\r\n'
    )


def test_remove_takes_the_comments_on_the_profile_and_the_blank_lines_after_it() -> None:
    assert tomlsplice.remove_profile_text(ORIGINAL, "prod") == HEAD + DEV + BETWEEN + STAGING
    assert tomlsplice.remove_profile_text(ORIGINAL, "staging") == HEAD + DEV + BETWEEN + PROD
    text = "[profiles.a]\nk = 1\n\n# about b\n[profiles.b]\nk = 2\n# b note\n\n# about c\n"
    assert tomlsplice.remove_profile_text(text + "[profiles.c]\n", "b") == (
        "[profiles.a]\nk = 1\n\n# about c\n[profiles.c]\n"
    )


def test_rename_rewrites_the_header_and_keeps_its_comment() -> None:
    renamed = tomlsplice.rename_profile_text(ORIGINAL, "prod", "prod.eu")
    assert renamed == ORIGINAL.replace(
        '[ profiles . "prod" ]  # quoted on purpose\n',
        '[profiles."prod.eu"]  # quoted on purpose\n',
    )


def test_replace_sets_the_body_and_keeps_comments_and_the_keys_that_stay() -> None:
    text = "[profiles.a]\nk = 1 # keep\ngone = 2\n# last\n\n[profiles.b]\n"
    assert tomlsplice.replace_profile_text(text, "a", {"k": 5, "new": "v"}) == (
        '[profiles.a]\nk = 5 # keep\nnew = "v"\n# last\n\n[profiles.b]\n'
    )


def test_set_default_changes_adds_or_removes_only_the_default_line() -> None:
    assert tomlsplice.set_default_text(ORIGINAL, "prod") == ORIGINAL.replace(
        'default   =  "dev"', 'default   =  "prod"'
    )
    assert tomlsplice.set_default_text(ORIGINAL, None) == ORIGINAL.replace(
        'default   =  "dev"      # what get_client() uses\n', ""
    )
    assert tomlsplice.set_default_text("version = 1", "a") == 'version = 1\ndefault = "a"\n'
    # No top-level keys: after the file's opening comment, before the first table.
    assert tomlsplice.set_default_text("# top\n[profiles.a]\n", "a") == (
        '# top\ndefault = "a"\n\n[profiles.a]\n'
    )
    assert tomlsplice.set_default_text("[profiles.a]\n", None) == "[profiles.a]\n"


@pytest.mark.parametrize(
    "text",
    [
        'profiles.a = { kind = "standalone-in-cluster" }\n',  # inline
        "[profiles.a]\nk = 1\n[profiles.a.sub]\nx = 1\n",  # with a sub-table
        "[profiles.a]\n[profiles.b]\n[profiles.a]\n",  # twice (a broken file)
    ],
    ids=["inline", "sub-table", "twice"],
)
def test_a_profile_not_written_as_one_table_cannot_be_spliced(text: str) -> None:
    edits: list[Callable[[], str]] = [
        lambda: tomlsplice.remove_profile_text(text, "a"),
        lambda: tomlsplice.rename_profile_text(text, "a", "b"),
        lambda: tomlsplice.replace_profile_text(text, "a", {"k": 2}),
    ]
    for edit in edits:
        with pytest.raises(NotOneTableError) as caught:
            edit()
        assert isinstance(caught.value, CannotEditError)
        assert str(caught.value) == "the profile is not written as one [profiles.a] table"
