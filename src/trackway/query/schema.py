"""Schema discovery for users and UIs: event names ranked by volume, the properties of an
event with their inferred types, and the top values of a property."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trackway.projects import Project
from trackway.storage.census import column_counts
from trackway.storage.columns import parse_property_column
from trackway.storage.scan import EventReader, property_columns
from trackway.types import TimeRange

KIND_NAMES = {"s": "string", "i": "number", "f": "number", "b": "boolean", "j": "list/object/null"}


def event_names(
    reader: EventReader, project: Project, time_range: TimeRange, limit: int
) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for shard in reader.scan(project, ["event"], time_range, by_user=False):
        _add_counts(counts, shard.columns["event"].cast(pa.string()))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def event_properties(
    reader: EventReader, project: Project, event: str | None, time_range: TimeRange, limit: int
) -> list[dict[str, Any]]:
    """Properties seen on ``event`` (all events when None): name, types, and how many events
    carry it, most common first. Costs in proportion to parts, not parts times columns: a part
    all of whose rows count is counted from its footer (``storage/census.py``)."""
    counts: Counter[str] = Counter()
    kinds: dict[str, set[str]] = {}
    for column, present in column_counts(reader, project, time_range, event).items():
        parsed = parse_property_column(column)
        assert parsed is not None
        counts[parsed[0]] += present
        kinds.setdefault(parsed[0], set()).add(KIND_NAMES[parsed[1]])
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [{"name": name, "types": sorted(kinds[name]), "count": count} for name, count in ranked]


def top_values(
    reader: EventReader,
    project: Project,
    name: str,
    event: str | None,
    time_range: TimeRange,
    limit: int,
) -> list[tuple[Any, int]]:
    columns = property_columns(reader, project).get(name, [])
    counts: Counter[Any] = Counter()
    for shard in reader.scan(project, ["event", *columns], time_range, by_user=False):
        rows = _event_rows(shard.columns["event"], event)
        for column in columns:
            array = shard.columns[column].filter(pa.array(rows))
            _add_counts(counts, array.drop_null())
    return sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))[:limit]


def _add_counts(counts: Counter[Any], array: pa.Array) -> None:
    """Add how often each value occurs in ``array`` (counted in Arrow) to ``counts``."""
    counted = pc.value_counts(array)
    values = counted.field("values").to_pylist()
    counts.update(dict(zip(values, counted.field("counts").to_pylist(), strict=True)))


def _event_rows(events: pa.Array, event: str | None) -> Any:
    if event is None:
        return np.ones(len(events), bool)
    return np.asarray(
        pc.equal(events.cast(pa.string()), event).fill_null(False).to_numpy(zero_copy_only=False)
    )
