"""Mixpanel's Query API shapes over the Insights engine: /segmentation (+ /numeric, /sum,
/average), /events, /events/top, /events/names, /events/properties (+ /top, /values)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from trackway.api import params as p
from trackway.api.context import ApiContext
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query import schema
from trackway.query.insights import run_insights
from trackway.query.spec import Breakdown, InsightsSpec, Metric
from trackway.query.timebuckets import day_range, zone

_TYPES = {"general": "total", "unique": "unique", "average": "per_user_avg"}
_UNITS = ("minute", "hour", "day", "week", "month")


def segmentation(
    context: ApiContext, project: Project, params: dict[str, str], variant: str | None
) -> dict[str, Any]:
    event = p.required(params, "event")
    on = params.get("on") or None
    if params.get("interval"):
        raise PayloadError("Expected `unit` for the bucket size; `interval` is not supported")
    if variant in ("sum", "average"):
        if on is None:
            raise PayloadError(
                f"Expected `on`: the numeric expression /segmentation/{variant} aggregates"
            )
        metric = Metric(event=event, where=params.get("where"), measure="sum", value=on)
        if variant == "average":
            metric = Metric(event=event, where=params.get("where"), measure="avg", value=on)
        spec = _spec(params, [metric], [])
        series = run_insights(context.events, project, spec)
        results = dict(zip(series["buckets"], series["series"][0]["values"], strict=True))
        if variant == "sum":
            return {
                "status": "ok",
                "computed_at": datetime.now().astimezone().isoformat(),
                "results": results,
            }
        return {"results": results, "status": "ok"}
    breakdowns = []
    if on is not None:
        breakdowns = [Breakdown(expression=on, buckets="auto" if variant == "numeric" else None)]
    metric = Metric(event=event, where=params.get("where"), measure=_measure(params))
    limit = p.integer(params, "limit", 60, 1, 10_000) or 60
    spec = _spec(params, [metric], breakdowns, limit)
    return _series_shape(
        run_insights(context.events, project, spec), lambda s: s["segment"][0] if on else event
    )


def events(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    names = p.json_list(params, "event")
    if not names:
        raise PayloadError("Expected `event`: a JSON array of event names")
    metrics = [Metric(event=name, measure=_measure(params), name=name) for name in names]
    result = run_insights(context.events, project, _spec(params, metrics, []))
    return _series_shape(result, lambda s: s["metric"])


def event_properties(
    context: ApiContext, project: Project, params: dict[str, str]
) -> dict[str, Any]:
    event = p.required(params, "event")
    name = p.required(params, "name")
    values = p.json_list(params, "values")
    where = None
    if values is not None:
        listed = ", ".join(_string_literal(v) for v in values)
        where = f"string(properties[{_string_literal(name)}]) in [{listed}]"
    limit = p.integer(params, "limit", 255, 1, 10_000) or 255
    spec = _spec(
        params,
        [Metric(event=event, where=where, measure=_measure(params))],
        [Breakdown(property=name)],
        limit,
    )
    return _series_shape(run_insights(context.events, project, spec), lambda s: s["segment"][0])


def top_events(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    kind = params.get("type", "general")
    limit = p.integer(params, "limit", 100, 1, 10_000) or 100
    today = datetime.now(zone(project.timezone)).date()
    spec = InsightsSpec(
        from_date=today - timedelta(days=1),
        to_date=today,
        unit="day",
        metrics=[Metric(measure=_measure(params))],
        breakdowns=[Breakdown(expression='event["name"]')],
        limit=10_000,  # ranked by today's amount below, not by the two days together
    )
    result = run_insights(context.events, project, spec)
    rows = []
    for series in result["series"]:
        if series["segment"] == ["$other"]:
            continue
        yesterday, now = series["values"]
        change = (now - yesterday) / yesterday if yesterday else 0.0
        rows.append({"amount": now, "event": series["segment"][0], "percent_change": change})
    rows.sort(key=lambda row: -row["amount"])
    return {"events": rows[:limit], "type": kind}


def event_names(context: ApiContext, project: Project, params: dict[str, str]) -> list[str]:
    limit = p.integer(params, "limit", 255, 1, 100_000) or 255
    return [
        name
        for name, _ in schema.event_names(context.events, project, _last_days(project, 31), limit)
    ]


def top_properties(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    event = p.required(params, "event")
    limit = p.integer(params, "limit", 10, 1, 10_000) or 10
    found = schema.event_properties(context.events, project, event, _last_days(project, 31), limit)
    return {row["name"]: {"count": row["count"]} for row in found}


def property_values(context: ApiContext, project: Project, params: dict[str, str]) -> list[Any]:
    name = p.required(params, "name")
    limit = p.integer(params, "limit", 255, 1, 100_000) or 255
    found = schema.top_values(
        context.events, project, name, params.get("event"), _last_days(project, 31), limit
    )
    return [value for value, _ in found]


def _measure(params: dict[str, str]) -> Any:
    kind = params.get("type", "general")
    if kind not in _TYPES:
        raise PayloadError(f"Expected `type` one of general, unique, average, got {kind!r}")
    return _TYPES[kind]


def _spec(
    params: dict[str, str], metrics: list[Metric], breakdowns: list[Breakdown], limit: int = 60
) -> InsightsSpec:
    unit = params.get("unit", "day")
    if unit not in _UNITS:
        raise PayloadError(f"Expected `unit` one of {', '.join(_UNITS)}, got {unit!r}")
    return InsightsSpec(
        from_date=p.day(params, "from_date"),
        to_date=p.day(params, "to_date"),
        unit=unit,  # type: ignore[arg-type]
        metrics=metrics,
        breakdowns=breakdowns,
        limit=limit,
        where=params.get("where") or None,
    )


def _series_shape(result: dict[str, Any], key: Any) -> dict[str, Any]:
    values: dict[str, dict[str, Any]] = {}
    for series in result["series"]:
        if series["segment"] == ["$other"]:
            continue  # Mixpanel's legacy shapes list the top values only
        values[str(key(series))] = dict(zip(result["buckets"], series["values"], strict=True))
    return {"data": {"series": result["buckets"], "values": values}, "legend_size": len(values)}


def _last_days(project: Project, days: int) -> tuple[int, int]:
    today = datetime.now(zone(project.timezone)).date()
    return day_range(today - timedelta(days=days - 1), today, zone(project.timezone))


def _string_literal(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
