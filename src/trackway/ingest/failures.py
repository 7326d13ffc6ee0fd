"""How one rejected record is described back to the client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class RecordRejectedError(Exception):
    """One record of a batch failed validation; the rest of the batch goes on."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class FailedRecord:
    index: int
    insert_id: str | None
    field: str
    message: str

    def to_wire(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "$insert_id": self.insert_id,
            "field": self.field,
            "message": self.message,
        }


def type_name(value: object) -> str:
    """JSON's name for a decoded value's type, as used in every error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
