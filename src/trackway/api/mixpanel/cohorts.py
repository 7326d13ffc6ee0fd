"""Mixpanel's ``/cohorts/list``: every saved cohort with its exact current count."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from trackway.api.endpoints import Endpoint, Params, json
from trackway.projects import Project
from trackway.query.timebuckets import zone
from trackway.services import cohorts
from trackway.services.context import Services


def cohort_list(services: Services, project: Project, params: Params, _: Request) -> Response:
    tz = zone(project.timezone)
    return json(
        [
            {
                "count": count,
                "is_visible": 1,
                "description": saved.description,
                "created": datetime.fromtimestamp(saved.created_ms / 1000, tz).strftime(
                    "%Y-%m-%d %H:%M:%S"
                ),
                "project_id": project.id,
                "id": saved.id,
                "name": saved.name,
            }
            for saved, count in cohorts.counts(services, project)
        ]
    )


ROUTES = [
    Endpoint(method, "/cohorts/list", cohort_list, "The saved cohorts with their current counts")
    for method in ("POST", "GET")
]
