"""The one error of the expression language, and the limits that bound hostile input."""

from __future__ import annotations

from trackway.errors import UserError

# Bounds that keep parsing and evaluation linear and small whatever a client sends.
MAX_LENGTH = 16_384
MAX_DEPTH = 64
MAX_LIST_ITEMS = 10_000
MAX_STRING_LENGTH = 8_192
# How much of a long line an error message quotes on either side of the fault.
_EXCERPT_RADIUS = 40


class ExpressionError(UserError):
    """A `where`/`on` expression that cannot be parsed or evaluated: a 400 naming the place."""

    code = "invalid_expression"

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position

    @classmethod
    def at(
        cls, text: str, position: int, expected: str, found: str | None = None
    ) -> ExpressionError:
        """``{expected} at position P (line L, column C)[, got {found}] in: <line>`` + a caret."""
        line_start = text.rfind("\n", 0, position) + 1
        line_end = text.find("\n", position)
        line_end = len(text) if line_end < 0 else line_end
        line = text.count("\n", 0, position) + 1
        column = position - line_start + 1
        start = max(line_start, position - _EXCERPT_RADIUS)
        end = min(line_end, position + _EXCERPT_RADIUS)
        prefix = "…" if start > line_start else ""
        suffix = "…" if end < line_end else ""
        # Control characters would break the caret's alignment; each becomes one space.
        excerpt = "".join(" " if ch < " " else ch for ch in text[start:end])
        got = f", got {found}" if found is not None else ""
        head = f"{expected} at position {position} (line {line}, column {column}){got} in: "
        first = f"{head}{prefix}{excerpt}{suffix}"
        caret = " " * (len(head) + len(prefix) + position - start) + "^"
        return cls(f"{first}\n{caret}", position)
