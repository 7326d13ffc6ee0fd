"""Saved cohorts over HTTP: the native CRUD routes under ``/api/v1/projects/{id}/cohorts``,
each cohort's members (paged JSON or a CSV export), and Mixpanel's ``/cohorts/list``.

Counts and members are evaluated when asked (docs/cohorts.md): nothing here is stored but
the definitions.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from trackway.api import params as p
from trackway.api.context import ApiContext
from trackway.errors import NotFoundError, PayloadError
from trackway.projects import Project
from trackway.query.cohorts.evaluate import CohortMembers
from trackway.query.cohorts.spec import decode_definition
from trackway.query.cohorts.store import CohortStore, SavedCohort
from trackway.query.cohorts.units import profile_names, profile_properties, unit_ids
from trackway.query.context import ReportContext
from trackway.query.profiles import ProfileTable
from trackway.query.timebuckets import zone
from trackway.storage.profiles import GROUP_SEPARATOR
from trackway.types import I64

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000
_CSV_BATCH = 1000


def cohort_id(raw: str) -> int:
    """A cohort id from a path."""
    if not raw.isdigit() or len(raw) > 18:
        raise NotFoundError(f"Expected a saved cohort id (an integer), got {raw[:40]!r}")
    return int(raw)


def _store(context: ApiContext, project: Project) -> CohortStore:
    return CohortStore.of(context.data_dir, project.id)


def create(context: ApiContext, project: Project, body: bytes, now_ms: int) -> dict[str, Any]:
    saved = _store(context, project).add(decode_definition(body), now_ms)
    return _shown(saved)


def update(
    context: ApiContext, project: Project, raw_id: str, body: bytes, now_ms: int
) -> dict[str, Any]:
    number = cohort_id(raw_id)
    saved = _store(context, project).replace(number, decode_definition(body), now_ms)
    return _shown(saved)


def list_all(context: ApiContext, project: Project) -> dict[str, Any]:
    return {"cohorts": [_shown(saved) for saved in _store(context, project).all()]}


def get_one(context: ApiContext, project: Project, raw_id: str) -> dict[str, Any]:
    saved = _store(context, project).get(cohort_id(raw_id))
    return {**_shown(saved), "count": len(_members(context, project, saved)[1])}


def delete(context: ApiContext, project: Project, raw_id: str) -> dict[str, Any]:
    number = cohort_id(raw_id)
    _store(context, project).remove(number)
    return {"cohort_id": number, "deleted": True}


@dataclass(frozen=True, slots=True)
class Listing:
    """A cohort's members sorted by id, with what their profile rows need."""

    ids: list[str]
    hashes: I64
    profiles: ProfileTable
    names: list[str]  # every profile property name of the cohort's kind

    def page(self, start: int, stop: int) -> list[dict[str, Any]]:
        properties = profile_properties(self.profiles, self.hashes[start:stop], self.names)
        return [
            {"distinct_id": unit, "properties": props}
            for unit, props in zip(self.ids[start:stop], properties, strict=True)
        ]

    def csv(self) -> Iterator[str]:
        """``distinct_id`` and a column per profile property, in batches of rows."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["distinct_id", *self.names])
        for start in range(0, max(len(self.ids), 1), _CSV_BATCH):
            for row in self.page(start, start + _CSV_BATCH):
                cells = (_cell(row["properties"], name) for name in self.names)
                writer.writerow([row["distinct_id"], *cells])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()


def listing(context: ApiContext, project: Project, saved: SavedCohort) -> Listing:
    source, members = _members(context, project, saved)
    table = source.profiles()
    ids = unit_ids(source.context, members, table)
    order = sorted(range(len(ids)), key=ids.__getitem__)
    states = context.profiles.current(project, "users" if saved.group is None else "groups")
    if saved.group is not None:
        prefix = saved.group + GROUP_SEPARATOR
        states = {k: s for k, s in states.items() if k.startswith(prefix)}
    return Listing(
        [ids[i] for i in order],
        members[np.asarray(order, np.int64)],
        table,
        profile_names(states),
    )


def users(context: ApiContext, project: Project, raw_id: str, params: dict[str, str]) -> Response:
    """The members sorted by id: a page of them (``page``, ``page_size``) with their profile
    properties, or with ``format=csv`` all of them as CSV."""
    saved = _store(context, project).get(cohort_id(raw_id))
    export = params.get("format", "json")
    if export not in ("json", "csv"):
        raise PayloadError(f"Expected `format` to be json or csv, got {export[:40]!r}")
    page = p.integer(params, "page", 0, 0, 10**9) or 0
    size = p.integer(params, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    assert size is not None
    found = listing(context, project, saved)
    if export == "csv":
        name = f"cohort-{saved.cohort_id}.csv"
        return StreamingResponse(
            found.csv(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    body = {
        "cohort_id": saved.cohort_id,
        "total": len(found.ids),
        "page": page,
        "page_size": size,
        "results": found.page(page * size, (page + 1) * size),
    }
    return JSONResponse(body)


def mixpanel_list(
    context: ApiContext, project: Project, params: dict[str, str]
) -> list[dict[str, Any]]:
    """Mixpanel's ``/cohorts/list``: every saved cohort with its exact current count."""
    tz = zone(project.timezone)
    sources: dict[str | None, CohortMembers] = {}
    out = []
    for saved in _store(context, project).all():
        source = sources.get(saved.group)
        if source is None:
            source = sources[saved.group] = _source(context, project, saved.group)
        created = datetime.fromtimestamp(saved.created_ms / 1000, tz)
        out.append(
            {
                "count": len(source.members(saved.cohort_id)),
                "is_visible": 1,
                "description": saved.description,
                "created": created.strftime("%Y-%m-%d %H:%M:%S"),
                "project_id": project.id,
                "id": saved.cohort_id,
                "name": saved.name,
            }
        )
    return out


