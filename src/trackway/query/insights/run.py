"""Insights (Mixpanel's segmentation and trends): metrics over time buckets and segments.

Plan: compile every expression, work out the time range (widened for rolling windows),
scan once (``frame.scan_views``). Per shard, on threads: the global filter, each metric's
event and filter masks, each row's bucket and segment (``shards.prepare``). Segments are
unified across shards; when there are more than ``limit``, they are ranked on the first
metric over the whole range and all but the shown ones are recoded as one ``$other``
segment before measuring, so ``$other`` is exact for every measure (unique users included)
and the segments add up to the total of any additive measure. Measures then come from
compiled kernels per shard and merge by addition, except exact percentiles and distinct
counts, which merge the shards' values.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import numpy as np

from trackway.query.breakdowns import OTHER, SEPARATOR, LocalSegments
from trackway.query.context import ReportContext
from trackway.query.errors import SpecError
from trackway.query.frame import (
    breakdown_key,
    compile_breakdowns,
    maybe_compile,
    other_recode,
    parallel,
    reads_rows_only,
    resolve_auto_buckets,
    scan_views,
    top_segments,
    unify_segments,
)
from trackway.query.insights import measures
from trackway.query.insights.formula import compile_formula
from trackway.query.insights.result import InsightsResult, PreviousPeriod, SegmentCounts, Series
from trackway.query.insights.shards import CompiledInsights, PreparedShard, prepare
from trackway.query.insights.spec import PROPERTY_MEASURES, InsightsSpec, Metric
from trackway.query.timebuckets import buckets, day_range, zone
from trackway.types import F64

MAX_METRICS = 26
MAX_LIMIT = 10_000
LOOKBACK_DAYS = {"wau": 6, "mau": 29}
_ADDITIVE = frozenset({"total", "unique", "sum"})


def run_insights(context: ReportContext, spec: InsightsSpec) -> InsightsResult:
    compiled = plan(spec)
    tz = zone(spec.timezone or context.project.timezone)
    result = _run(context, spec, compiled, spec.from_date, spec.to_date, tz)
    if spec.compare != "previous_period":
        return result
    length = (spec.to_date - spec.from_date).days + 1
    first = spec.from_date - timedelta(days=length)
    previous = _run(context, spec, compiled, first, spec.from_date - timedelta(days=1), tz)
    return msgspec.structs.replace(
        result, previous=PreviousPeriod(previous.buckets, previous.series)
    )


def check(spec: InsightsSpec) -> None:
    """Refuse, before any scan, what the engine cannot run."""
    if not 1 <= len(spec.metrics) <= MAX_METRICS:
        raise SpecError(
            f"Expected 1 to {MAX_METRICS} metrics, got {len(spec.metrics)}", "$.metrics"
        )
    for i, metric in enumerate(spec.metrics):
        if metric.measure in PROPERTY_MEASURES and metric.value_expression() is None:
            raise SpecError(
                f"Expected `property` or `value` on metrics[{i}] for measure {metric.measure!r}",
                f"$.metrics[{i}]",
            )
        if (spec.cumulative or spec.rolling) and metric.measure not in _ADDITIVE:
            raise SpecError(
                "Expected `cumulative` and `rolling` only with measures total, unique or sum,"
                f" got {metric.measure!r}",
                f"$.metrics[{i}].measure",
            )
    if spec.segment_offset < 0:
        raise SpecError(
            f"Expected `segment_offset` of at least 0, got {spec.segment_offset}",
            "$.segment_offset",
        )
    if spec.to_date < spec.from_date:
        raise SpecError(
            f"Expected `to_date` on or after `from_date`, got {spec.to_date} before "
            f"{spec.from_date}",
            "$.to_date",
        )
    # Room for WAU/MAU look-back and the previous period before, a day's time zone after.
    if spec.from_date < date(1, 3, 1):
        raise SpecError(
            f"Expected `from_date` on or after 0001-03-01, got {spec.from_date}", "$.from_date"
        )
    if spec.to_date > date(9999, 12, 1):
        raise SpecError(
            f"Expected `to_date` on or before 9999-12-01, got {spec.to_date}", "$.to_date"
        )
    if not 1 <= spec.limit <= MAX_LIMIT:
        raise SpecError(f"Expected `limit` between 1 and {MAX_LIMIT}, got {spec.limit}", "$.limit")
    if spec.rolling is not None and spec.rolling < 1:
        raise SpecError(f"Expected `rolling` of at least 1 bucket, got {spec.rolling}", "$.rolling")
    _check_reach(spec)


def _check_reach(spec: InsightsSpec) -> None:
    """The earliest day the report reads (previous period, WAU/MAU look-back) must exist."""
    back = max((LOOKBACK_DAYS.get(m.measure, 0) for m in spec.metrics), default=0) + 1
    if spec.compare == "previous_period":
        back += (spec.to_date - spec.from_date).days + 1
    if spec.from_date.toordinal() - back < date(1, 1, 2).toordinal():
        raise SpecError(
            f"Expected `from_date` at least {back} days after 0001-01-01 for this report, "
            f"got {spec.from_date}",
            "$.from_date",
        )


def plan(spec: InsightsSpec) -> CompiledInsights:
    """The spec checked and every expression compiled (formulas too): all a run needs
    before it scans."""
    check(spec)
    compiled = CompiledInsights(
        maybe_compile(spec.where, "$.where"),
        [maybe_compile(m.where, f"$.metrics[{i}].where") for i, m in enumerate(spec.metrics)],
        [
            maybe_compile(m.value_expression(), f"$.metrics[{i}].{_value_field(m)}")
            for i, m in enumerate(spec.metrics)
        ],
        compile_breakdowns(spec.breakdowns, "$.breakdowns"),
    )
    letters = {chr(ord("A") + i) for i in range(len(spec.metrics))}
    for formula in spec.formulas:
        compile_formula(formula.expression, letters)
    return compiled


def _value_field(metric: Metric) -> str:
    return "value" if metric.value is not None else "property"


def _run(
    context: ReportContext,
    spec: InsightsSpec,
    compiled: CompiledInsights,
    first: date,
    last: date,
    tz: ZoneInfo,
) -> InsightsResult:
    grid = buckets(first, last, spec.unit, tz)
    lookback = max((LOOKBACK_DAYS.get(m.measure, 0) for m in spec.metrics), default=0)
    scan_first = first - timedelta(days=lookback)
    day_grid = buckets(scan_first, last, "day", tz)
    views = scan_views(context, compiled.all(), day_range(scan_first, last, tz))
    breakdowns = resolve_auto_buckets(spec.breakdowns, compiled.breakdowns, views)
    shards = parallel(lambda v: prepare(v, spec, breakdowns, compiled, grid, day_grid), views)
    names = [m.name or chr(ord("A") + i) for i, m in enumerate(spec.metrics)]
    offset_days = (first - scan_first).days
    if breakdowns:
        key = breakdown_key(breakdowns) if reads_rows_only(compiled.breakdowns) else None
        segment_labels, n_segments, shown_count = _recode_segments(
            context, spec, shards, key, offset_days
        )
    else:
        segment_labels, n_segments, shown_count = [[""]], 1, 1  # every row is segment 0
    width = len(segment_labels)
    series = []
    for m, (metric, name) in enumerate(zip(spec.metrics, names, strict=True)):
        values, totals = measures.measure(
            metric, spec, shards, m, width, len(grid), offset_days, day_grid, grid
        )
        for s, segment in enumerate(segment_labels):
            series.append(Series(name, segment, values[s].tolist(), totals[s]))
    series += _formulas(spec, names, series, segment_labels)
    return InsightsResult(
        buckets=list(grid.labels),
        unit=spec.unit,
        timezone=str(tz),
        segments=SegmentCounts(n_segments, spec.segment_offset, shown_count),
        series=[_clean(s) for s in series],
    )


def _recode_segments(
    context: ReportContext,
    spec: InsightsSpec,
    shards: list[PreparedShard],
    key: Any,
    offset_days: int,
) -> tuple[list[list[str]], int, int]:
    """Give the rows of the shown segments codes 0..N-1 and all other segments' rows the code
    N (``$other``). Shards rank their local segments; the ranks add up under the global
    labels, so each row is recoded once, in one table lookup. Returns the labels, how many
    segments have data, and how many are shown."""
    views = [shard.view for shard in shards]
    remaps, labels = unify_segments(context, views, [s.segments for s in shards], key)
    ranking, present = _ranks(spec, shards, remaps, len(labels), offset_days)
    shown, n_segments = top_segments(labels, ranking, spec.limit, spec.segment_offset, present)
    segment_labels = [labels[int(i)].as_py().split(SEPARATOR) for i in shown]
    if n_segments > len(shown):
        segment_labels.append([OTHER])
    recode = other_recode(len(labels), shown)
    for shard, remap in zip(shards, remaps, strict=True):
        # Index -1 (a row without a segment) reads the appended -1.
        lookup = np.append(recode[remap], np.int32(-1)).astype(np.int32)
        shard.segments = LocalSegments(lookup[shard.segments.codes], labels)
    return segment_labels, n_segments, len(shown)


def _ranks(
    spec: InsightsSpec,
    shards: list[PreparedShard],
    remaps: list[Any],
    n_labels: int,
    offset_days: int,
) -> tuple[F64, Any]:
    """Per global segment, its rank (the first metric over the whole range) and whether any
    metric has data in it: ties, and segments only later metrics have, go in label order."""

    def local_ranks(shard: PreparedShard) -> list[F64]:
        local = len(shard.segments.labels)
        return [
            measures.rank(metric, [shard], local, m, offset_days)
            for m, metric in enumerate(spec.metrics)
        ]

    ranking = np.zeros(n_labels)
    presence = np.zeros(n_labels)
    for ranks, remap in zip(parallel(local_ranks, shards), remaps, strict=True):
        ranking += np.bincount(remap, weights=ranks[0], minlength=n_labels)
        for counted in ranks[1:]:
            presence += np.bincount(remap, weights=counted, minlength=n_labels)
    return ranking, (presence + ranking) > 0


def _formulas(
    spec: InsightsSpec, names: list[str], series: list[Series], segments: list[list[str]]
) -> list[Series]:
    """Formulas name metrics by letter in order (A is the first), whatever their names."""
    letters = {name: chr(ord("A") + i) for i, name in enumerate(names)}
    out = []
    for formula in spec.formulas:
        node = compile_formula(formula.expression, set(letters.values()))
        for segment in segments:
            mine = [s for s in series if s.segment == segment and s.metric in letters]
            env = {letters[s.metric]: np.asarray(_numbers(s.values), np.float64) for s in mine}
            totals = {letters[s.metric]: np.asarray([_number(s.total)], np.float64) for s in mine}
            values = node(env)
            out.append(Series(formula.name, segment, values.tolist(), float(node(totals)[0])))
    return out


def _number(value: Any) -> float:
    """A value a formula can use: numbers as they are, anything else (none, a distribution)
    as NaN, which the answer shows as null."""
    return float(value) if isinstance(value, int | float) else math.nan


def _numbers(values: list[Any]) -> list[float]:
    return [_number(v) for v in values]


def _clean(series: Series) -> Series:
    """NaN (no value: an average of nothing, a division by zero) becomes null."""
    values = [None if _missing(v) else v for v in series.values]
    total = None if _missing(series.total) else series.total
    return msgspec.structs.replace(series, values=values, total=total)


def _missing(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
