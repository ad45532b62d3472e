"""The root of every error: a ``fmt`` template filled from keyword fields, and typo hints."""

from __future__ import annotations

from typing import Any, ClassVar


class KfpProfilesError(Exception):
    """Base class of every error kfp-profiles raises."""

    fmt: ClassVar[str] = "{message}"
    #: Exit status of the command line for this error (documented in the README).
    exit_code: ClassVar[int] = 1
    #: Values of fields a caller may leave out.
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        fields = {**self.defaults, **fields}
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)
        if message is None:
            message = self.fmt.format(**fields)
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


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
