"""Saved reports, dashboards and saved funnels: CRUD under ``/reports``, ``/dashboards``
and ``/saved-funnels`` (saved funnels are the saved reports of kind ``funnels`` with a
definition, shown in the shape Mixpanel's clients know)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from trackway.api.endpoints import Endpoint, Params, decode, json, path_id
from trackway.projects import Project
from trackway.saved.objects import Dashboard, SavedReport
from trackway.services import saved
from trackway.services.context import Services, now_ms
from trackway.services.saved import DashboardRequest, FunnelRequest, ReportRequest


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of saved object and the use cases for it."""

    name: str  # "report": routes /reports and /reports/{report_id}
    what: str  # in messages
    request: type[Any]
    result: type[Any]
    add: Callable[[Services, Project, Any, int], Any]
    every: Callable[[Services, Project], Any]
    one: Callable[[Services, Project, int], Any]
    replace: Callable[[Services, Project, int, Any, int], Any]
    remove: Callable[[Services, Project, int, int], None]


def _routes(kind: _Kind) -> list[Endpoint]:
    """POST and GET on the collection; GET, PUT and DELETE on one saved object."""
    key = f"{kind.name}_id"

    def number(request: Request) -> int:
        return path_id(request, key, kind.name)

    def create(services: Services, project: Project, _: Params, r: Request) -> Response:
        body = decode(r.state.body, kind.request, kind.what)
        return json(kind.add(services, project, body, now_ms()))

    def every(services: Services, project: Project, _: Params, r: Request) -> Response:
        return json({f"{kind.name}s": kind.every(services, project)})

    def one(services: Services, project: Project, _: Params, r: Request) -> Response:
        return json(kind.one(services, project, number(r)))

    def replace(services: Services, project: Project, _: Params, r: Request) -> Response:
        body = decode(r.state.body, kind.request, kind.what)
        return json(kind.replace(services, project, number(r), body, now_ms()))

    def delete(services: Services, project: Project, _: Params, r: Request) -> Response:
        found = number(r)
        kind.remove(services, project, found, now_ms())
        return json({key: found, "deleted": True})

    collection, item = f"/{kind.name}s", f"/{kind.name}s/{{{key}}}"
    return [
        Endpoint("POST", collection, create, f"Save a {kind.name}", body=kind.request),
        Endpoint("GET", collection, every, f"The saved {kind.name}s"),
        Endpoint("GET", item, one, f"One saved {kind.name}", result=kind.result),
        Endpoint("PUT", item, replace, f"Replace a saved {kind.name}", body=kind.request),
        Endpoint("DELETE", item, delete, f"Delete a saved {kind.name}"),
    ]


REPORTS = _Kind(
    "report",
    "saved report",
    ReportRequest,
    SavedReport,
    saved.add_report,
    saved.reports,
    saved.report,
    saved.replace_report,
    saved.remove_report,
)
DASHBOARDS = _Kind(
    "dashboard",
    "dashboard",
    DashboardRequest,
    Dashboard,
    saved.add_dashboard,
    saved.dashboards,
    saved.dashboard,
    saved.replace_dashboard,
    lambda services, project, n, _: saved.remove_dashboard(services, project, n),
)


# --- saved funnels ---


def _funnel(report: SavedReport) -> dict[str, Any]:
    return {
        "funnel_id": report.id,
        "name": report.name,
        "funnel": report.definition,
        "created_ms": report.created_ms,
    }


def create_funnel(services: Services, project: Project, _: Params, r: Request) -> Response:
    request = decode(r.state.body, FunnelRequest, "saved funnel")
    found = saved.add_funnel(services, project, request, now_ms())
    return json({"funnel_id": found.id, "name": found.name})


def funnels(services: Services, project: Project, _: Params, r: Request) -> Response:
    return json({"funnels": [_funnel(f) for f in saved.funnels(services, project)]})


def funnel(services: Services, project: Project, _: Params, r: Request) -> Response:
    found = saved.funnel(services, project, path_id(r, "funnel_id", "funnel"))
    return json(_funnel(found))


def delete_funnel(services: Services, project: Project, _: Params, r: Request) -> Response:
    number = path_id(r, "funnel_id", "funnel")
    saved.remove_funnel(services, project, number, now_ms())
    return json({"funnel_id": number, "deleted": True})


# Ids are parsed by the handlers, so a malformed one is a 404 in the one error shape.
ROUTES = [
    *_routes(REPORTS),
    *_routes(DASHBOARDS),
    Endpoint(
        "POST",
        "/saved-funnels",
        create_funnel,
        "Save a funnel definition (a saved report of kind funnels)",
        body=FunnelRequest,
    ),
    Endpoint("GET", "/saved-funnels", funnels, "The saved funnels with their definitions"),
    Endpoint("GET", "/saved-funnels/{funnel_id}", funnel, "One saved funnel"),
    Endpoint("DELETE", "/saved-funnels/{funnel_id}", delete_funnel, "Delete a saved funnel"),
]
