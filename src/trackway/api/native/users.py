"""People and the table's history: ``/identity`` (the cluster of a distinct_id),
``/deletions`` (delete users, GDPR) and ``/versions`` (the events table's versions)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from trackway.api import params as p
from trackway.api.endpoints import Endpoint, Params, json
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.services import events, users
from trackway.services.context import Services, now_ms


def identity(services: Services, project: Project, params: Params, _: Request) -> Response:
    return json(users.identity(services, project, p.required(params, "distinct_id")))


def delete_users(services: Services, project: Project, params: Params, _: Request) -> Response:
    ids = p.json_list(params, "distinct_ids")
    if ids is None:
        raise PayloadError("Expected `distinct_ids`: a JSON array of up to 2000 strings")
    now = now_ms()
    deleted = users.delete_users(services, project, ids, now)
    return json(
        {
            "status": "ok",
            "deleted": len(deleted),
            "deleted_ids": [d.distinct_id for d in deleted],
            "deleted_at_ms": now,
        }
    )


def versions(services: Services, project: Project, params: Params, _: Request) -> Response:
    return json({"status": "ok", "versions": events.versions(services, project)})


ROUTES = [
    Endpoint(
        "POST",
        "/deletions",
        delete_users,
        "Delete users (GDPR) with their identity clusters: `distinct_ids`, a JSON array",
    ),
    Endpoint("GET", "/versions", versions, "The events table's versions, newest first"),
    Endpoint(
        "GET",
        "/identity",
        identity,
        "The identity cluster of `distinct_id`, canonical id first",
        ("distinct_id",),
        strict=True,
    ),
]
