"""Set and unset fields of one profile, checked against its kind before anything is written.

The Python side of ``kfp-profiles set NAME FIELD=VALUE`` and ``unset NAME FIELD``
(like ``kubectl config set`` and ``aws configure set``): the new table is validated by
the kind's model first, then spliced into the file in place (comments and the other
profiles kept byte for byte), under the file's lock. Secrets are refused with the
command that stores them; the kind is the file's to keep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .editing import edit_file
from .errors import FieldEditError, did_you_mean
from .fields import FIELDS, fields_of
from .files import ProfilesConfig, load_config
from .models import check_is_table, validate_profile
from .tomlsplice import replace_profile_text


@dataclass(frozen=True)
class FieldsChanged:
    """What an edit of fields did: in which file, which values it set, which it removed."""

    profile: str
    path: Path
    set: Mapping[str, Any]
    unset: tuple[str, ...]


def set_fields(
    name: str, values: Mapping[str, Any], *, config: ProfilesConfig | None = None
) -> FieldsChanged:
    """Set fields of profile ``name`` where it is defined. Text values (from a shell) are
    read by the field table's rules: ``"3000"`` is a port, ``"false"`` a boolean."""
    return _edit(name, dict(values), (), config)


def unset_fields(
    name: str, fields: Iterable[str], *, config: ProfilesConfig | None = None
) -> FieldsChanged:
    """Remove fields of profile ``name``, so their defaults (or variables) apply again."""
    return _edit(name, {}, tuple(fields), config)


def _edit(
    name: str,
    values: dict[str, Any],
    removed: tuple[str, ...],
    config: ProfilesConfig | None,
) -> FieldsChanged:
    config = config if config is not None else load_config()
    entry = config.profiles.get(name)
    if entry is None:
        raise config.profile_not_found(name)
    check_is_table(name, entry.data, str(entry.file))
    kind = str(entry.data.get("kind"))
    specs = {spec.name: spec for spec in fields_of(kind)}
    for field in (*values, *removed):
        _check_editable(name, kind, field, specs)
    parsed = {
        field: specs[field].parse_text(value) if isinstance(value, str) else value
        for field, value in values.items()
    }
    table = {key: value for key, value in entry.data.items() if key not in removed}
    table.update(parsed)
    validate_profile(name, table, str(entry.file))  # before anything is written

    def change(text: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        data["profiles"][name] = table
        return replace_profile_text(text, name, table), data

    edit_file(entry.file, change, action="edit profile", profile=name)
    return FieldsChanged(name, entry.file, parsed, tuple(f for f in removed if f in entry.data))


def _check_editable(profile: str, kind: str, field: str, specs: Mapping[str, Any]) -> None:
    """Refuse what `set` and `unset` cannot change, naming what to do instead."""
    if field == "kind":
        raise FieldEditError(
            profile=profile,
            field=field,
            problem=f"a profile keeps its kind ('{kind}'); remove it and add it again",
        )
    spec = FIELDS.get(field)
    if spec is not None and spec.secret:
        raise FieldEditError(
            profile=profile,
            field=field,
            problem=f"it is a secret and never goes in the file; store it with `kfp-profiles "
            f"secret set {profile}` (or set {spec.env} for one process)",
        )
    if field not in specs:
        allowed = sorted(name for name, row in specs.items() if row.in_file)
        raise FieldEditError(
            profile=profile,
            field=field,
            problem=f"it is not a field of kind '{kind}'{did_you_mean(field, allowed)}; its "
            f"fields are {', '.join(allowed)}",
        )
