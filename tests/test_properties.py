"""Property-based tests (hypothesis): whatever the file or the environment holds, loading,
listing and resolving a profile either work or raise one of our typed errors.

Thousands of generated files and variable values per run, through the real loader and
resolver on real files; no raw exception (TypeError, RecursionError, OverflowError, ...)
may escape.
"""

from __future__ import annotations

import os
import string
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfp_profiles import errors
from kfp_profiles.fields import FIELDS
from kfp_profiles.files import load_config
from kfp_profiles.models import MODELS, validate_profile
from kfp_profiles.resolution import resolve

KINDS = list(MODELS)
FIELD_NAMES = [name for name, spec in FIELDS.items() if spec.in_file]
MANY = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Any TOML value, nested a little.
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
toml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=8), inner, max_size=3),
    ),
    max_leaves=8,
)
#: Values a field is likely to meet: its own type's edge cases, and the others'.
field_values = st.one_of(
    toml_values,
    st.sampled_from(["", "http://", "https://[::1", "http://u:p@h", "~", "$HOME/x", "0", "-1"]),
    st.sampled_from([0, -1, 65536, 3600, 3601, 1e308, float("inf"), float("nan"), True]),
)
profile_tables = st.fixed_dictionaries(
    {"kind": st.one_of(st.sampled_from(KINDS), toml_values)},
    optional={name: field_values for name in FIELD_NAMES},
).flatmap(
    lambda table: st.dictionaries(st.text(max_size=10), field_values, max_size=2).map(
        lambda extra: {**extra, **table}
    )
)
documents = st.fixed_dictionaries(
    {"profiles": st.dictionaries(st.text(min_size=1, max_size=12), profile_tables, max_size=3)},
    optional={"default": toml_values, "version": toml_values, "extra": toml_values},
)


@contextmanager
def profiles_file(content: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "profiles.toml"
        path.write_bytes(content)
        path.chmod(0o600)
        old = os.environ.get("KFP_PROFILES_FILE")
        os.environ["KFP_PROFILES_FILE"] = str(path)
        try:
            yield path
        finally:
            if old is None:
                os.environ.pop("KFP_PROFILES_FILE", None)
            else:
                os.environ["KFP_PROFILES_FILE"] = old


def use_every_profile(path: Path) -> None:
    """What `list` and `get_client` do with a file: load, validate each, resolve each."""
    try:
        config = load_config((path,))
    except errors.KfpProfilesError:
        return
    for name, entry in config.profiles.items():
        with suppress(errors.KfpProfilesError):
            validate_profile(name, entry.data, str(entry.file))
        with suppress(errors.KfpProfilesError):
            resolve(name, config=config)


@MANY
@given(documents)
def test_any_toml_document_gives_a_profile_or_a_typed_error(document: dict[str, Any]) -> None:
    try:
        content = tomli_w.dumps(document).encode()
    except (TypeError, ValueError):  # not representable in TOML (e.g. nan keys): no file
        return
    with profiles_file(content) as path:
        use_every_profile(path)


VALID = (
    b'default = "dev"\n[profiles.dev]\nkind = "standalone-port-forward"\nlocal_port = 3000\n'
    b'[profiles.prod]\nkind = "platform-dex"\nhost = "https://kf.example.com"\n'
    b'username = "me@example.com"\nnamespace = "team"\n'
)


@MANY
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.binary(max_size=3)), max_size=6))
def test_any_mutation_of_a_valid_file_gives_a_typed_error(
    edits: list[tuple[int, bytes]],
) -> None:
    content = bytearray(VALID)
    for position, replacement in edits:
        content[position : position + 1] = replacement
    with profiles_file(bytes(content)) as path:
        use_every_profile(path)


variable_texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["inf", "nan", "1e400", "-0", "99999999999999999999", "true", "ON", " 1 "]),
    st.text(string.printable, max_size=30),
)


@MANY
@given(
    kind=st.sampled_from(KINDS),
    values=st.dictionaries(st.sampled_from([*FIELD_NAMES, "KIND", "PROFILE"]), variable_texts),
)
def test_any_variable_values_give_a_profile_or_a_typed_error(
    kind: str, values: dict[str, str]
) -> None:
    table = {"kind": kind, "host": "https://kf.example.com", "username": "u", "namespace": "n"}
    if kind != "platform-dex":
        table = {"kind": kind}
    with profiles_file(tomli_w.dumps({"profiles": {"p": table}}).encode()):
        saved = {key: value for key, value in os.environ.items() if key.startswith("KFP_")}
        try:
            for field, text in values.items():
                if "\x00" in text:
                    continue  # no environment can hold a NUL
                os.environ[f"KFP_{field.upper()}"] = text
            with suppress(errors.KfpProfilesError):
                resolve("p")
        finally:
            for key in [key for key in os.environ if key.startswith("KFP_")]:
                if key != "KFP_PROFILES_FILE":
                    os.environ.pop(key)
            os.environ.update(saved)


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_arrays_are_a_parse_error(depth: int, tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    nested = "[" * depth + "]" * depth
    path.write_text(f'[profiles.dev]\nkind = "standalone-in-cluster"\nx = {nested}\n')
    path.chmod(0o600)
    with pytest.raises(errors.ProfilesFileParseError) as caught:
        load_config((path,))
    assert str(caught.value) == (f"{path}:3:5: values are nested too deeply to read; flatten them.")
