"""Saved reports and dashboards over HTTP: CRUD under ``/api/v1/projects/{id}/reports`` and
``/api/v1/projects/{id}/dashboards`` (the store is ``api/report_store.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of saved object and the store's methods for it."""

    name: str  # "report": routes /reports and /reports/{report_id}
    request: type[Any]
    add: Callable[[ReportStore, Any, int], Any]
    every: Callable[[ReportStore], Any]
    one: Callable[[ReportStore, int], Any]
    replace: Callable[[ReportStore, int, Any, int], Any]
    remove: Callable[[ReportStore, int, int], None]


def _routes(kind: _Kind) -> list[tuple[str, Handler, list[str]]]:
    """POST and GET on the collection; GET, PUT and DELETE on one saved object."""
    what = "saved report" if kind.name == "report" else kind.name
    key = f"{kind.name}_id"

    def number(request: Request) -> int:
        return _id(request.path_params[key], kind.name)

    def create(context: ApiContext, project: Project, _: dict[str, str], r: Request) -> Response:
        body = _decode(r.state.body, kind.request, what)
        return _json(kind.add(_store(context, project), body, _now_ms()))

    def every(context: ApiContext, project: Project, _: dict[str, str], r: Request) -> Response:
        return _json({f"{kind.name}s": kind.every(_store(context, project))})

    def one(context: ApiContext, project: Project, _: dict[str, str], r: Request) -> Response:
        return _json(kind.one(_store(context, project), number(r)))

    def replace(context: ApiContext, project: Project, _: dict[str, str], r: Request) -> Response:
        body = _decode(r.state.body, kind.request, what)
        return _json(kind.replace(_store(context, project), number(r), body, _now_ms()))

    def delete(context: ApiContext, project: Project, _: dict[str, str], r: Request) -> Response:
        found = number(r)
        kind.remove(_store(context, project), found, _now_ms())
        return _json({key: found, "deleted": True})

    collection, item = f"/{kind.name}s", f"/{kind.name}s/{{{key}}}"
    return [
        (collection, create, ["POST"]),
        (collection, every, ["GET"]),
        (item, one, ["GET"]),
        (item, replace, ["PUT"]),
        (item, delete, ["DELETE"]),
    ]


REPORTS = _Kind(
    "report",
    ReportRequest,
    lambda store, body, now: store.add_report(body, now),
    lambda store: store.reports(),
    lambda store, n: store.report(n),
    lambda store, n, body, now: store.replace_report(n, body, now),
    lambda store, n, now: store.remove_report(n, now),
)
DASHBOARDS = _Kind(
    "dashboard",
    DashboardRequest,
    lambda store, body, now: store.add_dashboard(body, now),
    lambda store: store.dashboards(),
    lambda store, n: store.dashboard(n),
    lambda store, n, body, now: store.replace_dashboard(n, body, now),
    lambda store, n, _: store.remove_dashboard(n),
)
# Paths relative to /api/v1/projects/{project_id}; ids are parsed by the handlers, so a
# malformed one is a 404 in the one error shape.
NATIVE_ROUTES: list[tuple[str, Handler, list[str]]] = [*_routes(REPORTS), *_routes(DASHBOARDS)]
