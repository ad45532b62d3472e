"""One row of the field table: what a field is, and the rules every row follows.

:class:`FieldSpec` describes a field once (kinds, type, default, variable, SDK variable,
secret, path, flag, help), :class:`KindRule` how one kind departs from a row; masking
and the text rules for variables live here, beside the rows that use them. The table
itself is kfp_profiles/fields.py.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .constants import FIELD_ENV_PREFIX

#: What a secret looks like wherever it is shown.
MASK = "********"

#: How an SDK variable ranks against the file: ``fills`` only a value the profile
#: leaves unset (so a leftover variable never sends credentials elsewhere);
#: ``beats-file`` wins over the file, below ``KFP_<FIELD>``.
SdkPrecedence = Literal["fills", "beats-file"]


class _Inherit:
    """Marks a :class:`KindRule` attribute that keeps the row's own value."""

    def __repr__(self) -> str:
        return "INHERIT"


INHERIT: Any = _Inherit()


@dataclass(frozen=True)
class KindRule:
    """How one kind departs from a row: its default, whether required, its help, its SDK
    variable. Attributes left as INHERIT keep the row's."""

    default: Any = INHERIT
    required: Any = INHERIT
    help: Any = INHERIT
    sdk_env: Any = INHERIT


@dataclass(frozen=True)
class FieldSpec:
    """One field of a profile, described once."""

    name: str
    #: One sentence, for the schema, `add --help`, prompts and validation errors.
    help: str
    #: bool, int, float or str: how the CLI and the environment parse it.
    type: type = str
    #: The kinds that have it; None for every kind.
    kinds: tuple[str, ...] | None = None
    default: Any = None
    required: bool = False
    #: Masked everywhere; a secret lives in the keyring (or a variable), never in the file.
    secret: bool = False
    #: A URL whose credentials (user info) are masked everywhere (a proxy's).
    url_credentials: bool = False
    #: A filesystem path: ``~`` and $VARS expand; relative to the file that sets it.
    path: bool = False
    metavar: str | None = None
    #: The SDK's own variable for this field, and how it ranks against the file.
    sdk_env: str | None = None
    sdk_precedence: SdkPrecedence = "fills"
    per_kind: Mapping[str, KindRule] = field(default_factory=dict)
    #: Rows sharing a group are alternatives: a file sets at most one; where layers set
    #: several, the highest (argument, then variable, then file) wins.
    one_of: str | None = None

    @property
    def env(self) -> str:
        """The variable that overrides it: ``KFP_<FIELD>``."""
        return FIELD_ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        """The CLI option that sets it."""
        return "--" + self.name.replace("_", "-")

    @property
    def in_file(self) -> bool:
        """True for a field the profiles file holds (a secret never is)."""
        return not self.secret

    def applies_to(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def for_kind(self, kind: str) -> FieldSpec:
        """This row as ``kind`` sees it, its :class:`KindRule` applied."""
        rule = self.per_kind.get(kind)
        if rule is None:
            return self
        changes = {
            name: value
            for name in ("default", "required", "help", "sdk_env")
            if (value := getattr(rule, name)) is not INHERIT
        }
        return replace(self, per_kind={}, **changes)

    def parse_text(self, text: str) -> Any:
        """A variable's text as this field's type, by the documented rules (docs/fields.md):
        booleans ``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off`` (any case);
        numbers in decimal. Text that follows no rule is returned as it is, for the model
        to refuse with the field's own message."""
        cleaned = text.strip()
        if self.type is bool:
            return _BOOLEAN_WORDS.get(cleaned.lower(), text)
        if self.type is int and _INTEGER.fullmatch(cleaned):
            return int(cleaned)
        if self.type is float and _DECIMAL.fullmatch(cleaned):
            return float(cleaned)
        if self.type is list:  # one shell-quoted string: `kubectl -n "my ns" create token sa`
            try:
                return shlex.split(text)
            except ValueError:  # an unclosed quote: the model says the field is wrong
                return text
        return text

    def mask(self, value: Any) -> Any:
        """``value`` as it may be shown: a secret as ``********``, a URL without credentials."""
        if value is None:
            return None
        if self.secret:
            return MASK
        if self.url_credentials and isinstance(value, str):
            return mask_url_credentials(value)
        return value


_BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "1", "yes", "on"), True),
    **dict.fromkeys(("false", "0", "no", "off"), False),
}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def mask_url_credentials(url: str) -> str:
    """``http://user:pass@proxy:3128`` as ``http://***@proxy:3128``.

    The user name goes too: with some proxies it is a token in its own right.
    """
    scheme, separator, rest = url.rpartition("://")
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}{separator}***@{authority.rpartition('@')[2]}{slash}{path}"
