"""What every behavioural report does first: compile its filters, scan the columns they
need, and see each shard's rows as the reports need them (event masks, the tie order)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.context import ReportContext
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
from trackway.types import BOOL, I32, I64, U64

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
    group: str | None = None,
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
    scans = reader.scan(project, sorted(columns), time_range, group=group)
    context = ReportContext(reader, project, group)
    return [ShardView(s, columns_of, reader.cache, context) for s in scans]


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


@dataclass(frozen=True, slots=True)
class StepMatch:
    """Which steps each row matches: ``table`` per event-name code, and, when a step has
    its own filter, ``rows`` per row (empty otherwise). The global filter is not in it."""

    table: U64
    rows: U64


def step_match(
    view: ShardView, steps: list[list[str] | None], wheres: list[Compiled | None]
) -> StepMatch:
    """Bit k set when a row matches step k: one lookup by event name, then the filters."""
    dictionary = view.event_names.dictionary.to_pylist()
    table = np.zeros(len(dictionary) + 1, np.uint64)
    for k, events in enumerate(steps):
        wanted = None if events is None else set(events)
        for code, name in enumerate(dictionary):
            if wanted is None or name in wanted:
                table[code] |= np.uint64(1) << np.uint64(k)
    if all(where is None for where in wheres):
        return StepMatch(table, np.zeros(0, np.uint64))
    bits: U64 = table[event_codes(view)]
    for k, where in enumerate(wheres):
        if where is not None:
            failed = ~where.filter_mask(view, view.rows)
            bits &= ~(failed.astype(np.uint64) << np.uint64(k))
    return StepMatch(table, bits)


def name_rank_table(view: ShardView) -> I32:
    """Per event-name code, the name's rank in sorted name order: ties go by name."""
    dictionary = view.event_names.dictionary.to_pylist()
    order = np.argsort(np.array(dictionary, dtype=object), kind="stable")
    rank = np.empty(len(dictionary), np.int32)
    rank[order] = np.arange(len(dictionary), dtype=np.int32)
    return rank


@njit(nogil=True, cache=True, inline="always")
def _rank(steps: np.uint64, name: int) -> int:
    """Ties go by the lowest step matched (rows matching none last), then by name."""
    lowest = 64
    if steps != 0:
        lowest = 0
        while (steps >> np.uint64(lowest)) & np.uint64(1) == 0:
            lowest += 1
    return lowest * (1 << 24) + name


@dataclass(frozen=True, slots=True)
class UsedRows:
    """The rows a funnel uses, in the tie order, with what the kernel reads of them."""

    order: I64  # row numbers in the shard
    users: I64
    times: I64
    steps: U64
    excluded: U64


def used_rows(
    codes: I32,
    steps: StepMatch,
    exclusions: StepMatch,
    base: BOOL | None,
    every_row: bool,
    users: I64,
    times: I64,
    name_ranks: I32,
) -> UsedRows:
    """The rows passing the global filter ``base`` that match a step or an exclusion (all
    of them when ``every_row``), in the tie order of docs/behaviour.md."""
    no_filter = np.zeros(0, bool)
    found = _used_rows(
        codes,
        steps.table,
        steps.rows,
        exclusions.table,
        exclusions.rows,
        base if base is not None else no_filter,
        every_row,
        users,
        times,
        name_ranks,
    )
    return UsedRows(*found)


@njit(nogil=True, cache=True)
def _used_rows(
    codes: I32,
    step_table: U64,
    step_rows: U64,
    exclusion_table: U64,
    exclusion_rows: U64,
    base: BOOL,
    every_row: bool,
    users: I64,
    times: I64,
    name_ranks: I32,
) -> tuple[I64, I64, I64, U64, U64]:
    """One pass: rows arrive sorted by (user, time), so a row only ever moves back past
    earlier rows of its own (user, time) run, by rank; equal ranks keep the scan order."""
    n = len(codes)
    filtered = len(base) > 0
    steps_by_row = len(step_rows) > 0
    exclusions_by_row = len(exclusion_rows) > 0
    order = np.empty(n, np.int64)
    out_users = np.empty(n, np.int64)
    out_times = np.empty(n, np.int64)
    steps = np.empty(n, np.uint64)
    excluded = np.empty(n, np.uint64)
    used = 0
    for i in range(n):
        if filtered and not base[i]:
            continue
        s = step_rows[i] if steps_by_row else step_table[codes[i]]
        x = exclusion_rows[i] if exclusions_by_row else exclusion_table[codes[i]]
        if not every_row and (s | x) == np.uint64(0):
            continue
        user = users[i]
        time = times[i]
        b = used
        if b > 0 and out_users[b - 1] == user and out_times[b - 1] == time:
            key = _rank(s, name_ranks[codes[i]])
            while (
                b > 0
                and out_users[b - 1] == user
                and out_times[b - 1] == time
                and _rank(steps[b - 1], name_ranks[codes[order[b - 1]]]) > key
            ):
                order[b], steps[b], excluded[b] = order[b - 1], steps[b - 1], excluded[b - 1]
                out_users[b], out_times[b] = user, time
                b -= 1
        order[b], steps[b], excluded[b] = i, s, x
        out_users[b], out_times[b] = user, time
        used += 1
    return order[:used], out_users[:used], out_times[:used], steps[:used], excluded[:used]


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
