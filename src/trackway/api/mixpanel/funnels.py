"""Mixpanel's ``/funnels`` and ``/funnels/list``: a saved funnel (``funnel_id``) or, trackway's
extension, ``steps``, a funnel of its own per date bucket, in Mixpanel's shape."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from trackway.api import params as p
from trackway.api.endpoints import Endpoint, Params, json, object_id
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.behaviour.funnel_merge import MAX_PERIODS
from trackway.query.behaviour.result import FunnelPeriod, FunnelResult, PeriodStep
from trackway.query.behaviour.spec import FunnelSpec, Length, StartPeriods, Step
from trackway.query.breakdowns import OTHER, Breakdown
from trackway.services import reports, saved
from trackway.services.context import Services

_LENGTH_UNITS = ("second", "minute", "hour", "day")
_PERIOD_UNITS = ("day", "week", "month")


def funnels(services: Services, project: Project, params: Params, _: Request) -> Response:
    """One funnel per date bucket: the attempts that start in the bucket (conversions may
    end after it), all buckets from one run of the funnel (``per_period``)."""
    start, end = p.dates(params)
    spec = _funnel(services, project, params, start, end)
    on = params.get("on") or None
    limit = p.integer(params, "limit", 255, 1, 10_000) or 255
    spec = msgspec.structs.replace(
        spec,
        breakdowns=[Breakdown(expression=on)] if on else [],
        limit=limit,
        unit=None,
        drop_offs=None,
        per_period=_buckets(params, start, end),
    )
    result: FunnelResult = reports.run(services, project, spec)
    assert result.periods is not None
    data = {
        period.period: _segmented(period, spec.steps) if on else _funnel_shape(period, spec.steps)
        for period in result.periods
    }
    return json({"meta": {"dates": list(data)}, "data": data})


def funnel_list(services: Services, project: Project, params: Params, _: Request) -> Response:
    return json([{"funnel_id": f.id, "name": f.name} for f in saved.funnels(services, project)])


def _funnel(
    services: Services, project: Project, params: Params, start: date, end: date
) -> FunnelSpec:
    """The funnel to run: a saved one (``funnel_id``) or ``steps``; ``length`` and ``where``
    apply on top of a saved funnel's own window and filter."""
    saved_id, steps = params.get("funnel_id"), params.get("steps")
    if (saved_id is None) == (steps is None):
        raise PayloadError("Expected exactly one of `funnel_id` or `steps` (a JSON array)")
    if saved_id is not None:
        found = saved.funnel(services, project, object_id(saved_id, "funnel"))
        spec = saved.funnel_spec(found, start, end)
    else:
        spec = FunnelSpec(from_date=start, to_date=end, steps=_steps(steps or ""))
    length = p.integer(params, "length", None, 1, 10**9)
    length_unit = p.choice(params, "length_unit", _LENGTH_UNITS, "day")
    if length is not None:
        spec = msgspec.structs.replace(spec, window=Length(length, length_unit))  # type: ignore[arg-type]
    elif "length_unit" in params:
        raise PayloadError("Expected `length` with `length_unit`")
    where = params.get("where") or None
    if where:
        combined = f"({spec.where}) and ({where})" if spec.where else where
        spec = msgspec.structs.replace(spec, where=combined)
    return spec


def _steps(raw: str) -> list[Step]:
    try:
        steps: list[Step] = msgspec.json.decode(raw, type=list[Step])
    except msgspec.ValidationError as exc:
        raise PayloadError(f"Invalid `steps`: {exc}") from None
    except msgspec.DecodeError:
        raise PayloadError(
            f'Expected `steps` as a JSON array like [{{"event": "Signup"}}, ...], got {raw[:100]!r}'
        ) from None
    return steps


def _buckets(params: Params, start: date, end: date) -> StartPeriods:
    """``interval`` days from ``from_date``, or calendar ``unit``s (weeks start on Monday)
    labelled by their first day; either cut to the range."""
    if params.get("interval") and params.get("unit"):
        raise PayloadError("Expected one of `interval` or `unit`, got both")
    if params.get("unit"):
        unit = p.choice(params, "unit", _PERIOD_UNITS, "day")
        buckets = StartPeriods(unit=unit)  # type: ignore[arg-type]
        if unit == "week":
            count = (end - start).days // 7 + (end.weekday() < start.weekday()) + 1
        elif unit == "month":
            count = (end.year - start.year) * 12 + end.month - start.month + 1
        else:
            count = (end - start).days + 1
    else:
        buckets = StartPeriods(every=p.integer(params, "interval", 1, 1, 36_500) or 1)
        count = -(-((end - start).days + 1) // buckets.every)
    if count > MAX_PERIODS:
        raise PayloadError(
            f"Expected at most {MAX_PERIODS} date buckets, got {count}; "
            "narrow the dates or use a larger `interval` or `unit`"
        )
    return buckets


def _funnel_shape(period: FunnelPeriod, steps: list[Step]) -> dict[str, Any]:
    return _mixpanel_funnel(period.steps, steps, timed=True)


def _segmented(period: FunnelPeriod, steps: list[Step]) -> dict[str, Any]:
    """Each shown segment's funnel; times to convert are not kept per segment (null)."""
    assert period.segments is not None
    return {
        str(row.segment[0]): _mixpanel_funnel(
            [PeriodStep(count, None, None) for count in row.counts], steps, timed=False
        )
        for row in period.segments.rows
        if row.segment != [OTHER]  # Mixpanel's legacy shapes list the top values only
    }


def _mixpanel_funnel(counted: list[PeriodStep], steps: list[Step], timed: bool) -> dict[str, Any]:
    counts = [s.count for s in counted]
    out = []
    ratios: list[float] = []
    for k, (found, step) in enumerate(zip(counted, steps, strict=True)):
        names = step.events()
        event = names[0] if names is not None and len(names) == 1 else step.label()
        ratios.append(_ratio(counts[k], counts[k - 1] if k else counts[k]))
        out.append(
            {
                "count": counts[k],
                "avg_time": _seconds(found.avg_ms) if timed else None,
                "avg_time_from_start": _seconds(found.avg_from_start_ms) if timed else None,
                "step_conv_ratio": ratios[k],
                "overall_conv_ratio": _ratio(counts[k], counts[0]),
                "goal": event,
                "event": event,
                "step_label": step.label(),
            }
        )
    return {
        "steps": out,
        "analysis": {
            "completion": counts[-1],
            "starting_amount": counts[0],
            "steps": len(counts),
            # The step (0-based) that kept the smallest share of the previous one.
            "worst": ratios.index(min(ratios[1:]), 1),
        },
    }


def _seconds(ms: float | None) -> int | None:
    return None if ms is None else round(ms / 1000)


def _ratio(count: int, of: int) -> float:
    return count / of if of else 0.0


_DATES = ("from_date", "to_date")
ROUTES = [
    Endpoint(
        "GET",
        "/funnels",
        funnels,
        "A funnel's steps per date: a saved funnel (`funnel_id`) or `steps` (a JSON array)",
        _DATES,
        ("funnel_id", "steps", "length", "length_unit", "interval", "unit", "on", "where", "limit"),
        strict=True,
    ),
    Endpoint("GET", "/funnels/list", funnel_list, "The saved funnels: id and name", strict=True),
]
