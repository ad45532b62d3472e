"""The root of every error: a ``fmt`` template filled from keyword fields, and typo hints.

Advice speaks its reader's language: a Python user passes arguments and sets
variables, a command-line user gives flags and runs verbs ("pass password="
means nothing at a shell). So every error renders for two audiences:
``str(exc)`` (and ``exc.message``) is the Python wording, ``exc.cli_message``
the command line's, which :func:`kfp_profiles.cli.run` prints. A class whose
advice differs sets ``cli_fmt`` beside ``fmt``, or puts a :class:`Wording`
(one text per audience) in a field; a field chosen from a table by another
field's value (``tables``: the password's source -> how to fix it there) is
filled in for each audience the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

#: Who reads a message: code calling the library, or a person at the command line.
Audience = Literal["python", "cli"]

#: The row of a table that is used when no row names the key.
OTHERWISE = "*"


@dataclass(frozen=True)
class Wording:
    """One piece of advice in the words of each audience.

    Both texts are templates filled from the error's fields; ``cli`` None means
    the Python words fit the command line too.
    """

    python: str
    cli: str | None = None

    def text(self, audience: Audience) -> str:
        return self.cli if audience == "cli" and self.cli is not None else self.python


#: A table's row: one text for both audiences (a template), or a Wording.
Advice = str | Wording

#: Fields chosen from a table: field -> (the field whose value is the key, the table).
Tables = Mapping[str, tuple[str, Mapping[str, Advice]]]


def pick(table: Mapping[str, Advice], key: str) -> Advice | None:
    """The row for ``key``: its own, else its prefix's (``file:`` for ``file:/p``), else ``*``."""
    if key in table:
        return table[key]
    prefix, colon, _ = key.partition(":")
    if colon and f"{prefix}:" in table:
        return table[f"{prefix}:"]
    return table.get(OTHERWISE)


class KfpProfilesError(Exception):
    """Base class of every error kfp-profiles raises."""

    fmt: ClassVar[str] = "{message}"
    #: The command line's template, where its advice differs (None: ``fmt`` fits both).
    cli_fmt: ClassVar[str | None] = None
    #: Exit status of the command line for this error (documented in the README).
    exit_code: ClassVar[int] = 1
    #: Values of fields a caller may leave out.
    defaults: ClassVar[dict[str, Any]] = {}
    #: Fields chosen from a table: field -> (the field whose value is the key, the table).
    tables: ClassVar[Tables] = {}

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        fields = {**self.defaults, **fields}
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)
        for name in self.tables:
            if name not in fields:
                setattr(self, name, self._texts("python").get(name))
        #: The message in the words of a command-line user (flags and verbs).
        self.cli_message = message if message is not None else self.render("cli")
        if message is None:
            message = self.render("python")
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def render(self, audience: Audience) -> str:
        """The message for ``audience``: its template, its tables' rows, its Wordings."""
        # A cli_fmt goes with the fmt of its own class: a subclass that words its
        # message anew (its own fmt) does not inherit its parent's CLI words.
        owner = next(klass for klass in type(self).__mro__ if "fmt" in vars(klass))
        template = self.fmt
        if audience == "cli" and vars(owner).get("cli_fmt") is not None:
            template = vars(owner)["cli_fmt"]
        return template.format(**self._texts(audience))

    def _texts(self, audience: Audience) -> dict[str, Any]:
        """The fields as ``audience`` reads them; a table's row or a Wording is filled from
        the plain fields (the caller's own strings are never read as templates)."""
        plain = {k: v for k, v in self.fields.items() if not isinstance(v, Wording)}
        chosen: dict[str, Advice] = {k: v for k, v in self.fields.items() if isinstance(v, Wording)}
        for name, (key_field, table) in self.tables.items():
            if name not in self.fields:
                row = pick(table, str(self.fields.get(key_field, "")))
                chosen[name] = row if row is not None else ""
        texts = dict(plain)
        for name, row in chosen.items():
            template = row.text(audience) if isinstance(row, Wording) else row
            texts[name] = template.format(**plain)
        return texts

    def with_fields(self, **fields: Any) -> KfpProfilesError:
        """The same error with more (or other) fields: a caller that knows more adds it."""
        return type(self)(**{**self.fields, **fields})


# --- hints shared by the messages above ----------------------------------------
# Here, with the errors, so that files.py (shell completion, `load_config`) can
# suggest a name without importing the models, and so pydantic.


def closest(word: str, choices: Any) -> str | None:
    """The choice a typo most likely meant, or None."""
    import difflib  # only on bad input: `list` of a good file never needs it

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, choices: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or nothing."""
    guess = closest(word, choices)
    return f" (did you mean '{guess}'?)" if guess else ""
