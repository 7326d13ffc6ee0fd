"""What every behavioural report does first: compile its filters, scan the columns they
need, and see each shard's rows as the reports need them (event masks, the tie order)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.expr import Compiled, compile_expression
from trackway.query.pool import POOL
from trackway.query.segments import (
    LocalSegments,
    auto_edges,
    local_segments,
    numbers_of,
    string_segments,
)
from trackway.query.shard_view import ShardView
from trackway.query.spec import Breakdown, Metric
from trackway.storage.scan import EventReader, TimeRange, property_columns

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BOOL = npt.NDArray[np.bool_]
# The earliest time a report that needs all history scans from.
ALL_HISTORY_MS = -(2**62)


def maybe_compile(text: str | None) -> Compiled | None:
    return compile_expression(text) if text else None


def breakdown_expression(breakdown: Breakdown) -> Compiled:
    if (breakdown.property is None) == (breakdown.expression is None):
        raise PayloadError("Expected exactly one of `property` or `expression` in a breakdown")
    if breakdown.expression is not None:
        return compile_expression(breakdown.expression)
    return compile_expression(Metric(property=breakdown.property).value_expression() or "")


def resolve_auto_buckets(
    breakdowns: list[Breakdown], compiled: list[Compiled], views: list[ShardView]
) -> list[Breakdown]:
    """``"auto"`` numeric buckets become one set of edges for the whole report."""
    resolved = []
    for breakdown, expression in zip(breakdowns, compiled, strict=True):
        if breakdown.buckets == "auto":
            bounds: list[float] = []
            for view in views:
                valid, numbers = numbers_of(expression.evaluate(view, view.rows))
                if valid.any():
                    bounds += [float(numbers[valid].min()), float(numbers[valid].max())]
            edges = auto_edges(np.asarray(bounds, np.float64))
            resolved.append(Breakdown(breakdown.property, breakdown.expression, edges))
        else:
            resolved.append(breakdown)
    return resolved


def shard_segments(
    view: ShardView, breakdowns: list[Breakdown], compiled: list[Compiled]
) -> LocalSegments:
    """Each row's local segment code (-1: none) and the labels of the codes."""
    only = breakdowns[0] if len(breakdowns) == 1 else None
    if only is not None and only.property and only.buckets is None:
        column = view.string_column(only.property)
        if column is not None:
            return string_segments(column)
    vectors = [c.evaluate(view, view.rows) for c in compiled]
    return local_segments(vectors, breakdowns, view.rows)


def scan_views(
    reader: EventReader,
    project: Project,
    expressions: Iterable[Compiled | None],
    time_range: TimeRange,
    extra_columns: Iterable[str] = (),
    properties: Iterable[str] = (),
) -> list[ShardView]:
    """One view per shard over the columns the expressions (and ``properties``) read."""
    columns_of = property_columns(reader, project)
    columns = {"user_hash", "time", "event", *extra_columns}
    names = set(properties)
    for expression in expressions:
        if expression is not None:
            names |= set(expression.properties)
    for name in names:
        columns.update(columns_of.get(name, []))
    scans = reader.scan(project, sorted(columns), time_range)
    return [ShardView(s, columns_of, reader.cache) for s in scans]


def parallel(function: Any, items: list[Any]) -> list[Any]:
    return list(POOL.map(function, items))


def event_mask(view: ShardView, events: list[str] | None) -> BOOL:
    """Rows whose event name is one of ``events`` (all rows when None); cached per shard."""

    def make() -> BOOL:
        if events is None:
            return np.ones(view.rows, bool)
        names = view.event_names
        dictionary = names.dictionary.to_pylist()
        if not dictionary:
            return np.zeros(view.rows, bool)
        wanted = set(events)
        hit = np.array([name in wanted for name in dictionary], bool)
        found: BOOL = hit[names.indices.to_numpy(zero_copy_only=False)]
        return found

    key = None if events is None else tuple(sorted(set(events)))
    return view.cached(("event_mask", key), make, lambda a: int(a.nbytes))


def match_mask(
    view: ShardView, events: list[str] | None, where: Compiled | None, base: BOOL
) -> BOOL:
    """Rows that pass the global filter (``base``), name one of ``events`` and pass ``where``."""
    mask = base & event_mask(view, events)
    if where is not None:
        mask &= where.filter_mask(view, view.rows)
    return mask


def base_mask(view: ShardView, where: Compiled | None) -> BOOL:
    return np.ones(view.rows, bool) if where is None else where.filter_mask(view, view.rows)


