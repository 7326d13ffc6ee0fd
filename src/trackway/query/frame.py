"""The frame every report runs in: compile its expressions, scan the columns they read once,
and see each shard's rows as reports need them; then segments and the top-N with an exact
``$other``.

A report's pipeline is always the same. ``scan_views`` gives one ``ShardView`` per shard
(rows sorted by unit, then time). Per shard, on the query threads (``parallel``), the report
builds masks (``base_mask``, ``event_mask``, ``match_mask``) and segments
(``shard_segments``) and runs its kernels. Then the shards' partials merge: segment labels
are unified across shards (``unify_segments``), the segments to show are ranked
(``top_segments``), and the rest are folded into one ``$other`` (``other_recode``).

Everything derived from the rows alone is cached per shard while the scanned rows stay the
same; what reads profiles or cohorts is not, since those change while the rows do not.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trackway.query.breakdowns import (
    Breakdown,
    LocalSegments,
    auto_edges,
    local_segments,
    numbers_of,
    property_expression,
    string_segments,
    unify,
)
from trackway.query.context import ReportContext
from trackway.query.errors import SpecError
from trackway.query.expr import Compiled, ExpressionError, compile_expression
from trackway.query.pool import POOL
from trackway.query.shard_view import ShardView
from trackway.storage.scan import property_columns
from trackway.types import BOOL, I32, I64, TimeRange

T = TypeVar("T")
R = TypeVar("R")
# Time bounds past any stored event: a report that needs all history scans from the first,
# one that reads to the end of the data scans to the second.
ALL_HISTORY_MS = -(2**62)
END_OF_TIME = 2**62


# --- compile ---


def compile_at(text: str, path: str) -> Compiled:
    """``text`` compiled; an error names where in the spec the expression is."""
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        message = f"Invalid expression at `{path}`: {exc.message}"
        raise ExpressionError(message, exc.position) from None


def maybe_compile(text: str | None, path: str) -> Compiled | None:
    return compile_at(text, path) if text else None


def compile_breakdowns(breakdowns: Sequence[Breakdown], path: str) -> list[Compiled]:
    """Each breakdown's expression: its own, or the one reading its property."""
    compiled = []
    for i, breakdown in enumerate(breakdowns):
        if (breakdown.property is None) == (breakdown.expression is None):
            raise SpecError(
                "Expected exactly one of `property` or `expression` in a breakdown", f"{path}[{i}]"
            )
        if breakdown.expression is not None:
            compiled.append(compile_at(breakdown.expression, f"{path}[{i}].expression"))
        else:
            text = property_expression(breakdown.property or "")
            compiled.append(compile_at(text, f"{path}[{i}].property"))
    return compiled


def reads_rows_only(expressions: Iterable[Compiled | None]) -> bool:
    """Whether the expressions read only the rows: what reads profiles or cohorts would go
    stale in a cache keyed by the rows, since those change while the rows do not."""
    return not any(e is not None and (e.user_properties or e.cohorts) for e in expressions)


# --- scan ---


def scan_views(
    context: ReportContext,
    expressions: Iterable[Compiled | None],
    time_range: TimeRange,
    extra_columns: Iterable[str] = (),
    properties: Iterable[str] = (),
) -> list[ShardView]:
    """One view per shard over the columns the expressions (and ``properties``) read, rows
    keyed by the context's unit (users, or the groups of ``context.group``)."""
    reader, project = context.reader, context.project
    columns_of = property_columns(reader, project)
    columns = {"user_hash", "time", "event", *extra_columns}
    names = set(properties)
    for expression in expressions:
        if expression is not None:
            names |= set(expression.properties)
    for name in names:
        columns.update(columns_of.get(name, []))
    scans = reader.scan(project, sorted(columns), time_range, group=context.group)
    return [ShardView(s, columns_of, reader.cache, context) for s in scans]


