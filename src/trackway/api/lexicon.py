"""The lexicon: a project's event names, the properties of an event with their types, and a
property's top values, each with how many events carry it (``query/schema.py``). Served
under ``/api/v1/projects/{id}/schema/...`` for pickers and the web app's Events page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from trackway.api import params as p
from trackway.api.context import ApiContext
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query import schema
from trackway.query.timebuckets import day_range, zone
from trackway.storage.scan import TimeRange

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


def events(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    limit = p.integer(params, "limit", 1000, 1, 100_000) or 1000
    found = schema.event_names(context.events, project, _range(params, project), limit)
    return {"events": [{"name": name, "count": count} for name, count in found]}


def properties(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    limit = p.integer(params, "limit", 1000, 1, 100_000) or 1000
    found = schema.event_properties(
        context.events,
        project,
        params.get("event") or None,
        _range(params, project),
        limit,
    )
    return {"properties": found}


def values(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    name = p.required(params, "name")
    limit = p.integer(params, "limit", 20, 1, 10_000) or 20
    found = schema.top_values(
        context.events,
        project,
        name,
        params.get("event") or None,
        _range(params, project),
        limit,
    )
    return {"values": [{"value": value, "count": count} for value, count in found]}
