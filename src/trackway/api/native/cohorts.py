"""Saved cohorts: CRUD under ``/cohorts``, each with its current count, and a cohort's members
(paged JSON with their profile properties, or all of them as CSV)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from trackway.api import params as p
from trackway.api.endpoints import Endpoint, Params, json, path_id
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.cohorts.spec import CohortDefinition, decode_definition
from trackway.saved.objects import SavedCohort
from trackway.services import cohorts
from trackway.services.context import Services, now_ms

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000


def _id(request: Request) -> int:
    return path_id(request, "cohort_id", "cohort")


def create(services: Services, project: Project, _: Params, r: Request) -> Response:
    definition = decode_definition(r.state.body)
    return json(cohorts.add_cohort(services, project, definition, now_ms()))


def every(services: Services, project: Project, _: Params, r: Request) -> Response:
    return json({"cohorts": cohorts.cohorts(services, project)})


def one(services: Services, project: Project, _: Params, r: Request) -> Response:
    saved = cohorts.cohort(services, project, _id(r))
    count = len(cohorts.members(services, project, saved))
    return json({**_shown(saved), "count": count})


def update(services: Services, project: Project, _: Params, r: Request) -> Response:
    number = _id(r)
    definition = decode_definition(r.state.body)
    return json(cohorts.replace_cohort(services, project, number, definition, now_ms()))


def delete(services: Services, project: Project, _: Params, r: Request) -> Response:
    number = _id(r)
    cohorts.remove_cohort(services, project, number)
    return json({"cohort_id": number, "deleted": True})


def users(services: Services, project: Project, params: Params, r: Request) -> Response:
    """The members sorted by id: a page of them (``page``, ``page_size``) with their profile
    properties, or with ``format=csv`` all of them as CSV."""
    saved = cohorts.cohort(services, project, _id(r))
    export = params.get("format", "json")
    if export not in ("json", "csv"):
        raise PayloadError(f"Expected `format` to be json or csv, got {export[:40]!r}")
    page = p.integer(params, "page", 0, 0, 10**9) or 0
    size = p.integer(params, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    assert size is not None
    found = cohorts.listing(services, project, saved)
    if export == "csv":
        name = f"cohort-{saved.id}.csv"
        return StreamingResponse(
            found.csv(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    return json(
        {
            "cohort_id": saved.id,
            "total": len(found.ids),
            "page": page,
            "page_size": size,
            "results": found.page(page * size, (page + 1) * size),
        }
    )


def _shown(saved: SavedCohort) -> dict[str, Any]:
    shown: dict[str, Any] = msgspec.to_builtins(saved)
    return shown


# Ids are parsed by the handlers, so a malformed one is a 404 in the one error shape.
ROUTES = [
    Endpoint("POST", "/cohorts", create, "Save a cohort definition", body=CohortDefinition),
    Endpoint("GET", "/cohorts", every, "The saved cohorts with their definitions"),
    Endpoint("GET", "/cohorts/{cohort_id}", one, "One saved cohort and its current count"),
    Endpoint(
        "PUT",
        "/cohorts/{cohort_id}",
        update,
        "Replace a saved cohort's definition",
        body=CohortDefinition,
    ),
    Endpoint("DELETE", "/cohorts/{cohort_id}", delete, "Delete a saved cohort"),
    Endpoint(
        "GET",
        "/cohorts/{cohort_id}/users",
        users,
        "A cohort's members, sorted by id",
        (),
        ("page", "page_size", "format"),
    ),
]
