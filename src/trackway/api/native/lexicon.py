"""What the web app's pickers and pages read besides reports: the lexicon (a project's event
names, the properties of an event with their types, a property's top values, each with how
many events carry it: ``query/schema.py``), the latest events to arrive (the live view, the
uncommitted log tail included) and how fresh a report over a range is."""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from trackway.api import params as p
from trackway.api.endpoints import Endpoint, Params, json
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query import schema
from trackway.query.freshness import freshness
from trackway.query.timebuckets import day_range, zone
from trackway.services import events
from trackway.services.context import Services, now_ms
from trackway.types import TimeRange

MAX_LATEST = 1000

DEFAULT_DAYS = 31


def report_range(params: dict[str, str], project: Project) -> TimeRange | None:
    """``from_date``..``to_date`` (days in ``timezone``, default the project's) as UTC ms, or
    None when neither is given."""
    if not (params.get("from_date") or params.get("to_date")):
        return None
    tz = zone(params.get("timezone") or project.timezone)
    first, last = p.day(params, "from_date"), p.day(params, "to_date")
    if last < first:
        raise PayloadError(f"Expected `to_date` on or after `from_date`, got {last} before {first}")
    return day_range(first, last, tz)


def _range(params: dict[str, str], project: Project) -> TimeRange:
    """The asked days, by default the last 31 in the project's time zone."""
    found = report_range(params, project)
    if found is not None:
        return found
    tz = zone(params.get("timezone") or project.timezone)
    today = datetime.now(tz).date()
    return day_range(today - timedelta(days=DEFAULT_DAYS - 1), today, tz)


def event_names(services: Services, project: Project, params: Params, _: Request) -> Response:
    limit = p.integer(params, "limit", 1000, 1, 100_000) or 1000
    found = schema.event_names(services.events, project, _range(params, project), limit)
    return json({"events": [{"name": name, "count": count} for name, count in found]})


def properties(services: Services, project: Project, params: Params, _: Request) -> Response:
    limit = p.integer(params, "limit", 1000, 1, 100_000) or 1000
    found = schema.event_properties(
        services.events,
        project,
        params.get("event") or None,
        _range(params, project),
        limit,
    )
    return json({"properties": found})


def values(services: Services, project: Project, params: Params, _: Request) -> Response:
    name = p.required(params, "name")
    limit = p.integer(params, "limit", 20, 1, 10_000) or 20
    found = schema.top_values(
        services.events,
        project,
        name,
        params.get("event") or None,
        _range(params, project),
        limit,
    )
    return json({"values": [{"value": value, "count": count} for value, count in found]})


def latest(services: Services, project: Project, params: Params, _: Request) -> Response:
    limit = p.integer(params, "limit", 50, 1, MAX_LATEST) or 50
    after = p.integer(params, "after", -1, -1, 2**62)
    found = events.latest(services, project, limit, -1 if after is None else after)
    return json({"events": found.events, "cursor": found.cursor, "truncated": found.truncated})


def fresh(services: Services, project: Project, params: Params, _: Request) -> Response:
    time_range = report_range(params, project)
    return json(freshness(services.events, project, time_range, now_ms()))


_SCHEMA = "The last 31 days by default, or `from_date`..`to_date` in `timezone`"
_RANGE = ("from_date", "to_date", "timezone")
ROUTES = [
    Endpoint(
        "GET",
        "/schema/events",
        event_names,
        f"Event names with counts, most first. {_SCHEMA}",
        (),
        (*_RANGE, "limit"),
    ),
    Endpoint(
        "GET",
        "/schema/properties",
        properties,
        f"Properties (of `event`, else of all events) with types and counts. {_SCHEMA}",
        (),
        ("event", *_RANGE, "limit"),
    ),
    Endpoint(
        "GET",
        "/schema/values",
        values,
        f"A property's (`name`) top values with counts. {_SCHEMA}",
        ("name",),
        ("event", *_RANGE, "limit"),
    ),
    Endpoint(
        "GET",
        "/events/latest",
        latest,
        "The latest events to arrive, newest first: `limit`, `after` (a cursor)",
        (),
        ("limit", "after"),
    ),
    Endpoint(
        "GET",
        "/freshness",
        fresh,
        "The newest event and the ingestion lag, optionally over `from_date`..`to_date`",
        (),
        _RANGE,
    ),
]
