"""The behavioural reports over HTTP: the native routes, whose JSON body is the report's spec,
and Mixpanel's ``/funnels``, ``/funnels/list``, ``/retention`` and ``/retention/addiction``
shapes (docs/api.md says where those go beyond or fall short of Mixpanel's contract)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import msgspec

from trackway.api import params as p
from trackway.api.context import ApiContext
from trackway.api.openapi import documented_params
from trackway.api.saved_funnels import SavedFunnels, funnel_id, funnel_spec
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.behaviour.flows import run_flows
from trackway.query.behaviour.frequency import run_frequency
from trackway.query.behaviour.funnels import run_funnel
from trackway.query.behaviour.lifecycle import run_lifecycle
from trackway.query.behaviour.retention import run_retention
from trackway.query.behaviour.spec import (
    FlowsSpec,
    FrequencySpec,
    FunnelSpec,
    Length,
    LifecycleSpec,
    RetentionSpec,
    Step,
)
from trackway.query.segments import OTHER
from trackway.query.spec import Breakdown
from trackway.storage.scan import EventReader

# --- native routes: POST /api/v1/projects/{id}/<report> with the spec as the body ---


@dataclass(frozen=True, slots=True)
class Report:
    """A behavioural report: its name in messages, its spec and the engine that runs it."""

    name: str
    spec: type[msgspec.Struct]
    run: Callable[[EventReader, Project, Any], dict[str, Any]]


REPORTS: dict[str, Report] = {
    "funnels": Report("funnel", FunnelSpec, run_funnel),
    "retention": Report("retention", RetentionSpec, run_retention),
    "flows": Report("flows", FlowsSpec, run_flows),
    "frequency": Report("frequency", FrequencySpec, run_frequency),
    "lifecycle": Report("lifecycle", LifecycleSpec, run_lifecycle),
}


@cache
def _decoder(spec: type[msgspec.Struct]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(spec)


def decode_spec(report: Report, body: bytes) -> Any:
    """The report's spec from JSON; a message naming the field when it does not decode."""
    try:
        return _decoder(report.spec).decode(body)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"Invalid {report.name} spec: {exc}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"Expected a JSON {report.name} spec: {exc}") from None


def run_native(context: ApiContext, project: Project, kind: str, body: bytes) -> dict[str, Any]:
    report = REPORTS[kind]
    return report.run(context.events, project, decode_spec(report, body))


# --- Mixpanel's shapes (GET, under /api/2.0 and /api/query) ---

# Every parameter each endpoint takes; any other is refused by name rather than ignored.
_COMMON = {"project_id"}
FUNNEL_PARAMS = documented_params("/funnels")
RETENTION_PARAMS = documented_params("/retention")
ADDICTION_PARAMS = documented_params("/retention/addiction")
# Parameters of Mixpanel's contract that trackway does not implement, and why.
_NOT_IMPLEMENTED = {
    "workspace_id": "data views are not supported",
    "on": "segmenting by `on` is not supported on this endpoint",
    "limit": "`limit` goes with `on`, which is not supported on this endpoint",
}
_LENGTH_UNITS = ("second", "minute", "hour", "day")
_PERIOD_UNITS = ("day", "week", "month")
# Each funnel bucket is a run of its own: bound the work one request may ask for.
MAX_FUNNEL_BUCKETS = 400
_RETENTION_TYPES = {"birth": "first_time", "compounded": "recurring"}


def only(params: dict[str, str], endpoint: str, accepted: set[str]) -> None:
    unknown = sorted(set(params) - accepted - _COMMON)
    if not unknown:
        return
    name = unknown[0]
    why = _NOT_IMPLEMENTED.get(name, "it is not a parameter trackway implements")
    expected = ", ".join(f"`{a}`" for a in sorted(accepted)) or "no parameter but `project_id`"
    raise PayloadError(f"Expected {expected} for {endpoint}, got `{name}`: {why}")


