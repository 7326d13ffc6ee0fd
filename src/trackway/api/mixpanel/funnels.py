"""Mixpanel's ``/funnels`` and ``/funnels/list``: a saved funnel (``funnel_id``) or, trackway's
extension, ``steps`` run once per date bucket, in Mixpanel's shape."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from trackway.api import params as p
from trackway.api.endpoints import Endpoint, Params, json, object_id
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.behaviour.result import FunnelResult, FunnelStep
from trackway.query.behaviour.spec import FunnelSpec, Length, Step
from trackway.query.breakdowns import OTHER, Breakdown
from trackway.services import reports, saved
from trackway.services.context import Services

_LENGTH_UNITS = ("second", "minute", "hour", "day")
_PERIOD_UNITS = ("day", "week", "month")
# Each funnel bucket is a run of its own: bound the work one request may ask for.
MAX_FUNNEL_BUCKETS = 400


def funnels(services: Services, project: Project, params: Params, _: Request) -> Response:
    """One funnel per date bucket, each an independent run over the attempts that start in
    the bucket (conversions may end after it)."""
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
    )
    data: dict[str, Any] = {}
    for label, first, last in _funnel_buckets(params, start, end):
        result: FunnelResult = reports.run(
            services, project, msgspec.structs.replace(spec, from_date=first, to_date=last)
        )
        data[label] = _segmented(result, spec.steps) if on else _funnel_shape(result, spec.steps)
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


def _funnel_buckets(params: Params, start: date, end: date) -> list[tuple[str, date, date]]:
    """(label, first day, last day) of each bucket: ``interval`` days from ``from_date``, or
    calendar ``unit``s labelled by their first day (weeks start on Monday), cut to the range."""
    if params.get("interval") and params.get("unit"):
        raise PayloadError("Expected one of `interval` or `unit`, got both")
    unit = p.choice(params, "unit", _PERIOD_UNITS, "day") if params.get("unit") else None
    days = p.integer(params, "interval", 1, 1, 36_500) or 1
    out: list[tuple[str, date, date]] = []
    period = _period_start(start, unit)
    while period <= end:
        if len(out) == MAX_FUNNEL_BUCKETS:
            raise PayloadError(
                f"Expected at most {MAX_FUNNEL_BUCKETS} date buckets; "
                "narrow the dates or use a larger `interval` or `unit`"
            )
        try:
            following: date | None = _next_period(period, unit, days)
        except OverflowError:
            following = None  # past the calendar: the engine says which dates it takes
        last = end if following is None else min(following - timedelta(days=1), end)
        out.append((str(period), max(period, start), last))
        if following is None:
            break
        period = following
    return out


def _period_start(day: date, unit: str | None) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _next_period(period: date, unit: str | None, days: int) -> date:
    if unit == "month":
        return (period + timedelta(days=31)).replace(day=1)
    return period + timedelta(days={"day": 1, "week": 7}.get(unit or "", days))


def _funnel_shape(result: FunnelResult, steps: list[Step]) -> dict[str, Any]:
    counts = [s.count for s in result.steps]
    return _mixpanel_funnel(counts, result.steps, steps)


def _segmented(result: FunnelResult, steps: list[Step]) -> dict[str, Any]:
    """Each shown segment's funnel; times to convert are not kept per segment (null)."""
    assert result.segments is not None
    return {
        str(row.segment[0]): _mixpanel_funnel(row.counts, None, steps)
        for row in result.segments.rows
        if row.segment != [OTHER]  # Mixpanel's legacy shapes list the top values only
    }


def _mixpanel_funnel(
    counts: list[int], timed: list[FunnelStep] | None, steps: list[Step]
) -> dict[str, Any]:
    out = []
    ratios: list[float] = []
    for k, (count, step) in enumerate(zip(counts, steps, strict=True)):
        names = step.events()
        event = names[0] if names is not None and len(names) == 1 else step.label()
        ratios.append(_ratio(count, counts[k - 1] if k else count))
        times = None if timed is None else timed[k].time_to_convert
        out.append(
            {
                "count": count,
                "avg_time": None if times is None else round(times.avg_ms / 1000),
                "avg_time_from_start": None
                if times is None
                else round(times.avg_from_start_ms / 1000),
                "step_conv_ratio": ratios[k],
                "overall_conv_ratio": _ratio(count, counts[0]),
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
