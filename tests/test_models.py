"""The kind models (models.py): the committed JSON Schema matches them, the example is valid."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kfp_profiles.models import validate_profile
from kfp_profiles.schema import json_schema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "profiles.schema.json"


def test_committed_schema_is_current() -> None:
    committed = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert committed == json_schema(), (
        "schemas/profiles.schema.json is stale: run "
        "`kfp-profiles schema > schemas/profiles.schema.json`"
    )


def test_schema_lists_every_kind_and_refuses_unknown_fields() -> None:
    schema = json_schema()
    kinds = {
        definition["properties"]["kind"]["const"]
        for definition in schema["$defs"].values()
        if "kind" in definition.get("properties", {})
    }
    assert kinds == {
        "standalone-in-cluster",
        "standalone-port-forward",
        "platform-in-cluster",
        "platform-dex",
        "platform-token",
        "platform-oidc",
    }
    assert all(d.get("additionalProperties") is False for d in schema["$defs"].values())
    assert "password" not in SCHEMA.read_text(encoding="utf-8").replace("secret set", "")


def test_example_file_is_valid_and_points_at_the_schema() -> None:
    example = ROOT / "examples" / "profiles.toml"
    text = example.read_text(encoding="utf-8")
    assert text.startswith("#:schema ../schemas/profiles.schema.json")
    document = tomllib.loads(text)
    kinds = {
        validate_profile(name, table, str(example)).kind
        for name, table in document["profiles"].items()
    }
    assert len(kinds) == 6
    assert document["default"] in document["profiles"]