def _choice(params: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = params.get(name) or default
    if value not in choices:
        raise PayloadError(f"Expected `{name}` one of {', '.join(choices)}, got {value!r}")
    return value


def _dates(params: dict[str, str]) -> tuple[date, date]:
    start, end = p.day(params, "from_date"), p.day(params, "to_date")
    if end < start:
        raise PayloadError(f"Expected `to_date` on or after `from_date`, got {end} before {start}")
    return start, end


def funnels(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    """Mixpanel's /funnels: one funnel per date bucket, each an independent run over the
    attempts that start in the bucket (conversions may end after it)."""
    only(params, "/funnels", FUNNEL_PARAMS)
    start, end = _dates(params)
    spec = _funnel(context, project, params, start, end)
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
        result = run_funnel(
            context.events, project, msgspec.structs.replace(spec, from_date=first, to_date=last)
        )
        data[label] = _segmented(result, spec.steps) if on else _funnel_shape(result, spec.steps)
    return {"meta": {"dates": list(data)}, "data": data}


def funnel_list(context: ApiContext, project: Project, params: dict[str, str]) -> list[Any]:
    only(params, "/funnels/list", set())
    return [
        {"funnel_id": f.funnel_id, "name": f.name}
        for f in SavedFunnels.of(context.data_dir, project.id).all()
    ]


def _funnel(
    context: ApiContext, project: Project, params: dict[str, str], start: date, end: date
) -> FunnelSpec:
    """The funnel to run: a saved one (``funnel_id``) or, trackway's extension, ``steps``;
    ``length`` and ``where`` apply on top of a saved funnel's own window and filter."""
    saved_id, steps = params.get("funnel_id"), params.get("steps")
    if (saved_id is None) == (steps is None):
        raise PayloadError("Expected exactly one of `funnel_id` or `steps` (a JSON array)")
    if saved_id is not None:
        saved = SavedFunnels.of(context.data_dir, project.id).get(funnel_id(saved_id))
        spec = funnel_spec(saved.funnel, start, end)
    else:
        spec = FunnelSpec(from_date=start, to_date=end, steps=_steps(steps or ""))
    length = p.integer(params, "length", None, 1, 10**9)
    length_unit = _choice(params, "length_unit", _LENGTH_UNITS, "day")
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


def _funnel_buckets(params: dict[str, str], start: date, end: date) -> list[tuple[str, date, date]]:
    """(label, first day, last day) of each bucket: ``interval`` days from ``from_date``, or
    calendar ``unit``s labelled by their first day (weeks start on Monday), cut to the range."""
    if params.get("interval") and params.get("unit"):
        raise PayloadError("Expected one of `interval` or `unit`, got both")
    unit = _choice(params, "unit", _PERIOD_UNITS, "day") if params.get("unit") else None
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


def _funnel_shape(result: dict[str, Any], steps: list[Step]) -> dict[str, Any]:
    counts = [s["count"] for s in result["steps"]]
    times = [s["time_to_convert"] for s in result["steps"]]
    return _mixpanel_funnel(counts, times, steps)


def _segmented(result: dict[str, Any], steps: list[Step]) -> dict[str, Any]:
    """Each shown segment's funnel; times to convert are not kept per segment (null)."""
    return {
        str(row["segment"][0]): _mixpanel_funnel(row["counts"], [None] * len(steps), steps)
        for row in result["segments"]["rows"]
        if row["segment"] != [OTHER]  # Mixpanel's legacy shapes list the top values only
    }


def _mixpanel_funnel(
    counts: list[int], times: list[dict[str, Any] | None], steps: list[Step]
) -> dict[str, Any]:
    out = []
    ratios: list[float] = []
    for k, (count, time, step) in enumerate(zip(counts, times, steps, strict=True)):
        names = step.events()
        event = names[0] if names is not None and len(names) == 1 else step.label()
        ratios.append(_ratio(count, counts[k - 1] if k else count))
        out.append(
            {
                "count": count,
                "avg_time": _seconds(time, "avg_ms"),
                "avg_time_from_start": _seconds(time, "avg_from_start_ms"),
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


def _seconds(time: dict[str, Any] | None, key: str) -> int | None:
    return None if time is None else round(time[key] / 1000)


def _ratio(count: int, of: int) -> float:
    return count / of if of else 0.0


def retention(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    only(params, "/retention", RETENTION_PARAMS)
    start, end = _dates(params)
    kind = _choice(params, "retention_type", tuple(_RETENTION_TYPES), "birth")
    event = params.get("event") or None
    where = params.get("where") or None
    returning = Step(event=event, where=where)
    if kind == "birth":
        born = Step(event=p.required(params, "born_event"), where=params.get("born_where") or None)
    else:
        for name in ("born_event", "born_where"):
            if params.get(name):
                raise PayloadError(
                    f"Expected `{name}` only with retention_type=birth: compounded cohorts "
                    "are the users who did `event`"
                )
        born = returning
    interval = p.integer(params, "interval", 1, 1, 10_000)
    if interval != 1:
        raise PayloadError(
            f"Expected `interval` 1, got {interval}: buckets of several units are not "
            "supported; use `unit` (day, week or month)"
        )
    spec = RetentionSpec(
        from_date=start,
        to_date=end,
        born=born,
        returning=returning,
        retention_type=_RETENTION_TYPES[kind],  # type: ignore[arg-type]
        unit=_choice(params, "unit", _PERIOD_UNITS, "day"),  # type: ignore[arg-type]
        periods=p.integer(params, "interval_count", 1, 0, 3_660) or 0,
        mode="on_or_after" if p.boolean(params, "unbounded_retention") else "on",
    )
    result = run_retention(context.events, project, spec)
    return {
        cohort["cohort"]: {"counts": cohort["counts"], "first": cohort["size"]}
        for cohort in result["cohorts"]
    }


def addiction(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    only(params, "/retention/addiction", ADDICTION_PARAMS)
    start, end = _dates(params)
    spec = FrequencySpec(
        from_date=start,
        to_date=end,
        event=params.get("event") or None,
        where=params.get("where") or None,
        unit=_choice(params, "unit", _PERIOD_UNITS, "week"),  # type: ignore[arg-type]
        addiction_unit=_choice(params, "addiction_unit", ("hour", "day"), "day"),  # type: ignore[arg-type]
    )
    result = run_frequency(context.events, project, spec)
    return {"data": dict(zip(result["buckets"], result["at_least"], strict=True))}
