"""Splice a profiles file's own lines: add, replace, remove or rename one profile, set `default`.

Pure text in, text out; no file is read or written here (:mod:`kfp_profiles.editing`
does that). An edit touches the edited profile (its ``[profiles.NAME]`` header,
its body, and the comment lines that sit directly on it) or the ``default``
line; everything else survives byte for byte: comments, blank lines, ordering,
quoting, line endings. That rules out round-tripping the whole document
through a TOML library: tomlkit, like every style-keeping parser, files a
comment that stands above ``[profiles.prod]`` in the body of the table before
it, so deleting or moving that table through the library drops or misplaces a
comment that belongs to its neighbour. So edits here are splices of the
file's own lines, located by a small line classifier that knows TOML strings
and multi-line arrays; tomlkit edits the inside of one profile (``add
--replace``) and the ``default`` value, where it keeps inline comments, and
``tomli-w`` renders the tables the tool generates. A text that cannot be
spliced cleanly raises :class:`~kfp_profiles.errors.CannotEditError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .errors import NotOneTableError
from .files import BARE_KEY, render_key, tomllib

# --- the lines of a file ------------------------------------------------------------------

LineKind = Literal["blank", "comment", "header", "content"]


@dataclass(frozen=True)
class _Line:
    text: str  # with its line ending
    kind: LineKind
    #: The table a header line opens, e.g. ("profiles", "dev"); None for other lines.
    table: tuple[str, ...] | None = None
    array: bool = False  # [[...]]


def _classify(text: str) -> list[_Line]:
    """Each line of ``text`` and what it is; continuation lines of values are content."""
    lines: list[_Line] = []
    open_string: str | None = None  # '"""' or "'''" while inside a multi-line string
    depth = 0  # open [ and { of a value that spans lines
    for raw in text.splitlines(keepends=True):
        stripped = raw.strip()
        if open_string is not None or depth > 0:
            open_string, depth = _advance(raw, open_string, depth)
            lines.append(_Line(raw, "content"))
        elif not stripped:
            lines.append(_Line(raw, "blank"))
        elif stripped.startswith("#"):
            lines.append(_Line(raw, "comment"))
        elif stripped.startswith("["):
            table, array, _ = _parse_header(raw)
            lines.append(_Line(raw, "header", table, array))
        else:
            open_string, depth = _advance(raw, open_string, depth)
            lines.append(_Line(raw, "content"))
    return lines


def _advance(line: str, open_string: str | None, depth: int) -> tuple[str | None, int]:
    """The string and bracket state after ``line``, given the state before it."""
    i, n = 0, len(line)
    while i < n:
        if open_string is not None:
            if open_string == '"""' and line[i] == "\\":
                i += 2
                continue
            if line.startswith(open_string, i):
                run = len(line[i:]) - len(line[i:].lstrip(open_string[0]))
                i += run  # up to two quotes of content may precede the closing three
                open_string = None
                continue
            i += 1
            continue
        char = line[i]
        if char == "#":
            break
        if char in "\"'":
            triple = char * 3
            if line.startswith(triple, i):
                open_string = triple
                i += 3
                continue
            i += 1
            while i < n and line[i] != char and line[i] not in "\r\n":
                i += 2 if char == '"' and line[i] == "\\" else 1
            i += 1
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return open_string, depth


def _parse_header(line: str) -> tuple[tuple[str, ...] | None, bool, int]:
    """(key path, is-array, index just past the closing bracket) of a table header line."""
    i = len(line) - len(line.lstrip())
    array = line.startswith("[[", i)
    i += 2 if array else 1
    keys: list[str] = []
    while True:
        while i < len(line) and line[i] in " \t":
            i += 1
        if i >= len(line):
            return None, array, i
        char = line[i]
        if char in "\"'":
            end = i + 1
            while end < len(line) and line[end] != char:
                end += 2 if char == '"' and line[end] == "\\" else 1
            raw = line[i : end + 1]
            try:
                keys.append(str(tomllib.loads(f"k = {raw}")["k"]))
            except tomllib.TOMLDecodeError:
                return None, array, end
            i = end + 1
        else:
            found = BARE_KEY.match(line, i)
            if not found:
                return None, array, i
            keys.append(found.group())
            i = found.end()
        while i < len(line) and line[i] in " \t":
            i += 1
        if line.startswith(".", i):
            i += 1
            continue
        closing = "]]" if array else "]"
        if line.startswith(closing, i):
            return tuple(keys), array, i + len(closing)
        return None, array, i


def render_profile(name: str, values: Mapping[str, Any]) -> str:
    """The ``[profiles.NAME]`` table for a new profile, rendered by tomli-w."""
    import tomli_w

    body = tomli_w.dumps(dict(values))
    return f"[profiles.{render_key(name)}]\n{body}"


@dataclass(frozen=True)
class _Span:
    """Where one profile sits: [lead, header) attached comments, the header, body to end."""

    lead: int
    header: int
    body_end: int  # one past its last key/value line
    end: int  # one past the comment lines attached below it