def event_codes(view: ShardView) -> I32:
    """Each row's event name as its code in the shard's dictionary of names."""

    def make() -> I32:
        indices = view.event_names.indices.to_numpy(zero_copy_only=False)
        return np.asarray(indices, np.int32)

    return view.cached("event_codes", make, lambda a: int(a.nbytes))


def step_bits(
    view: ShardView, steps: list[list[str] | None], wheres: list[Compiled | None], base: BOOL | None
) -> U64:
    """Per row, bit k set when the row matches step k: one lookup per row by event name,
    then the steps' filters and the global one (``base``, None when there is none)."""
    if not steps:
        return np.zeros(view.rows, np.uint64)
    dictionary = view.event_names.dictionary.to_pylist()
    table = np.zeros(len(dictionary) + 1, np.uint64)
    for k, events in enumerate(steps):
        wanted = None if events is None else set(events)
        for code, name in enumerate(dictionary):
            if wanted is None or name in wanted:
                table[code] |= np.uint64(1) << np.uint64(k)
    bits: U64 = table[event_codes(view)]
    for k, where in enumerate(wheres):
        if where is not None:
            failed = ~where.filter_mask(view, view.rows)
            bits &= ~(failed.astype(np.uint64) << np.uint64(k))
    if base is not None:
        bits[~base] = 0
    return bits


def name_rank_table(view: ShardView) -> I32:
    """Per event-name code, the name's rank in sorted name order: ties go by name."""
    dictionary = view.event_names.dictionary.to_pylist()
    order = np.argsort(np.array(dictionary, dtype=object), kind="stable")
    rank = np.empty(len(dictionary), np.int32)
    rank[order] = np.arange(len(dictionary), dtype=np.int32)
    return rank


def name_ranks(view: ShardView) -> I32:
    """Each row's event name as its rank in sorted name order."""

    def make() -> I32:
        table = name_rank_table(view)
        return table[event_codes(view)] if len(table) else table

    return view.cached("name_ranks", make, lambda a: int(a.nbytes))


@njit(nogil=True, cache=True)
def _rank(steps: U64, names: I32, row: int) -> int:
    """Ties go by the lowest step matched (rows matching none last), then by name."""
    lowest = 64
    if len(steps) and steps[row] != 0:
        lowest = 0
        while (steps[row] >> np.uint64(lowest)) & np.uint64(1) == 0:
            lowest += 1
    return lowest * (1 << 24) + int(names[row])


@njit(nogil=True, cache=True)
def tie_order(usable: BOOL, users: I64, times: I64, steps: U64, names: I32) -> I64:
    """The usable rows in (user, time, rank) order, the scan order kept among equal keys.
    Rows arrive sorted by (user, time), so only runs of equal (user, time) are sorted;
    ``steps`` may be empty (no steps: ties go by name)."""
    order = np.flatnonzero(usable)
    n = len(order)
    i = 0
    while i < n:
        j = i + 1
        first = order[i]
        while j < n and users[order[j]] == users[first] and times[order[j]] == times[first]:
            j += 1
        if j - i > 1:
            # Insertion sort of the run by rank: runs are a handful of rows.
            for a in range(i + 1, j):
                row = order[a]
                key = _rank(steps, names, row)
                b = a - 1
                while b >= i and _rank(steps, names, order[b]) > key:
                    order[b + 1] = order[b]
                    b -= 1
                order[b + 1] = row
        i = j
    return order


@njit(nogil=True, cache=True)
def burst_times(users: I64, times: I64, grace_ms: int) -> I64:
    """Each row's time with the grace window applied: a row within ``grace_ms`` of the
    previous row of its user takes the time of that row's burst."""
    out = times.copy()
    for i in range(1, len(users)):
        if users[i] == users[i - 1] and times[i] - times[i - 1] <= grace_ms:
            out[i] = out[i - 1]
    return out


def top_segments(labels: pa.Array, counts: I64, limit: int) -> tuple[I64, int]:
    """The ``limit`` segments with the highest counts (ties by label), and how many have
    any count at all."""
    present = np.flatnonzero(counts > 0)
    table = pa.table({"count": counts[present], "label": labels.take(pa.array(present))})
    order = pc.sort_indices(table, sort_keys=[("count", "descending"), ("label", "ascending")])
    ranked = present[np.asarray(order.to_numpy(zero_copy_only=False), np.int64)]
    return ranked[:limit], len(present)