def _source(context: ApiContext, project: Project, group: str | None) -> CohortMembers:
    return CohortMembers(ReportContext(context.events, project, group=group))


def _members(
    context: ApiContext, project: Project, saved: SavedCohort
) -> tuple[CohortMembers, I64]:
    source = _source(context, project, saved.group)
    return source, source.members(saved.cohort_id)


def _shown(saved: SavedCohort) -> dict[str, Any]:
    shown: dict[str, Any] = msgspec.to_builtins(saved)
    return shown


def _cell(properties: dict[str, Any], name: str) -> str:
    """Empty when the profile lacks the property; text as it is; anything else as JSON."""
    if name not in properties:
        return ""
    value = properties[name]
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


# The HTTP handlers, registered by api/app.py.


def _now_ms() -> int:
    return int(time.time() * 1000)


def _create(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return JSONResponse(create(context, project, request.state.body, _now_ms()))


def _list(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return JSONResponse(list_all(context, project))


def _get(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return JSONResponse(get_one(context, project, request.path_params["cohort_id"]))


def _update(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    raw_id = request.path_params["cohort_id"]
    return JSONResponse(update(context, project, raw_id, request.state.body, _now_ms()))


def _delete(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return JSONResponse(delete(context, project, request.path_params["cohort_id"]))


def _users(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return users(context, project, request.path_params["cohort_id"], params)


def _mixpanel_list(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return JSONResponse(mixpanel_list(context, project, params))


Handler = Callable[[ApiContext, Project, dict[str, str], Request], Response]
# Paths relative to /api/v1/projects/{project_id}; ids are parsed by the handlers, so a
# malformed one is a 404 in the one error shape.
NATIVE_ROUTES: list[tuple[str, Handler, list[str]]] = [
    ("/cohorts", _create, ["POST"]),
    ("/cohorts", _list, ["GET"]),
    ("/cohorts/{cohort_id}", _get, ["GET"]),
    ("/cohorts/{cohort_id}", _update, ["PUT"]),
    ("/cohorts/{cohort_id}", _delete, ["DELETE"]),
    ("/cohorts/{cohort_id}/users", _users, ["GET"]),
]
# Paths relative to /api/2.0 and /api/query.
MIXPANEL_ROUTES: list[tuple[str, Handler, list[str]]] = [
    ("/cohorts/list", _mixpanel_list, ["GET", "POST"]),
]
