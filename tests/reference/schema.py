"""Schema discovery, slow and obviously correct: plain Python over the events as sent."""

from __future__ import annotations

from collections import Counter
from typing import Any

FIXED = ("time", "distinct_id", "$insert_id", "mp_processing_time_ms")


def kind_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float) and not (isinstance(value, int) and abs(value) >= 2**63):
        return "number"
    return "list/object/null"


def deduplicated(events: list[dict[str, Any]], deleted: dict[str, int]) -> list[dict[str, Any]]:
    """One event per (event, distinct_id, time, $insert_id), the latest received (the later
    sent among equals), without the events deleted users sent up to their deletion."""
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for e in events:
        p = e["properties"]
        if p["distinct_id"] in deleted and p["mp_processing_time_ms"] <= deleted[p["distinct_id"]]:
            continue
        key = (e["event"], p["distinct_id"], p["time"], p["$insert_id"])
        kept = latest.get(key)
        if (
            kept is None
            or p["mp_processing_time_ms"] >= kept["properties"]["mp_processing_time_ms"]
        ):
            latest[key] = e
    return list(latest.values())


def event_properties(
    events: list[dict[str, Any]],
    deleted: dict[str, int],
    event: str | None,
    time_range: tuple[int, int],
) -> dict[str, tuple[int, list[str]]]:
    """Each property's count of events carrying it and the types it was seen with."""
    counts: Counter[str] = Counter()
    kinds: dict[str, set[str]] = {}
    for e in deduplicated(events, deleted):
        p = e["properties"]
        if not time_range[0] <= p["time"] < time_range[1]:
            continue
        if event is not None and e["event"] != event:
            continue
        for name, value in p.items():
            if name in FIXED:
                continue
            counts[name] += 1
            kinds.setdefault(name, set()).add(kind_name(value))
    return {name: (count, sorted(kinds[name])) for name, count in counts.items()}
