"""Raw events as they were received: export (optionally filtered by an expression), a
user's activity feed over their whole identity cluster, the latest arrivals, and the events
table's versions."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from trackway.projects import Project
from trackway.query.table_filter import table_filter
from trackway.query.timebuckets import day_range, zone
from trackway.services.context import Services
from trackway.storage.export import export_events
from trackway.storage.identity_clusters import with_clusters
from trackway.storage.latest import LatestEvents, latest_events
from trackway.storage.scan import property_columns
from trackway.types import TimeRange


def utc_days(from_date: date, to_date: date) -> TimeRange:
    """``from_date``..``to_date`` inclusive as [start, end) in UTC milliseconds: raw export
    reads UTC days, as Mixpanel's does."""
    return _ms(from_date), _ms(to_date + timedelta(days=1))


def export(
    services: Services,
    project: Project,
    time_range: TimeRange,
    names: list[str] | None = None,
    limit: int | None = None,
    as_of: int | datetime | None = None,
    time_in_ms: bool = False,
    where: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The events received in ``time_range`` (of an earlier table version with ``as_of``),
    as Mixpanel's raw export shows them. A bad ``where`` fails here, before any event."""
    row_filter = None
    if where:
        row_filter = table_filter(where, property_columns(services.events, project))
    return export_events(
        services.events,
        project,
        time_range,
        set(names) if names is not None else None,
        limit,
        as_of,
        time_in_ms=time_in_ms,
        row_filter=row_filter,
    )


def activity(
    services: Services,
    project: Project,
    distinct_ids: list[str],
    days: tuple[date, date],
    limit: int,
) -> list[dict[str, Any]]:
    """The latest ``limit`` events of the users (each their whole identity cluster) over the
    project's local days, oldest first; the uncommitted log tail included."""
    ids = with_clusters(services.events.identity(project), distinct_ids)
    events = export_events(
        services.events, project, day_range(*days, zone(project.timezone)), distinct_ids=ids
    )
    # The latest `limit` events, without holding more than that many at once.
    latest = heapq.nlargest(limit, events, key=_order)
    latest.reverse()
    for event in latest:
        event["properties"]["time"] //= 1000  # read in ms to order within a second
    return latest


def latest(services: Services, project: Project, limit: int, after_ms: int) -> LatestEvents:
    """Up to ``limit`` events received after ``after_ms``, newest arrival first."""
    return latest_events(services.events, project, limit, after_ms)


def versions(services: Services, project: Project, limit: int | None = 100) -> list[dict[str, Any]]:
    """The events table's versions, newest first (at most ``limit``; None: all): version,
    timestamp_ms, operation; none before the first commit."""
    snapshot = services.events.snapshot(project)
    history: list[dict[str, Any]] = snapshot.table.history(limit) if snapshot is not None else []
    return [
        {
            "version": h.get("version"),
            "timestamp_ms": h.get("timestamp"),
            "operation": h.get("operation"),
        }
        for h in history
    ]


def _order(event: dict[str, Any]) -> tuple[int, int, str]:
    properties = event["properties"]
    return properties["time"], properties["mp_processing_time_ms"], properties["$insert_id"]


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
