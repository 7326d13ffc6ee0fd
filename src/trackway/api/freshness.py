"""``GET /api/v1/projects/{id}/freshness``: how fresh a report over a date range is; every
chart of the web app shows it (``query/freshness.py``)."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from trackway.api.context import ApiContext
from trackway.api.lexicon import report_range
from trackway.projects import Project
from trackway.query.freshness import freshness


def fresh(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    time_range = report_range(params, project)
    found = freshness(context.events, project, time_range, int(time.time() * 1000))
    result: dict[str, Any] = msgspec.to_builtins(found)
    return result
