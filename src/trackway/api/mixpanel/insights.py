"""Mixpanel's Query API shapes over the Insights report: /segmentation (+ /numeric, /sum,
/average), /events, /events/top, /events/names, /events/properties (+ /top, /values)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from trackway.api import params as p
from trackway.api.endpoints import Endpoint, Handler, Params, json
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query import schema
from trackway.query.breakdowns import OTHER, Breakdown
from trackway.query.insights.result import InsightsResult, Series
from trackway.query.insights.spec import InsightsSpec, Metric
from trackway.query.timebuckets import day_range, zone
from trackway.services import reports
from trackway.services.context import Services

_TYPES = {"general": "total", "unique": "unique", "average": "per_user_avg"}
_UNITS = ("minute", "hour", "day", "week", "month")


def segmentation(variant: str | None) -> Handler:
    def handler(services: Services, project: Project, params: Params, _: Request) -> Response:
        return json(_segmentation(services, project, params, variant))

    return handler


def _segmentation(
    services: Services, project: Project, params: Params, variant: str | None
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
        found = _run(services, project, spec)
        results = dict(zip(found.buckets, found.series[0].values, strict=True))
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
    return _series_shape(_run(services, project, spec), lambda s: s.segment[0] if on else event)


def events(services: Services, project: Project, params: Params, _: Request) -> Response:
    names = p.json_list(params, "event")
    if not names:
        raise PayloadError("Expected `event`: a JSON array of event names")
    metrics = [Metric(event=name, measure=_measure(params), name=name) for name in names]
    result = _run(services, project, _spec(params, metrics, []))
    return json(_series_shape(result, lambda s: s.metric))


def event_properties(services: Services, project: Project, params: Params, _: Request) -> Response:
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
    return json(_series_shape(_run(services, project, spec), lambda s: s.segment[0]))


def top_events(services: Services, project: Project, params: Params, _: Request) -> Response:
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
    result = _run(services, project, spec)
    rows: list[dict[str, Any]] = []
    for series in result.series:
        if series.segment == [OTHER]:
            continue
        yesterday, now = (value or 0 for value in series.values)  # None: nobody to average
        change = (now - yesterday) / yesterday if yesterday else 0.0
        rows.append({"amount": now, "event": series.segment[0], "percent_change": change})
    rows.sort(key=lambda row: -row["amount"])
    return json({"events": rows[:limit], "type": kind})


def event_names(services: Services, project: Project, params: Params, _: Request) -> Response:
    limit = p.integer(params, "limit", 255, 1, 100_000) or 255
    found = schema.event_names(services.events, project, _last_days(project, 31), limit)
    return json([name for name, _ in found])


def top_properties(services: Services, project: Project, params: Params, _: Request) -> Response:
    event = p.required(params, "event")
    limit = p.integer(params, "limit", 10, 1, 10_000) or 10
    found = schema.event_properties(services.events, project, event, _last_days(project, 31), limit)
    return json({row["name"]: {"count": row["count"]} for row in found})


def property_values(services: Services, project: Project, params: Params, _: Request) -> Response:
    name = p.required(params, "name")
    limit = p.integer(params, "limit", 255, 1, 100_000) or 255
    found = schema.top_values(
        services.events, project, name, params.get("event"), _last_days(project, 31), limit
    )
    return json([value for value, _ in found])


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


def _run(services: Services, project: Project, spec: InsightsSpec) -> InsightsResult:
    result: InsightsResult = reports.run(services, project, spec)
    return result


def _series_shape(result: InsightsResult, key: Callable[[Series], str]) -> dict[str, Any]:
    values: dict[str, dict[str, Any]] = {}
    for series in result.series:
        if series.segment == [OTHER]:
            continue  # Mixpanel's legacy shapes list the top values only
        values[str(key(series))] = dict(zip(result.buckets, series.values, strict=True))
    return {"data": {"series": result.buckets, "values": values}, "legend_size": len(values)}


def _last_days(project: Project, days: int) -> tuple[int, int]:
    today = datetime.now(zone(project.timezone)).date()
    return day_range(today - timedelta(days=days - 1), today, zone(project.timezone))


def _string_literal(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


_DATES = ("from_date", "to_date")
ROUTES = [
    Endpoint(
        "GET",
        "/segmentation",
        segmentation(None),
        "Events over time, optionally segmented by `on`",
        ("event", *_DATES),
        ("on", "unit", "where", "limit", "type"),
    ),
    Endpoint(
        "GET",
        "/segmentation/numeric",
        segmentation("numeric"),
        "Events over time, segmented by numeric buckets of `on`",
        ("event", *_DATES, "on"),
        ("unit", "where", "type"),
    ),
    Endpoint(
        "GET",
        "/segmentation/sum",
        segmentation("sum"),
        "Sum of the numeric expression `on` over time",
        ("event", *_DATES, "on"),
        ("unit", "where"),
    ),
    Endpoint(
        "GET",
        "/segmentation/average",
        segmentation("average"),
        "Average of the numeric expression `on` over time",
        ("event", *_DATES, "on"),
        ("unit", "where"),
    ),
    Endpoint(
        "GET",
        "/events",
        events,
        "Several events over time",
        ("event", *_DATES),
        ("type", "unit"),
    ),
    Endpoint(
        "GET",
        "/events/top",
        top_events,
        "Today's top events with the change since yesterday",
        (),
        ("type", "limit"),
    ),
    Endpoint(
        "GET",
        "/events/names",
        event_names,
        "Event names, most common first (last 31 days)",
        (),
        ("type", "limit"),
    ),
    Endpoint(
        "GET",
        "/events/properties",
        event_properties,
        "An event over time segmented by a property",
        ("event", "name", *_DATES),
        ("values", "type", "unit", "limit"),
    ),
    Endpoint(
        "GET",
        "/events/properties/top",
        top_properties,
        "An event's most common properties (last 31 days)",
        ("event",),
        ("limit",),
    ),
    Endpoint(
        "GET",
        "/events/properties/values",
        property_values,
        "A property's most common values (last 31 days)",
        ("name",),
        ("event", "limit"),
    ),
]
