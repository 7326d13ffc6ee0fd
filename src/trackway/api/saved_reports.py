"""Saved reports and dashboards over HTTP: CRUD under ``/api/v1/projects/{id}/reports`` and
``/api/v1/projects/{id}/dashboards`` (the store is ``api/report_store.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from trackway.api.context import ApiContext
from trackway.api.report_store import DashboardRequest, ReportRequest, ReportStore
from trackway.errors import NotFoundError, PayloadError
from trackway.projects import Project

_T = TypeVar("_T")
Handler = Callable[[ApiContext, Project, dict[str, str], Request], Response]


def _decode(body: bytes, kind: type[_T], what: str) -> _T:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"Invalid {what}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"Expected a JSON {what}: {exc}") from None


def _id(raw: str, what: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise NotFoundError(f"Expected a saved {what} id (an integer), got {raw[:40]!r}")
    return int(raw)


def _store(context: ApiContext, project: Project) -> ReportStore:
    return ReportStore.of(context.data_dir, project.id)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _json(value: Any) -> Response:
    return JSONResponse(msgspec.to_builtins(value))


# --- reports ---


def _create_report(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    body = _decode(request.state.body, ReportRequest, "saved report")
    return _json(_store(context, project).add_report(body, _now_ms()))


def _list_reports(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return _json({"reports": _store(context, project).reports()})


def _get_report(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    number = _id(request.path_params["report_id"], "report")
    return _json(_store(context, project).report(number))


def _replace_report(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    number = _id(request.path_params["report_id"], "report")
    body = _decode(request.state.body, ReportRequest, "saved report")
    return _json(_store(context, project).replace_report(number, body, _now_ms()))


def _delete_report(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    number = _id(request.path_params["report_id"], "report")
    _store(context, project).remove_report(number, _now_ms())
    return _json({"report_id": number, "deleted": True})


# --- dashboards ---


def _create_dashboard(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    body = _decode(request.state.body, DashboardRequest, "dashboard")
    return _json(_store(context, project).add_dashboard(body, _now_ms()))


def _list_dashboards(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return _json({"dashboards": _store(context, project).dashboards()})


def _get_dashboard(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    number = _id(request.path_params["dashboard_id"], "dashboard")
    return _json(_store(context, project).dashboard(number))


def _replace_dashboard(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    number = _id(request.path_params["dashboard_id"], "dashboard")
    body = _decode(request.state.body, DashboardRequest, "dashboard")
    return _json(_store(context, project).replace_dashboard(number, body, _now_ms()))


def _delete_dashboard(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    number = _id(request.path_params["dashboard_id"], "dashboard")
    _store(context, project).remove_dashboard(number)
    return _json({"dashboard_id": number, "deleted": True})


# Paths relative to /api/v1/projects/{project_id}; ids are parsed by the handlers, so a
# malformed one is a 404 in the one error shape.
NATIVE_ROUTES: list[tuple[str, Handler, list[str]]] = [
    ("/reports", _create_report, ["POST"]),
    ("/reports", _list_reports, ["GET"]),
    ("/reports/{report_id}", _get_report, ["GET"]),
    ("/reports/{report_id}", _replace_report, ["PUT"]),
    ("/reports/{report_id}", _delete_report, ["DELETE"]),
    ("/dashboards", _create_dashboard, ["POST"]),
    ("/dashboards", _list_dashboards, ["GET"]),
    ("/dashboards/{dashboard_id}", _get_dashboard, ["GET"]),
    ("/dashboards/{dashboard_id}", _replace_dashboard, ["PUT"]),
    ("/dashboards/{dashboard_id}", _delete_dashboard, ["DELETE"]),
]