def parallel(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``function`` over every item on the query threads (kernels release the GIL)."""
    return list(POOL.map(function, items))


# --- masks ---


def base_mask(view: ShardView, where: Compiled | None) -> BOOL:
    """Rows that pass the report's global filter."""
    return np.ones(view.rows, bool) if where is None else where.filter_mask(view, view.rows)


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
    return view.cached(("event_mask", key), make, _nbytes)


def match_mask(
    view: ShardView, events: list[str] | None, where: Compiled | None, base: BOOL
) -> BOOL:
    """Rows that pass the global filter (``base``), name one of ``events`` and pass ``where``."""
    mask = base & event_mask(view, events)
    if where is not None:
        mask &= where.filter_mask(view, view.rows)
    return mask


def event_codes(view: ShardView) -> I32:
    """Each row's event name as its code in the shard's dictionary of names."""

    def make() -> I32:
        indices = view.event_names.indices.to_numpy(zero_copy_only=False)
        return np.asarray(indices, np.int32)

    return view.cached("event_codes", make, _nbytes)


# --- segments ---


def resolve_auto_buckets(
    breakdowns: Sequence[Breakdown], compiled: Sequence[Compiled], views: Sequence[ShardView]
) -> list[Breakdown]:
    """``"auto"`` numeric buckets become one set of edges for the whole report, from the
    smallest and largest value over every shard."""
    resolved = list(breakdowns)
    for i, (breakdown, expression) in enumerate(zip(breakdowns, compiled, strict=True)):
        if breakdown.buckets == "auto":
            bounds: list[float] = []
            for view in views:
                valid, numbers = numbers_of(expression.evaluate(view, view.rows))
                if valid.any():
                    bounds += [float(numbers[valid].min()), float(numbers[valid].max())]
            edges = auto_edges(np.asarray(bounds, np.float64))
            resolved[i] = msgspec.structs.replace(breakdown, buckets=edges)
    return resolved


def shard_segments(
    view: ShardView, breakdowns: Sequence[Breakdown], compiled: Sequence[Compiled]
) -> LocalSegments:
    """Each row's local segment code (-1: none) and the labels of the codes; kept across
    queries when the breakdowns read only the rows."""

    def make() -> LocalSegments:
        only = breakdowns[0] if len(breakdowns) == 1 else None
        if only is not None and only.property and only.buckets is None:
            column = view.string_column(only.property)
            if column is not None:
                return string_segments(column)
        vectors = [c.evaluate(view, view.rows) for c in compiled]
        return local_segments(vectors, list(breakdowns), view.rows)

    if not reads_rows_only(compiled):
        return make()
    return view.cached(("segments", breakdown_key(breakdowns)), make, _segments_bytes)


def breakdown_key(breakdowns: Sequence[Breakdown]) -> Hashable:
    return tuple((b.property, b.expression, str(b.buckets)) for b in breakdowns)


def unify_segments(
    context: ReportContext,
    views: Sequence[ShardView],
    segments: Sequence[LocalSegments],
    key: Hashable | None,
) -> tuple[list[I32], pa.Array]:
    """Global segment codes: per shard, each local code's global one, and the global labels.
    With a ``key`` (what the segments depend on besides the rows), kept across queries while
    every shard's rows stay the same."""
    scan_keys = [view.scan.key for view in views]
    if key is None or any(k is None for k in scan_keys):
        return unify([s.labels for s in segments])
    full_key = ("unify", tuple(scan_keys), key)
    cache = context.reader.cache
    found: tuple[list[I32], pa.Array] | None = cache.get(full_key)
    if found is None:
        found = unify([s.labels for s in segments])
        cache.put(full_key, found, sum(r.nbytes for r in found[0]) + found[1].nbytes)
    return found


def top_segments(
    labels: pa.Array,
    ranking: Any,
    limit: int,
    offset: int = 0,
    present: BOOL | None = None,
) -> tuple[I64, int]:
    """The segments ranked ``offset`` .. ``offset + limit`` by ``ranking`` (highest first,
    ties by label), and how many are ``present`` (have data; by default a ranking above 0)."""
    ranking = np.asarray(ranking)
    found = np.flatnonzero(ranking > 0 if present is None else present)
    wanted = offset + limit
    candidates = found
    if len(found) > 4 * wanted:
        # Only the segments that can make the page are sorted: the top ranks, ties included.
        cut = len(found) - wanted
        threshold = np.partition(ranking[found], cut)[cut]
        candidates = found[ranking[found] >= threshold]
    table = pa.table({"rank": ranking[candidates], "label": labels.take(pa.array(candidates))})
    order = pc.sort_indices(table, sort_keys=[("rank", "descending"), ("label", "ascending")])
    ranked = candidates[np.asarray(order.to_numpy(zero_copy_only=False), np.int64)]
    return ranked[offset:wanted], len(found)


def other_recode(n_labels: int, shown: I64) -> I32:
    """Per global segment code, its place among the ``shown`` ones, or ``len(shown)`` (the
    ``$other`` segment) for every segment not shown: exact for any measure, since the rows
    themselves move to ``$other``."""
    recode = np.full(n_labels, len(shown), np.int32)
    recode[shown] = np.arange(len(shown), dtype=np.int32)
    return recode


def _nbytes(array: Any) -> int:
    return int(array.nbytes)


def _segments_bytes(segments: LocalSegments) -> int:
    return int(segments.codes.nbytes + segments.labels.nbytes)
