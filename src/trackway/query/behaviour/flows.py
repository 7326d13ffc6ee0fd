"""Flows: the paths users take after (or before) an anchor event, as Sankey nodes and links
with an exact ``$other`` per step (docs/behaviour.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.query.behaviour.flow_kernel import NONE, flow_paths
from trackway.query.behaviour.result import FlowLink, FlowNode, FlowSegment, FlowsResult, Sankey
from trackway.query.behaviour.spec import MAX_FLOW_STEPS, FlowsSpec, Length
from trackway.query.behaviour.steps import name_rank_table
from trackway.query.breakdowns import OTHER, SEPARATOR, unify
from trackway.query.context import ReportContext
from trackway.query.errors import SpecError
from trackway.query.expr import Compiled
from trackway.query.frame import (
    compile_breakdowns,
    event_codes,
    event_mask,
    match_mask,
    maybe_compile,
    other_recode,
    parallel,
    resolve_auto_buckets,
    scan_views,
    shard_segments,
    top_segments,
)
from trackway.query.shard_view import ShardView
from trackway.query.timebuckets import day_range, zone
from trackway.types import I32, I64

END = "$end"
MAX_WINDOW = Length(366, "day")


@dataclass(frozen=True, slots=True)
class _Paths:
    names: pa.Array  # the shard's event names, by code
    anchors: I64
    paths: I32  # per path, the event-name code per step; NONE past the end
    segments: I32 | None  # per path, the local segment code
    segment_labels: pa.Array | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    where: Compiled | None
    anchor: Compiled | None
    end: Compiled | None
    breakdowns: list[Compiled]


def run_flows(context: ReportContext, spec: FlowsSpec) -> FlowsResult:
    compiled = plan(spec)
    tz = zone(spec.timezone or context.project.timezone)
    where, anchor_where, end_where = compiled.where, compiled.anchor, compiled.end
    breakdowns = [spec.breakdown] if spec.breakdown else []
    segment_expressions = compiled.breakdowns
    start, end = day_range(spec.from_date, spec.to_date, tz)
    window = spec.window.ms()
    time_range = (start - window, end) if spec.direction == "before" else (start, end + window + 1)
    views = scan_views(
        context,
        [where, anchor_where, end_where, *segment_expressions],
        time_range,
        properties=[b.property for b in breakdowns if b.property],
    )
    breakdowns = resolve_auto_buckets(breakdowns, segment_expressions, views)

    def one(view: ShardView) -> _Paths:
        base = where.filter_mask(view, view.rows) if where is not None else None
        users, times = view.users, view.times
        anchor = event_mask(view, spec.anchor.events())
        if base is not None or anchor_where is not None:
            anchor = match_mask(view, spec.anchor.events(), anchor_where, _all(base, view))
        anchors = np.flatnonzero(anchor)
        anchor_times = times[anchors]
        anchors = anchors[(anchor_times >= start) & (anchor_times < end)]
        names = view.event_names.dictionary.cast(pa.string())
        hidden = np.isin(np.asarray(names.to_pylist(), dtype=object), list(spec.hide))
        kept, paths = flow_paths(
            users,
            times,
            event_codes(view),
            name_rank_table(view),
            base if base is not None else np.zeros(0, bool),
            anchors,
            match_mask(view, spec.end.events(), end_where, _all(base, view))
            if spec.end
            else np.zeros(0, bool),
            np.asarray(hidden, bool),
            window,
            spec.steps,
            spec.direction == "before",
            spec.counting == "totals",
            spec.collapse_repeats,
            spec.end is not None,
        )
        if not breakdowns:
            return _Paths(names, kept, paths, None, None)
        local = shard_segments(view, breakdowns, segment_expressions)
        return _Paths(names, kept, paths, local.codes[kept], local.labels)

    shards: list[_Paths] = parallel(one, views)
    remaps, names = unify([s.names for s in shards])
    paths = np.concatenate(
        [
            np.where(s.paths >= 0, r[np.maximum(s.paths, 0)], NONE)
            for s, r in zip(shards, remaps, strict=True)
        ]
        or [np.zeros((0, spec.steps), np.int32)]
    )
    labels = [*names.to_pylist(), END]
    sankey = _sankey(spec, paths, labels)
    return FlowsResult(
        direction=spec.direction,
        total=sankey.total,
        nodes=sankey.nodes,
        links=sankey.links,
        segments=_segments(spec, shards, paths, labels) if breakdowns else None,
    )


def plan(spec: FlowsSpec) -> _Compiled:
    """The spec checked and its expressions compiled: all a run needs before it scans."""
    _check(spec)
    return _Compiled(
        maybe_compile(spec.where, "$.where"),
        maybe_compile(spec.anchor.where, "$.anchor.where"),
        maybe_compile(spec.end.where, "$.end.where") if spec.end else None,
        compile_breakdowns([spec.breakdown] if spec.breakdown else [], "$.breakdown"),
    )


def _all(base: npt.NDArray[np.bool_] | None, view: ShardView) -> npt.NDArray[np.bool_]:
    return base if base is not None else np.ones(view.rows, bool)


def _check(spec: FlowsSpec) -> None:
    if not 1 <= spec.steps <= MAX_FLOW_STEPS:
        raise SpecError(
            f"Expected `steps` between 1 and {MAX_FLOW_STEPS}, got {spec.steps}", "$.steps"
        )
    if spec.from_date > spec.to_date:
        raise SpecError(f"Expected `from_date` <= `to_date`, got {spec.from_date}", "$.to_date")
    if spec.from_date < date(1, 12, 1) or spec.to_date > date(9998, 12, 1):
        raise SpecError("Expected dates between 0001-12-01 and 9998-12-01", "$.from_date")
    if spec.end is not None and spec.direction == "before":
        raise SpecError('Expected no `end` with `direction` "before"', "$.end")
    if not 1 <= spec.window.ms() <= MAX_WINDOW.ms():
        raise SpecError(
            f"Expected `window` between 1 ms and 366 days, got {spec.window}", "$.window"
        )
    if not 1 <= spec.top <= 1000:
        raise SpecError(f"Expected `top` between 1 and 1000, got {spec.top}", "$.top")
    if not 1 <= spec.limit <= 1000:
        raise SpecError(f"Expected `limit` between 1 and 1000, got {spec.limit}", "$.limit")


def _sankey(spec: FlowsSpec, paths: I32, labels: list[str]) -> Sankey:
    """Nodes and links of these paths: the top names per step, the rest as ``$other``."""
    end_code = len(labels) - 1
    other = len(labels)
    names = [*labels, OTHER]
    sign = -1 if spec.direction == "before" else 1
    total = len(paths)
    nodes = [FlowNode(0, spec.anchor.label(), total)]
    links = []
    previous = np.full(total, -3, np.int64)  # the anchor
    alive = np.ones(total, bool)
    for i in range(spec.steps):
        column = paths[:, i].astype(np.int64)
        shown = np.where(column == NONE, end_code, column)
        shown[~alive] = -1
        counts = np.bincount(shown[shown >= 0], minlength=len(labels))
        named = np.flatnonzero(counts[:end_code] > 0)
        ranked = sorted(named.tolist(), key=lambda c: (-counts[c], labels[c]))
        hidden = np.ones(len(labels), bool)
        hidden[ranked[: spec.top]] = False
        hidden[end_code] = False
        grouped = np.where((shown >= 0) & hidden[np.maximum(shown, 0)], other, shown)
        grouped_counts = np.bincount(grouped[grouped >= 0], minlength=len(names))
        for code in [*ranked[: spec.top], other, end_code]:
            count = int(grouped_counts[code])
            if count:
                nodes.append(FlowNode(sign * (i + 1), names[code], count))
        # Links as one code per (source, target); -3 (the anchor) shifts to 0.
        width = len(names) + 3
        pair_codes = (previous[alive] + 3) * width + grouped[alive] + 3
        pair_counts = np.bincount(pair_codes, minlength=0)
        for pair in np.flatnonzero(pair_counts).tolist():
            source, target = divmod(pair, width)
            links.append(
                FlowLink(
                    step=sign * i,
                    source=spec.anchor.label() if source == 0 else names[source - 3],
                    target=names[target - 3],
                    count=int(pair_counts[pair]),
                )
            )
        previous = grouped
        alive = alive & (column != NONE)
    return Sankey(total, nodes, links)


def _segments(
    spec: FlowsSpec, shards: list[_Paths], paths: I32, labels: list[str]
) -> list[FlowSegment]:
    """A Sankey per shown segment of the anchor event, then one of every other path."""
    remaps, segment_labels = unify(
        [s.segment_labels for s in shards if s.segment_labels is not None]
    )
    code = np.concatenate(
        [
            np.where(s.segments >= 0, r[np.maximum(s.segments, 0)], -1)
            for s, r in zip(shards, remaps, strict=True)
            if s.segments is not None
        ]
        or [np.zeros(0, np.int32)]
    ).astype(np.int64)
    counts = np.bincount(code[code >= 0], minlength=len(segment_labels))
    shown, _ = top_segments(segment_labels, counts, spec.limit)
    # Paths without a segment (-1 reads the appended code) go to `$other` with those not shown.
    place = np.append(other_recode(len(segment_labels), shown), len(shown))[code]
    names = [segment_labels[int(g)].as_py().split(SEPARATOR) for g in shown]
    out = []
    for i, segment in enumerate([*names, [OTHER]]):
        rows = place == i
        if i == len(shown) and not rows.any():
            break
        sankey = _sankey(spec, paths[rows], labels)
        out.append(FlowSegment(segment, sankey.total, sankey.nodes, sankey.links))
    return out