class _Layout:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = _classify(text)
        self.newline = "\r\n" if "\r\n" in text else "\n"

    def join(self, lines: list[_Line] | list[str]) -> str:
        return "".join(line if isinstance(line, str) else line.text for line in lines)

    def headers(self) -> list[int]:
        return [i for i, line in enumerate(self.lines) if line.kind == "header"]

    def span_of(self, name: str) -> _Span | None:
        """The profile's lines, or None when it is not written as a [profiles.NAME] table."""
        own = ("profiles", name)
        starts = [
            i
            for i, line in enumerate(self.lines)
            if line.kind == "header" and line.table == own and not line.array
        ]
        nested = [
            i
            for i, line in enumerate(self.lines)
            if line.kind == "header" and line.table and line.table[:2] == own and line.table != own
        ]
        if len(starts) != 1 or nested:
            return None
        header = starts[0]
        following = [i for i in self.headers() if i > header]
        next_header = following[0] if following else len(self.lines)
        body_end = header + 1
        for i in range(header + 1, next_header):
            if self.lines[i].kind == "content":
                body_end = i + 1
        end = body_end
        while end < next_header and self.lines[end].kind == "comment":
            end += 1
        if end == next_header and following:
            end = body_end  # comments touching the next header are that table's own
        lead = header
        while lead > 0 and self.lines[lead - 1].kind == "comment":
            lead -= 1
        run = self.lines[lead:header]
        # The file's opening comment, and `#:schema`-style directives, are the file's.
        if lead == 0 or any(line.text.lstrip().startswith("#:") for line in run):
            lead = header
        return _Span(lead=lead, header=header, body_end=body_end, end=end)

    def top_level_end(self) -> int:
        """One past the last key/value line before the first table."""
        first = self.headers()[0] if self.headers() else len(self.lines)
        last = 0
        for i in range(first):
            if self.lines[i].kind == "content":
                last = i + 1
        return last


def _with_final_newline(text: str, newline: str) -> str:
    return text if not text or text.endswith(("\n", "\r")) else text + newline


def _to_newline(text: str, newline: str) -> str:
    return text.replace("\n", newline) if newline != "\n" else text


def add_profile_text(text: str, name: str, values: Mapping[str, Any]) -> str:
    """``text`` with a new ``[profiles.NAME]`` table appended, after a blank line."""
    layout = _Layout(text)
    block = _to_newline(render_profile(name, values), layout.newline)
    result = _with_final_newline(text, layout.newline)
    if result.strip() and not result.endswith(layout.newline * 2):
        result += layout.newline
    return result + block


def replace_profile_text(text: str, name: str, values: Mapping[str, Any]) -> str:
    """``text`` with the body of profile ``name`` set to exactly ``values``.

    tomlkit edits the body in place, so the comments inside the profile and the
    position of the keys that stay are kept.
    """
    import tomlkit

    layout = _Layout(text)
    span = _require_span(layout, name)
    body = layout.join(layout.lines[span.header + 1 : span.body_end])
    document = tomlkit.parse(body)
    for key in [key for key in document if key not in values]:
        del document[key]
    for key, value in values.items():
        if key not in document or document[key] != value:
            document[key] = value
    new_body = _with_final_newline(document.as_string(), layout.newline)
    before = layout.join(layout.lines[: span.header + 1])
    after = layout.join(layout.lines[span.body_end :])
    return before + new_body + after


def remove_profile_text(text: str, name: str) -> str:
    """``text`` without profile ``name`` and the comment lines attached to it."""
    layout = _Layout(text)
    span = _require_span(layout, name)
    lines = layout.lines
    start, end = span.lead, span.end
    while end < len(lines) and lines[end].kind == "blank":
        end += 1
    if end == len(lines):  # last in the file: also drop the blank lines that led to it
        while start > 0 and lines[start - 1].kind == "blank":
            start -= 1
    return layout.join(lines[:start]) + layout.join(lines[end:])


def rename_profile_text(text: str, old: str, new: str) -> str:
    """``text`` with the header of profile ``old`` renamed; its body stays as it is."""
    layout = _Layout(text)
    span = _require_span(layout, old)
    line = layout.lines[span.header].text
    _, _, past = _parse_header(line)
    indent = line[: len(line) - len(line.lstrip())]
    renamed = f"{indent}[profiles.{render_key(new)}]{line[past:]}"
    lines = [entry.text for entry in layout.lines]
    lines[span.header] = renamed
    return "".join(lines)


def set_default_text(text: str, name: str | None) -> str:
    """``text`` with ``default = "NAME"`` set (or removed, for None), nothing else moved."""
    import tomlkit

    layout = _Layout(text)
    document = tomlkit.parse(text)
    if "default" in document:
        if name is None:
            del document["default"]
        else:
            document["default"] = name
        return document.as_string()
    if name is None:
        return text
    line = f"default = {json.dumps(name)}{layout.newline}"
    lines = [entry.text for entry in layout.lines]
    at = layout.top_level_end()
    if at == 0:  # no top-level keys: after the file's opening comment, before any table
        while at < len(lines) and layout.lines[at].kind == "comment":
            at += 1
        if at < len(lines) and layout.lines[at].kind != "blank":
            line += layout.newline
    if at > 0 and lines[at - 1] and not lines[at - 1].endswith(("\n", "\r")):
        lines[at - 1] += layout.newline
    return "".join(lines[:at]) + line + "".join(lines[at:])


def _require_span(layout: _Layout, name: str) -> _Span:
    span = layout.span_of(name)
    if span is None:
        raise NotOneTableError(key=render_key(name))
    return span
