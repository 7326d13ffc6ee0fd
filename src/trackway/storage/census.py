"""How many of a project's events hold a value in each property column: what schema discovery
counts, at a cost in proportion to parts rather than parts times columns.

Exact: the rows counted are those a scan returns (in range, duplicates dropped, deleted users
left out, the uncommitted tail included), of one event name or all. Each part's footer is
parsed once and kept (``EventReader.footer``), and a part whose rows are all counted is counted
from the null counts its footer holds for each column, without reading a column. Only a part
with rows left out (at the edges of the range, duplicates, deleted users, other events) reads
the columns that hold a value in some of its rows but not all, to count them at the rows kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trackway.projects import Project
from trackway.storage.columns import column_type, conform, is_property_column
from trackway.storage.events_table import Part
from trackway.storage.scan import EventReader, Positions, ShardRows
from trackway.types import TimeRange

_UNKNOWN = -1  # a column whose footer has no null count: its rows are read
ReadColumns = Callable[[list[str]], dict[str, pa.Array]]


@dataclass(frozen=True, slots=True)
class Presence:
    """A source's (a part's, or the tail's) property columns and, for each, how many of its
    rows hold a value (``_UNKNOWN`` when the footer does not say)."""

    rows: int
    columns: tuple[str, ...]
    present: npt.NDArray[np.int64]


def column_counts(
    reader: EventReader, project: Project, time_range: TimeRange | None, event: str | None
) -> Counter[str]:
    """For each property column, how many of the events a scan returns (of ``event``, or
    all) hold a value in it; columns no such event fills are left out."""
    counts: Counter[str] = Counter()
    for shard in reader.kept_rows(project, time_range):
        _count_shard(reader, shard, event, counts)
    return +counts


def part_presence(reader: EventReader, shard: ShardRows, part: Part) -> Presence:
    """A part's presence from its footer alone, kept with the footer's other derived data."""
    key = ("presence", shard.root, part.path)
    found: Presence | None = reader.cache.get(key)
    if found is None:
        metadata = reader.footer(shard.root, part)
        names = metadata.schema.names
        wanted = [i for i, name in enumerate(names) if is_property_column(name)]
        present = np.full(len(wanted), metadata.num_rows, np.int64)
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for at, i in enumerate(wanted):
                statistics = row_group.column(i).statistics
                if statistics is None or not statistics.has_null_count or present[at] < 0:
                    present[at] = _UNKNOWN
                else:
                    present[at] -= statistics.null_count
        found = Presence(metadata.num_rows, tuple(names[i] for i in wanted), present)
        reader.cache.put(key, found, 100 * len(wanted) + 1024)
    return found


def _tail_presence(tail: pa.Table) -> Presence:
    columns = tuple(c for c in tail.column_names if is_property_column(c))
    present = [tail.num_rows - tail.column(c).null_count for c in columns]
    return Presence(tail.num_rows, columns, np.array(present, np.int64))


def _tail_columns(tail: pa.Table, columns: list[str]) -> dict[str, pa.Array]:
    return {column: conform(tail.column(column), column_type(column)) for column in columns}


def _count_shard(
    reader: EventReader, shard: ShardRows, event: str | None, counts: Counter[str]
) -> None:
    sizes = [part.rows for part in shard.parts]
    if shard.tail is not None:
        sizes.append(shard.tail.num_rows)
    kept = shard.kept()
    if event is not None:
        kept = _of_event(reader, shard, kept, event, sum(sizes))
    starts = np.cumsum([0, *sizes])
    kept_by_source: list[Positions | None] = [None] * len(sizes)
    if kept is not None:
        source_of = np.searchsorted(starts, kept, side="right") - 1
        for source in range(len(sizes)):
            local = kept[source_of == source] - starts[source]
            kept_by_source[source] = local if len(local) < sizes[source] else None
    for source, local in enumerate(kept_by_source):
        if local is not None and len(local) == 0:
            continue
        read: ReadColumns
        if source < len(shard.parts):
            part = shard.parts[source]
            presence = part_presence(reader, shard, part)
            read = partial(reader.part_columns, shard.root, part)
        else:
            assert shard.tail is not None
            presence = _tail_presence(shard.tail)
            read = partial(_tail_columns, shard.tail)
        _count_source(presence, local, read, counts)


def _count_source(
    presence: Presence,
    local: Positions | None,
    read: ReadColumns,
    counts: Counter[str],
) -> None:
    """Add one source's counts at its rows ``local`` (None: all of them)."""
    kept = presence.rows if local is None else len(local)
    partial = []
    for column, present in zip(presence.columns, presence.present.tolist(), strict=True):
        if present == 0:
            continue
        if present == presence.rows:
            counts[column] += kept
        elif local is None and present != _UNKNOWN:
            counts[column] += present
        else:
            partial.append(column)
    if partial:
        for column, array in read(partial).items():
            valid = array.is_valid().to_numpy(zero_copy_only=False)
            counts[column] += int(np.count_nonzero(valid if local is None else valid[local]))


def _of_event(
    reader: EventReader, shard: ShardRows, kept: Positions | None, event: str, total: int
) -> Positions:
    """``kept`` (None: every row) narrowed to the rows of ``event``."""
    arrays = [reader.part_columns(shard.root, p, ["event"])["event"] for p in shard.parts]
    if shard.tail is not None:
        arrays.append(conform(shard.tail.column("event"), column_type("event")))
    names = pa.chunked_array(arrays, column_type("event")).combine_chunks()
    match: npt.NDArray[np.bool_] = np.asarray(
        pc.equal(names.cast(pa.string()), event).fill_null(False).to_numpy(zero_copy_only=False)
    )
    if kept is None:
        return np.flatnonzero(match[:total]).astype(np.int64)
    narrowed: Positions = kept[match[kept]]
    return narrowed
