"""Insights (Mixpanel's segmentation and trends): metrics over time buckets and segments.

Plan: compile every expression, work out the columns and the time range (widened for rolling
windows), scan once. Per shard, on threads: the global filter, each metric's event and
filter masks, each row's bucket and segment. Segments are unified across shards; when there
are more than ``limit``, they are ranked on the first metric over the whole range and all
but the shown ones are recoded as one ``$other`` segment before measuring, so ``$other`` is
exact for every measure (unique users included) and the segments add up to the total of any
additive measure. Measures then come from compiled kernels per shard and merge by addition,
except exact percentiles and distinct counts, which merge the shards' values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query import measures
from trackway.query.context import ReportContext
from trackway.query.expr import Compiled, compile_expression
from trackway.query.formula import compile_formula
from trackway.query.pool import POOL
from trackway.query.segments import (
    OTHER,
    SEPARATOR,
    LocalSegments,
    auto_edges,
    local_segments,
    numbers_of,
    string_segments,
    unify,
)
from trackway.query.shard_view import PreparedShard, ShardView
from trackway.query.spec import PROPERTY_MEASURES, InsightsSpec, Metric
from trackway.query.timebuckets import Buckets, buckets, day_range, zone
from trackway.storage.scan import EventReader, property_columns

MAX_METRICS = 26
LOOKBACK_DAYS = {"wau": 6, "mau": 29}


@dataclass(frozen=True, slots=True)
class _Compiled:
    where: Compiled | None
    metric_where: list[Compiled | None]
    metric_values: list[Compiled | None]
    breakdowns: list[Compiled]


def run_insights(reader: EventReader, project: Project, spec: InsightsSpec) -> dict[str, Any]:
    _check(spec)
    tz = zone(spec.timezone or project.timezone)
    _check_reach(spec)
    result = _run(reader, project, spec, spec.from_date, spec.to_date, tz)
    if spec.compare == "previous_period":
        length = (spec.to_date - spec.from_date).days + 1
        previous = _run(
            reader,
            project,
            spec,
            spec.from_date - timedelta(days=length),
            spec.from_date - timedelta(days=1),
            tz,
        )
        result["previous"] = {"buckets": previous["buckets"], "series": previous["series"]}
    return result


def _check_reach(spec: InsightsSpec) -> None:
    """The earliest day the report reads (previous period, WAU/MAU look-back) must exist."""
    back = max((LOOKBACK_DAYS.get(m.measure, 0) for m in spec.metrics), default=0) + 1
    if spec.compare == "previous_period":
        back += (spec.to_date - spec.from_date).days + 1
    if spec.from_date.toordinal() - back < date(1, 1, 2).toordinal():
        raise PayloadError(
            f"Expected `from_date` at least {back} days after 0001-01-01 for this report, "
            f"got {spec.from_date}"
        )


def _check(spec: InsightsSpec) -> None:
    if not 1 <= len(spec.metrics) <= MAX_METRICS:
        raise PayloadError(f"Expected 1 to {MAX_METRICS} metrics, got {len(spec.metrics)}")
    for i, metric in enumerate(spec.metrics):
        if metric.measure in PROPERTY_MEASURES and metric.value_expression() is None:
            raise PayloadError(
                f"Expected `property` or `value` on metrics[{i}] for measure {metric.measure!r}"
            )
    if spec.segment_offset < 0:
        raise PayloadError(f"Expected `segment_offset` of at least 0, got {spec.segment_offset}")
    # Room for WAU/MAU look-back and the previous period before, a day's time zone after.
    if spec.from_date < date(1, 3, 1):
        raise PayloadError(f"Expected `from_date` on or after 0001-03-01, got {spec.from_date}")
    if spec.to_date > date(9999, 12, 1):
        raise PayloadError(f"Expected `to_date` on or before 9999-12-01, got {spec.to_date}")
    if not 1 <= spec.limit <= 10_000:
        raise PayloadError(f"Expected `limit` between 1 and 10000, got {spec.limit}")
    if spec.rolling is not None and spec.rolling < 1:
        raise PayloadError(f"Expected `rolling` of at least 1 bucket, got {spec.rolling}")
    for i, breakdown in enumerate(spec.breakdowns):
        if (breakdown.property is None) == (breakdown.expression is None):
            raise PayloadError(
                f"Expected exactly one of `property` or `expression` in breakdowns[{i}]"
            )


def _run(
    reader: EventReader, project: Project, spec: InsightsSpec, first: date, last: date, tz: Any
) -> dict[str, Any]:
    grid = buckets(first, last, spec.unit, tz)
    compiled = _compile(spec)
    lookback = max((LOOKBACK_DAYS.get(m.measure, 0) for m in spec.metrics), default=0)
    scan_first = first - timedelta(days=lookback)
    scan_start, scan_end = day_range(scan_first, last, tz)
    day_grid = buckets(scan_first, last, "day", tz)
    columns_of = property_columns(reader, project)
    columns = {"user_hash", "time", "event"}
    for name in _properties(spec, compiled):
        columns.update(columns_of.get(name, []))
    scans = reader.scan(project, sorted(columns), (scan_start, scan_end), group=spec.group)
    context = ReportContext(reader, project, spec.group)
    views = [ShardView(s, columns_of, reader.cache, context) for s in scans]
    spec = _resolve_auto_buckets(spec, compiled, views)
    shards = list(POOL.map(lambda v: _prepare(v, spec, compiled, grid, day_grid), views))
    names = [m.name or chr(ord("A") + i) for i, m in enumerate(spec.metrics)]
    if spec.breakdowns:
        segment_labels, n_segments, shown_count = _recode_segments(
            reader, scans, spec, shards, _rows_only(compiled)
        )
    else:
        segment_labels, n_segments, shown_count = [[""]], 1, 1  # every row is segment 0
    width = len(segment_labels)
    series = []
    offset_days = (first - scan_first).days
    for m, (metric, name) in enumerate(zip(spec.metrics, names, strict=True)):
        values, totals = measures.measure(
            metric, spec, shards, m, width, len(grid), offset_days, day_grid, grid
        )
        for s, segment in enumerate(segment_labels):
            series.append(
                {
                    "metric": name,
                    "segment": segment,
                    "values": values[s].tolist(),
                    "total": totals[s],
                }
            )
    series += _formulas(spec, names, series, segment_labels)
    return {
        "buckets": list(grid.labels),
        "unit": spec.unit,
        "timezone": str(tz),
        "segments": {"total": n_segments, "offset": spec.segment_offset, "shown": shown_count},
        "series": [_clean(s) for s in series],
    }


def _resolve_auto_buckets(
    spec: InsightsSpec, compiled: _Compiled, views: list[ShardView]
) -> InsightsSpec:
    """``"auto"`` numeric buckets become one set of edges for the whole report, from the
    smallest and largest value over every shard."""
    if not any(b.buckets == "auto" for b in spec.breakdowns):
        return spec
    breakdowns = list(spec.breakdowns)
    for i, breakdown in enumerate(breakdowns):
        if breakdown.buckets != "auto":
            continue
        bounds: list[float] = []
        for view in views:
            valid, numbers = numbers_of(compiled.breakdowns[i].evaluate(view, view.rows))
            if valid.any():
                bounds += [float(numbers[valid].min()), float(numbers[valid].max())]
        edges = auto_edges(np.asarray(bounds, np.float64))
        breakdowns[i] = msgspec.structs.replace(breakdown, buckets=edges)
    return msgspec.structs.replace(spec, breakdowns=breakdowns)


def _recode_segments(
    reader: EventReader,
    scans: list[Any],
    spec: InsightsSpec,
    shards: list[PreparedShard],
    cacheable: bool,
) -> tuple[list[list[str]], int, int]:
    """Give the rows of the shown segments codes 0..N-1 and all other segments' rows the code
    N (``$other``). Shards rank their local segments; the ranks add up under the global
    labels, so each row is recoded once, in one table lookup. Returns the labels, how many
    segments have data, and how many are shown."""
    remaps, labels = _unified(reader, scans, spec, shards, cacheable)
    shown, n_segments = _choose_segments(spec, shards, remaps, labels)
    segment_labels = [_split(labels[int(i)].as_py()) for i in shown]
    if n_segments > len(shown):
        segment_labels.append([OTHER])
    recode = np.full(len(labels), len(shown), np.int32)
    recode[shown] = np.arange(len(shown), dtype=np.int32)
    for shard, remap in zip(shards, remaps, strict=True):
        # Index -1 (a row without a segment) reads the appended -1.
        lookup = np.append(recode[remap], np.int32(-1)).astype(np.int32)
        shard.segments = LocalSegments(lookup[shard.segments.codes], labels)
    return segment_labels, n_segments, len(shown)


def _unified(
    reader: EventReader,
    scans: list[Any],
    spec: InsightsSpec,
    shards: list[PreparedShard],
    cacheable: bool,
) -> Any:
    """Global segment codes; kept across queries while every shard's rows stay the same
    (and the segments depend on nothing else)."""
    keys = [s.key for s in scans]
    if not cacheable or any(k is None for k in keys):
        return unify([s.segments.labels for s in shards])
    key = ("unify", tuple(keys), _breakdown_key(spec))
    found = reader.cache.get(key)
    if found is None:
        found = unify([s.segments.labels for s in shards])
        reader.cache.put(key, found, sum(r.nbytes for r in found[0]) + found[1].nbytes)
    return found


def _compile(spec: InsightsSpec) -> _Compiled:
    breakdowns = [
        compile_expression(
            b.expression if b.expression is not None else _property_expression(b.property or "")
        )
        for b in spec.breakdowns
    ]
    return _Compiled(
        compile_expression(spec.where) if spec.where else None,
        [compile_expression(m.where) if m.where else None for m in spec.metrics],
        [_maybe(m.value_expression()) for m in spec.metrics],
        breakdowns,
    )


def _maybe(text: str | None) -> Compiled | None:
    return compile_expression(text) if text is not None else None


def _property_expression(name: str) -> str:
    return Metric(property=name).value_expression() or ""


def _properties(spec: InsightsSpec, compiled: _Compiled) -> set[str]:
    names: set[str] = set()
    for expression in [
        compiled.where,
        *compiled.metric_where,
        *compiled.metric_values,
        *compiled.breakdowns,
    ]:
        if expression is not None:
            names |= set(expression.properties)
    return names


def _prepare(
    view: ShardView, spec: InsightsSpec, compiled: _Compiled, grid: Buckets, day_grid: Buckets
) -> PreparedShard:
    rows = view.rows
    base = np.ones(rows, bool) if compiled.where is None else compiled.where.filter_mask(view, rows)
    bucket_of_row = _bucket_index(view, grid)
    daily = any(m.measure in ("dau", "wau", "mau") for m in spec.metrics)
    day_of_row = _bucket_index(view, day_grid) if daily else bucket_of_row
    event_names = view.event_names
    metric_buckets = []
    metric_values: list[Any] = []
    for metric, where, value in zip(
        spec.metrics, compiled.metric_where, compiled.metric_values, strict=True
    ):
        mask = base & _cached_event_mask(view, event_names, metric)
        if where is not None:
            mask &= where.filter_mask(view, rows)
        in_range = day_of_row if metric.measure in ("dau", "wau", "mau") else bucket_of_row
        metric_buckets.append(np.where(mask, in_range, -1).astype(np.int32))
        metric_values.append(measures.values_of(metric, value, view))
    if _rows_only(compiled):
        segments = view.cached(
            ("segments", _breakdown_key(spec)),
            lambda: _segments(view, spec, compiled),
            _segments_bytes,
        )
    else:
        segments = _segments(view, spec, compiled)
    return PreparedShard(view, view.users, day_of_row, metric_buckets, metric_values, segments)


def _bucket_index(view: ShardView, grid: Buckets) -> npt.NDArray[np.int32]:
    return view.cached(
        ("buckets", grid.edges.tobytes()), lambda: grid.index(view.times), lambda a: int(a.nbytes)
    )


def _segments(view: ShardView, spec: InsightsSpec, compiled: _Compiled) -> LocalSegments:
    if (
        len(spec.breakdowns) == 1
        and spec.breakdowns[0].property
        and spec.breakdowns[0].buckets is None
    ):
        column = view.string_column(spec.breakdowns[0].property)
        if column is not None:
            return string_segments(column)
    vectors = [b.evaluate(view, view.rows) for b in compiled.breakdowns]
    return local_segments(vectors, spec.breakdowns, view.rows)


def _rows_only(compiled: _Compiled) -> bool:
    """Whether the breakdowns read only the rows: segments from profiles or cohorts would go
    stale in a cache keyed by the rows, since those change while the rows do not."""
    return not any(b.user_properties or b.cohorts for b in compiled.breakdowns)


def _breakdown_key(spec: InsightsSpec) -> tuple[Any, ...]:
    return tuple((b.property, b.expression, str(b.buckets)) for b in spec.breakdowns)


def _segments_bytes(segments: LocalSegments) -> int:
    return int(segments.codes.nbytes + segments.labels.nbytes)


def _cached_event_mask(view: ShardView, event_names: Any, metric: Metric) -> npt.NDArray[np.bool_]:
    def make() -> npt.NDArray[np.bool_]:
        return _event_mask(event_names, metric, view.rows)

    return view.cached(("events", str(metric.events())), make, lambda a: int(a.nbytes))


def _event_mask(event_names: Any, metric: Metric, rows: int) -> npt.NDArray[np.bool_]:
    wanted = metric.events()
    if wanted is None:
        return np.ones(rows, bool)
    dictionary = event_names.dictionary.to_pylist()
    hit = np.array([name in wanted for name in dictionary], bool)
    indices = event_names.indices.to_numpy(zero_copy_only=False)
    return hit[indices] if len(dictionary) else np.zeros(rows, bool)


def _choose_segments(
    spec: InsightsSpec,
    shards: list[PreparedShard],
    remaps: list[npt.NDArray[np.int32]],
    labels: pa.Array,
) -> tuple[npt.NDArray[np.int64], int]:
    """The segments to show and how many have data in some metric: ranked on the first
    metric over the whole range, ties (and segments only later metrics have) in label order."""
    n_labels = len(labels)

    def local_ranks(shard: PreparedShard) -> list[npt.NDArray[np.float64]]:
        local = len(shard.segments.labels)
        return [measures.rank(metric, [shard], local, m) for m, metric in enumerate(spec.metrics)]

    ranking = np.zeros(n_labels)
    presence = np.zeros(n_labels)
    for ranks, remap in zip(POOL.map(local_ranks, shards), remaps, strict=True):
        ranking += np.bincount(remap, weights=ranks[0], minlength=n_labels)
        for counted in ranks[1:]:
            presence += np.bincount(remap, weights=counted, minlength=n_labels)
    presence += ranking
    present = np.flatnonzero(presence > 0)
    wanted = spec.segment_offset + spec.limit
    if len(present) > 4 * wanted:
        # Only the segments that can make the page are sorted: the top ranks, ties included.
        threshold = np.partition(ranking[present], len(present) - wanted)[len(present) - wanted]
        candidates = present[ranking[present] >= threshold]
    else:
        candidates = present
    table = pa.table({"rank": ranking[candidates], "label": labels.take(pa.array(candidates))})
    order = pc.sort_indices(table, sort_keys=[("rank", "descending"), ("label", "ascending")])
    ranked = candidates[np.asarray(order.to_numpy(zero_copy_only=False), np.int64)]
    return ranked[spec.segment_offset : wanted], len(present)


def _split(label: str) -> list[str]:
    return label.split(SEPARATOR)


def _formulas(
    spec: InsightsSpec, names: list[str], series: list[dict[str, Any]], segments: list[list[str]]
) -> list[dict[str, Any]]:
    """Formulas name metrics by letter in order (A is the first), whatever their names."""
    letters = {name: chr(ord("A") + i) for i, name in enumerate(names)}
    out = []
    for formula in spec.formulas:
        node = compile_formula(formula.expression, set(letters.values()))
        for segment in segments:
            mine = [s for s in series if s["segment"] == segment and s["metric"] in letters]
            env = {
                letters[s["metric"]]: np.asarray(_numbers(s["values"]), np.float64) for s in mine
            }
            totals = {
                letters[s["metric"]]: np.asarray([_number(s["total"])], np.float64) for s in mine
            }
            values = node(env)
            total = float(node(totals)[0])
            out.append(
                {
                    "metric": formula.name,
                    "segment": segment,
                    "values": values.tolist(),
                    "total": total,
                }
            )
    return out


def _number(value: Any) -> float:
    """A value a formula can use: numbers as they are, anything else (none, a distribution)
    as NaN, which the answer shows as null."""
    return float(value) if isinstance(value, int | float) else math.nan


def _numbers(values: list[Any]) -> list[float]:
    return [_number(v) for v in values]


def _clean(series: dict[str, Any]) -> dict[str, Any]:
    """NaN (no value: an average of nothing, a division by zero) becomes null."""
    series["values"] = [None if _missing(v) else v for v in series["values"]]
    series["total"] = None if _missing(series["total"]) else series["total"]
    return series


def _missing(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
