"""GET /api/2.0/stream/query: Mixpanel's activity feed, the events of some users.

A user is their whole identity cluster: asking for a device id also answers the events of
the user it merged into, and the other way round. Events are read as raw export reads them
(the log tail included, so an event acknowledged a moment ago is there) and answered in time
order, oldest first; Mixpanel does not document an order.
"""

from __future__ import annotations

import heapq
from typing import Any

from trackway.api import params as p
from trackway.api.behaviour import only
from trackway.api.context import ApiContext
from trackway.api.openapi import documented_params
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.timebuckets import day_range, zone
from trackway.storage.export import export_events
from trackway.storage.identity_clusters import with_clusters

STREAM_PARAMS = documented_params("/stream/query")
MAX_IDS = 100
MAX_LIMIT = 100_000


def stream_query(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    only(params, "/stream/query", STREAM_PARAMS)
    asked = p.json_list(params, "distinct_ids")
    if asked is None or not 1 <= len(asked) <= MAX_IDS:
        found = "nothing" if asked is None else f"{len(asked)} ids"
        raise PayloadError(
            f"Expected `distinct_ids`: a JSON array of 1 to {MAX_IDS} ids, got {found}"
        )
    start, end = p.day(params, "from_date"), p.day(params, "to_date")
    if end < start:
        raise PayloadError(f"Expected `to_date` on or after `from_date`, got {end} before {start}")
    limit = p.integer(params, "limit", MAX_LIMIT, 1, MAX_LIMIT) or MAX_LIMIT
    ids = with_clusters(context.events.identity(project), asked)
    events = export_events(
        context.events,
        project,
        day_range(start, end, zone(project.timezone)),
        distinct_ids=ids,
    )
    # The latest `limit` events, without holding more than that many at once.
    latest = heapq.nlargest(limit, events, key=_order)
    latest.reverse()
    for event in latest:
        event["properties"]["time"] //= 1000  # read in ms to order within a second
    return {"status": "ok", "results": {"events": latest}}


def _order(event: dict[str, Any]) -> tuple[int, int, str]:
    properties = event["properties"]
    return properties["time"], properties["mp_processing_time_ms"], properties["$insert_id"]
