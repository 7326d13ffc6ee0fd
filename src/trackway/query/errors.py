"""The query layer's one error for a report spec it refuses (expressions have their own)."""

from __future__ import annotations

from trackway.errors import UserError


class SpecError(UserError):
    """A report spec, definition or parameter the engine cannot run: a 400 whose message says
    what was expected, what was found and, where there is one, the field's JSON path."""

    code = "invalid_spec"

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message if path is None else f"{message} - at `{path}`")
        self.path = path
