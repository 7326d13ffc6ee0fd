"""How the reports print as text tables: one renderer per kind of typed result, and the
table layout they share (numbers right-aligned, names and dates left-aligned)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from trackway.query.behaviour.result import (
    FlowSegment,
    FlowsResult,
    FrequencyResult,
    FunnelResult,
    LifecycleResult,
    RetentionResult,
)
from trackway.query.insights.result import InsightsResult

# Cells printed right-aligned: counts, ratios, durations, and "-" or "" for nothing.
_NUMERIC = re.compile(r"-?[\d.,]*[%smhd]?|-")


def render_insights(result: InsightsResult) -> str:
    """Buckets down, one column per series (metric and segment), totals last."""
    series = result.series
    headers = ["bucket"] + [" / ".join(filter(None, [s.metric, *s.segment])) for s in series]
    rows = [
        [bucket] + [_insights_cell(s.values[i]) for s in series]
        for i, bucket in enumerate(result.buckets)
    ]
    rows.append(["total"] + [_insights_cell(s.total) for s in series])
    widths = [max(len(str(row[c])) for row in [headers, *rows]) for c in range(len(headers))]
    lines = [
        "  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def _insights_cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if not value.is_integer() else str(int(value))
    if isinstance(value, dict):
        return " ".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


def render_funnel(result: FunnelResult) -> str:
    headers = ["step", "label", "count", "step conv", "overall", "avg time", "median time"]
    rows = []
    for step in result.steps:
        time = step.time_to_convert
        rows.append(
            [
                step.step,
                step.label,
                step.count,
                _percent(step.step_conversion),
                _percent(step.overall_conversion),
                _duration(None if time is None else time.avg_ms),
                _duration(None if time is None else time.median_ms),
            ]
        )
    parts = [table(headers, rows)] if result.steps else []
    numbers = [f"step {s.step}" for s in result.steps]
    if result.periods:
        numbers = [f"step {k + 1}" for k in range(len(result.periods[0].steps))]
        by_period = [[p.period, *(s.count for s in p.steps)] for p in result.periods]
        parts.append(table(["period", *numbers], by_period))
    if result.segments is not None:
        segment_rows = [[" / ".join(r.segment), *r.counts] for r in result.segments.rows]
        parts.append(table(["segment", *numbers], segment_rows))
    if result.over_time is not None:
        over_time = result.over_time
        buckets = zip(over_time.buckets, over_time.counts, strict=True)
        parts.append(table([over_time.unit, *numbers], [[b, *c] for b, c in buckets]))
    if result.drop_offs is not None:
        drop = result.drop_offs
        shown = f"{drop.offset + 1}-{drop.offset + len(drop.users)}"
        parts.append(
            f"stopped at step {drop.step}: {drop.total} users (showing {shown})\n"
            + "\n".join(drop.users)
        )
    return "\n\n".join(parts)


def render_retention(result: RetentionResult) -> str:
    headers = ["cohort", "size", *result.periods]
    rows = [[c.cohort, c.size, *c.counts] for c in result.cohorts]
    rows.append(["total", result.total.size, *result.total.counts])
    parts = [table(headers, rows)]
    if result.total.values is not None:
        rows = [[c.cohort, *map(_number, c.values or [])] for c in result.cohorts]
        rows.append(["total", *map(_number, result.total.values)])
        parts.append(table(["values", *result.periods], rows))
    return "\n\n".join(parts)


def render_flows(result: FlowsResult) -> str:
    parts = [f"{result.total} paths ({result.direction} the anchor)"]
    parts += _flow_tables(result)
    for segment in result.segments or []:
        parts.append(f"segment {' / '.join(segment.segment)}: {segment.total} paths")
        parts += _flow_tables(segment)
    return "\n\n".join(parts)


def _flow_tables(result: FlowsResult | FlowSegment) -> list[str]:
    nodes = [[n.step, n.event, n.count] for n in result.nodes]
    links = [[k.step, k.source, k.target, k.count] for k in result.links]
    return [table(["step", "event", "count"], nodes), table(["step", "from", "to", "count"], links)]


def render_frequency(result: FrequencyResult) -> str:
    rows = result.at_least
    width = max((len(r) for r in rows), default=0)
    headers = [result.unit, *(f">={k}" for k in range(1, width + 1))]
    return table(
        headers,
        [[b, *r, *[""] * (width - len(r))] for b, r in zip(result.buckets, rows, strict=True)],
    )


def render_lifecycle(result: LifecycleResult) -> str:
    kinds = ("new", "returning", "resurrecting", "dormant")
    columns = [result.buckets, *(getattr(result, kind) for kind in kinds)]
    return table([result.unit, *kinds], [list(row) for row in zip(*columns, strict=True)])


# By report kind: how its result prints (a kind without one prints as JSON).
RENDERERS: dict[str, Callable[[Any], str]] = {
    "insights": render_insights,
    "funnels": render_funnel,
    "retention": render_retention,
    "flows": render_flows,
    "frequency": render_frequency,
    "lifecycle": render_lifecycle,
}


def table(headers: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """Columns two spaces apart: numbers right-aligned, names and dates left-aligned."""
    cells = [[str(h) for h in headers], *([_cell(v) for v in row] for row in rows)]
    widths = [max(len(row[c]) for row in cells) for c in range(len(headers))]
    numeric = [all(_NUMERIC.fullmatch(row[c]) for row in cells[1:]) for c in range(len(headers))]
    return "\n".join(
        "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(row, widths, numeric, strict=True)
        ).rstrip()
        for row in cells
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return _number(value)
    return str(value)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.1%}"


def _duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    seconds = ms / 1000
    for size, suffix in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds / size:.1f}{suffix}"
    return f"{seconds:.1f}s"
