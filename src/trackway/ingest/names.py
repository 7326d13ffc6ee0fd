"""The per-project cap on property names, at intake (``trackway.property_names`` keeps the sets).

The names a record brings: an event's properties (less those kept in the events table's fixed
columns), a profile update's names written by ``$set``, ``$set_once``, ``$add``, ``$append``
and ``$union`` (``$remove`` and ``$unset`` create no property). A record whose names this
process knows passes with one set comparison; the others of a request are admitted together,
in request order, under the names file's lock, and one that would take its project's set past
the cap is refused with a message naming the setting.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from trackway.ingest.failures import FailedRecord
from trackway.property_names import Kind, PropertyNames, Refusal, cap_of
from trackway.settings import Settings

KIND_OF_ENDPOINT: dict[str, Kind] = {
    "track": "events",
    "import": "events",
    "engage": "users",
    "groups": "groups",
}
# Profile operations that write properties, in the order a message looks for a new name.
WRITING_OPS = ("$set", "$set_once", "$add", "$append", "$union")
_SHOWN_NAMES = 3
_SHOWN_CHARACTERS = 40


@dataclass(frozen=True, slots=True)
class Unknown:
    """A record carrying a name its process has not seen: it waits for ``admit``."""

    index: int
    project_id: int
    position: int  # among the project's records of the request
    insert_id: str | None
    names: Collection[str]


def unknown_names(
    normal: dict[str, Any], kind: Kind, known: frozenset[str]
) -> Collection[str] | None:
    """The names a normalised record brings when one of them is not in ``known``, else None."""
    if kind == "events":
        properties: dict[str, Any] = normal["properties"]
        return None if known.issuperset(properties) else properties.keys()
    written = [normal[op] for op in WRITING_OPS if op in normal]
    if all(known.issuperset(operand) for operand in written):
        return None
    return {name for operand in written for name in operand}


def admit(
    names: PropertyNames, settings: Settings, endpoint: str, unknown: list[Unknown]
) -> list[FailedRecord]:
    """Admit the records' new names, project by project; the records refused, as failures."""
    if not unknown:
        return []
    kind = KIND_OF_ENDPOINT[endpoint]
    cap = cap_of(settings, kind)
    by_project: dict[int, list[Unknown]] = {}
    for record in unknown:
        by_project.setdefault(record.project_id, []).append(record)
    refused: list[FailedRecord] = []
    for project_id, records in by_project.items():
        verdicts = names.admit(project_id, kind, [r.names for r in records], cap.limit)
        for record, verdict in zip(records, verdicts, strict=True):
            if verdict is not None:
                refused.append(_refusal(record, verdict, kind, settings))
    return refused


def _refusal(record: Unknown, refusal: Refusal, kind: Kind, settings: Settings) -> FailedRecord:
    cap = cap_of(settings, kind)
    field = "properties" if kind == "events" else ""
    where = f"$[{record.index}]" + (f".{field}" if field else "")
    shown = sorted(refusal.new)[:_SHOWN_NAMES]
    examples = ", ".join(f"`{_clip(name)}`" for name in shown)
    more = ", …" if len(refusal.new) > len(shown) else ""
    record_kind = "event" if kind == "events" else "update"
    message = (
        f"Expected at most {cap.limit} distinct {cap.described} in project "
        f"{record.project_id} (setting `{cap.setting}`), which holds {refusal.held}; this "
        f"{record_kind} would add {len(refusal.new)} more ({examples}{more}) - at `{where}`"
    )
    return FailedRecord(record.index, record.insert_id, field, message)


def _clip(name: str) -> str:
    return name if len(name) <= _SHOWN_CHARACTERS else name[: _SHOWN_CHARACTERS - 1] + "…"
