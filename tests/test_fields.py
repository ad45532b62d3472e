"""The field table drives every surface: a kind and fields added only through it show up
in the schema, `show --sources`, masking, the environment layer, `add`'s options and the
docs table, with no other module touched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field

from kfp_profiles import errors, fields
from kfp_profiles.cli import run
from kfp_profiles.cli.add import field_options
from kfp_profiles.fields import FIELDS, MASK, FieldSpec, KindRule, column
from kfp_profiles.models import MODELS, ProfileBase, register_kind
from kfp_profiles.resolution import resolve
from kfp_profiles.schema import json_schema

from .helpers import write_profiles

ROOT = Path(__file__).resolve().parent.parent
TOY_KEY = "toy-key-that-must-never-show"

TOY_ROWS = (
    FieldSpec("toy_level", "How loud the toy is.", type=int, kinds=("toy",), default=3),
    FieldSpec("toy_home", "Where the toy sleeps.", kinds=("toy",), path=True, metavar="PATH"),
    FieldSpec(
        "toy_mirror",
        "A mirror of the toy's host.",
        kinds=("toy",),
        metavar="URL",
        url_credentials=True,
        sdk_env="TOY_SDK_MIRROR",
        per_kind={"toy": KindRule(default="http://mirror.invalid")},
    ),
    FieldSpec("toy_key", "The toy's key.", kinds=("toy",), secret=True),
)


@pytest.fixture
def toy_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[ProfileBase]]:
    """A kind that exists only in this fixture: its rows, then its model."""
    for row in TOY_ROWS:
        monkeypatch.setitem(FIELDS, row.name, row)

    class Toy(ProfileBase):
        """A toy kind, for the tests."""

        kind: Literal["toy"] = Field(description="Kind of profile.")
        toy_level: int = column("toy_level")
        toy_home: str | None = column("toy_home")
        toy_mirror: str = column("toy_mirror", "toy")

        def default_host(self) -> str:
            return "http://toy.invalid/pipeline"

    register_kind(Toy)
    yield Toy
    del MODELS["toy"]


@pytest.fixture
def toy_file(profiles_path: Path, toy_kind: type[ProfileBase]) -> Path:
    return write_profiles(
        profiles_path,
        """
        [profiles.t]
        kind = "toy"
        toy_home = "beds/toy"
        """,
    )


def test_a_toy_kind_appears_in_the_schema(toy_kind: type[ProfileBase]) -> None:
    toy = json_schema()["$defs"]["Toy"]
    assert toy["properties"]["toy_level"] == {
        "default": 3,
        "description": "How loud the toy is.",
        "title": "Toy Level",
        "type": "integer",
    }
    assert toy["properties"]["toy_mirror"]["default"] == "http://mirror.invalid"
    assert "toy_key" not in toy["properties"]  # a secret is never a field of the file
    assert toy["additionalProperties"] is False


def test_a_toy_kind_takes_its_variables_and_expands_its_paths(
    toy_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_TOY_LEVEL", "7")
    monkeypatch.setenv("TOY_SDK_MIRROR", "http://sdk-mirror.invalid")
    resolved = resolve("t")
    assert resolved.values()["toy_level"] == 7
    assert resolved.sources["toy_level"] == "env:KFP_TOY_LEVEL"
    assert resolved.values()["toy_home"] == str(toy_file.parent / "beds" / "toy")
    # An SDK variable that "fills" gives way to a file that sets the field ...
    assert resolved.values()["toy_mirror"] == "http://sdk-mirror.invalid"
    assert resolved.sources["toy_mirror"] == "env:TOY_SDK_MIRROR"
    monkeypatch.setenv("KFP_TOY_MIRROR", "http://ours.invalid")
    assert resolve("t").sources["toy_mirror"] == "env:KFP_TOY_MIRROR"  # ... and to KFP_<FIELD>


def test_a_toy_kinds_bad_variable_names_the_variable(
    toy_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_TOY_LEVEL", "loud")
    with pytest.raises(errors.ProfileValidationError) as caught:
        resolve("t")
    assert str(caught.value) == (
        "Profile 't' in environment variable KFP_TOY_LEVEL: `toy_level` = 'loud' is invalid: "
        "it must be a valid integer (How loud the toy is)."
    )


def test_a_toy_kinds_secret_and_credentials_are_masked_everywhere(
    toy_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KFP_TOY_KEY", TOY_KEY)
    monkeypatch.setenv("KFP_TOY_MIRROR", f"http://me:{TOY_KEY}@mirror.invalid:8080/x")
    resolved = resolve("t")
    assert resolved.secrets["toy_key"].get_secret_value() == TOY_KEY
    assert run(["show", "t", "--sources"]) == 0
    shown = capsys.readouterr().out
    assert run(["show", "t", "--json"]) == 0
    as_json = json.loads(capsys.readouterr().out)
    surfaces = [shown, json.dumps(as_json), repr(resolved), repr(resolved.profile)]
    assert not [surface for surface in surfaces if TOY_KEY in surface]
    rows = {line.split()[0]: line.split()[1:] for line in shown.splitlines()}
    assert rows["toy_key"] == [MASK, "env:KFP_TOY_KEY"]
    assert rows["toy_mirror"] == ["http://***@mirror.invalid:8080/x", "env:KFP_TOY_MIRROR"]
    assert rows["toy_level"] == ["3", "default"]
    assert rows["toy_home"][1] == f"file:{toy_file}"
    assert as_json["values"]["toy_key"] == MASK


def test_a_toy_kinds_secret_is_refused_in_the_file(
    profiles_path: Path, toy_kind: type[ProfileBase]
) -> None:
    write_profiles(profiles_path, f'[profiles.t]\nkind = "toy"\ntoy_key = "{TOY_KEY}"\n')
    with pytest.raises(errors.SecretInFileError) as caught:
        resolve("t")
    assert str(caught.value) == (
        f"Profile 't' in {profiles_path}: `toy_key` must not be stored in the file; remove it "
        "and run `kfp-profiles secret set t` (or set KFP_TOY_KEY for one process)."
    )


def test_a_toy_field_gets_an_add_option_and_a_docs_row(toy_kind: type[ProfileBase]) -> None:
    options = field_options()
    assert options["toy_level"].opts == ["--toy-level"]
    assert options["toy_level"].type.name == "integer"
    assert options["toy_home"].metavar == "PATH"
    assert options["toy_home"].help == "Where the toy sleeps [toy]"
    assert "toy_key" not in options  # secrets are stored with `secret set`, never flags
    table = fields.markdown_table()
    assert "| `toy_level` | `toy` | int | `3` | `KFP_TOY_LEVEL` | - |" in table


def test_a_model_that_disagrees_with_the_table_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(FIELDS, "toy_level", TOY_ROWS[0])

    class Forgetful(ProfileBase):
        kind: Literal["toy"] = Field(description="Kind of profile.")

        def default_host(self) -> str:
            return "http://toy.invalid"

    with pytest.raises(TypeError, match=r"only in the table \['toy_level'\]"):
        register_kind(Forgetful)

    class Stray(ProfileBase):
        kind: Literal["toy"] = Field(description="Kind of profile.")
        toy_level: str = column("toy_level")

        def default_host(self) -> str:
            return "http://toy.invalid"

    with pytest.raises(TypeError, match="the table says int"):
        register_kind(Stray)
    assert "toy" not in MODELS


def test_every_kind_matches_the_table() -> None:
    for kind, model in MODELS.items():
        declared = set(model.model_fields) - {"kind"}
        rows = {spec.name for spec in fields.fields_of(kind) if spec.in_file}
        assert declared == rows, kind


def test_token_path_takes_the_sdk_variable_for_platform_in_cluster_only() -> None:
    row = FIELDS["token_path"]
    assert row.for_kind("platform-in-cluster").sdk_env == "KF_PIPELINES_SA_TOKEN_PATH"
    assert row.sdk_env is None  # any other kind that gains the field does not take it
    assert row.sdk_precedence == "beats-file"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@proxy:3128", "http://***@proxy:3128"),
        ("socks5://token@proxy.corp:1080/path@x", "socks5://***@proxy.corp:1080/path@x"),
        ("http://proxy:3128", "http://proxy:3128"),
        ("http://a@b@proxy/", "http://***@proxy/"),
    ],
)
def test_proxy_credentials_are_masked(url: str, shown: str) -> None:
    assert fields.mask("proxy", url) == shown


def test_docs_table_is_current() -> None:
    committed = (ROOT / "docs" / "fields.md").read_text(encoding="utf-8")
    assert fields.markdown_table() in committed, (
        "docs/fields.md is stale: paste `python -c 'from kfp_profiles.fields import "
        "markdown_table; print(markdown_table())'` into it"
    )
