"""The live view's feed: ``GET /api/v1/projects/{id}/events/latest``, the latest events to
arrive (the uncommitted log tail included), newest first, polled with a cursor."""

from __future__ import annotations

from typing import Any

from trackway.api import params as p
from trackway.api.context import ApiContext
from trackway.projects import Project
from trackway.storage.latest import latest_events

MAX_LIMIT = 1000


def latest(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    limit = p.integer(params, "limit", 50, 1, MAX_LIMIT) or 50
    after = p.integer(params, "after", -1, -1, 2**62)
    found = latest_events(context.events, project, limit, -1 if after is None else after)
    return {"events": found.events, "cursor": found.cursor, "truncated": found.truncated}
