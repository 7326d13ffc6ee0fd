"""The query HTTP API: Mixpanel's export and engage shapes plus trackway's native routes.

Every answer that is an error has one JSON shape (``trackway.errors.error_body``) with a
stable ``error_code``; a client's mistake is a 4xx, never a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from trackway.api import (
    behaviour,
    cohorts,
    lexicon,
    live,
    saved_funnels,
    saved_reports,
    segmentation,
    stream,
)
from trackway.api import params as p
from trackway.api.auth import authenticate
from trackway.api.context import ApiContext
from trackway.api.engage import engage
from trackway.api.export import export
from trackway.api.freshness import fresh
from trackway.api.identity import identity
from trackway.api.insights import insights
from trackway.api.me import me
from trackway.api.openapi import openapi_document
from trackway.errors import NotFoundError, PayloadError, RouteError, UserError, error_body
from trackway.projects import Project
from trackway.storage.deletions import DeletionList
from trackway.storage.layout import ProjectPaths

logger = logging.getLogger(__name__)
Handler = Callable[[ApiContext, Project, dict[str, str], Request], Response]


def create_api(context: ApiContext) -> Starlette:
    def route(path: str, handler: Handler, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            # Read once here (Starlette keeps it for form parsing): handlers then run on a
            # worker thread, so a long report never holds up the event loop and ingestion.
            request.state.body = await request.body()
            params = await p.request_params(request)
            path_project = request.path_params.get("project_id")
            if path_project is not None:
                params.setdefault("project_id", str(path_project))
                if params["project_id"] != str(path_project):
                    raise PayloadError("Expected `project_id` to match the project in the path")
            project = authenticate(
                request.headers.get("authorization", ""), params, context.catalog
            )
            if path_project is not None and project.id != path_project:
                raise NotFoundError(
                    f"Expected a project these credentials open, got {path_project}"
                )
            return await run_in_threadpool(handler, context, project, params, request)

        return Route(path, endpoint, methods=methods)

    routes = [Route("/api/v1/openapi.json", _openapi, methods=["GET"])]
    routes.append(route("/api/v1/me", me, ["GET"]))
    for prefix in ("/api/2.0", "/api/query"):
        routes += [
            route(f"{prefix}{path}", handler, methods) for path, handler, methods in MIXPANEL_ROUTES
        ]
    routes += [
        route(f"/api/v1/projects/{{project_id:int}}{path}", handler, methods)
        for path, handler, methods in NATIVE_ROUTES
    ]
    return Starlette(
        routes=routes,
        exception_handlers={
            UserError: _user_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )


def _insights(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return JSONResponse(insights(context, project, request.state.body))


def _segmentation(variant: str | None) -> Handler:
    def handler(
        context: ApiContext, project: Project, params: dict[str, str], request: Request
    ) -> Response:
        return JSONResponse(segmentation.segmentation(context, project, params, variant))

    return handler


def _report(kind: str) -> Handler:
    def handler(
        context: ApiContext, project: Project, params: dict[str, str], request: Request
    ) -> Response:
        return JSONResponse(behaviour.run_native(context, project, kind, request.state.body))

    return handler


def _save_funnel(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    now_ms = int(time.time() * 1000)
    return JSONResponse(saved_funnels.create(context, project, request.state.body, now_ms))


def _saved_funnel(function: Callable[[ApiContext, Project, str], Any]) -> Handler:
    def handler(
        context: ApiContext, project: Project, params: dict[str, str], request: Request
    ) -> Response:
        return JSONResponse(function(context, project, request.path_params["funnel_id"]))

    return handler


def _json(function: Callable[[ApiContext, Project, dict[str, str]], Any]) -> Handler:
    def handler(
        context: ApiContext, project: Project, params: dict[str, str], request: Request
    ) -> Response:
        return JSONResponse(function(context, project, params))

    return handler


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def _export(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return export(context, project, params, request.headers.get("accept-encoding", ""))


def _engage(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    return JSONResponse(engage(context, project, params))


def _delete_users(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    ids = p.json_list(params, "distinct_ids")
    if ids is None:
        raise PayloadError("Expected `distinct_ids`: a JSON array of up to 2000 strings")
    now_ms = int(time.time() * 1000)
    # Every id of each user's identity cluster goes: the person, not one of their ids.
    deleted = DeletionList(ProjectPaths(context.data_dir, project.id).deletions).add(
        ids, now_ms, context.events.identity(project)
    )
    body = {
        "status": "ok",
        "deleted": len(deleted),
        "deleted_ids": [d.distinct_id for d in deleted],
        "deleted_at_ms": now_ms,
    }
    return JSONResponse(body)


def _versions(
    context: ApiContext, project: Project, params: dict[str, str], request: Request
) -> Response:
    snapshot = context.events.snapshot(project)
    history: list[dict[str, Any]] = snapshot.table.history(100) if snapshot is not None else []
    versions = [
        {
            "version": h.get("version"),
            "timestamp_ms": h.get("timestamp"),
            "operation": h.get("operation"),
        }
        for h in history
    ]
    return JSONResponse({"status": "ok", "versions": versions})


MIXPANEL_ROUTES: list[tuple[str, Handler, list[str]]] = [
    ("/export", _export, ["GET"]),
    ("/engage", _engage, ["GET", "POST"]),
    ("/segmentation", _segmentation(None), ["GET"]),
    ("/segmentation/numeric", _segmentation("numeric"), ["GET"]),
    ("/segmentation/sum", _segmentation("sum"), ["GET"]),
    ("/segmentation/average", _segmentation("average"), ["GET"]),
    ("/events", _json(segmentation.events), ["GET"]),
    ("/events/top", _json(segmentation.top_events), ["GET"]),
    ("/events/names", _json(segmentation.event_names), ["GET"]),
    ("/events/properties", _json(segmentation.event_properties), ["GET"]),
    ("/events/properties/top", _json(segmentation.top_properties), ["GET"]),
    ("/events/properties/values", _json(segmentation.property_values), ["GET"]),
    ("/funnels", _json(behaviour.funnels), ["GET"]),
    ("/funnels/list", _json(behaviour.funnel_list), ["GET"]),
    ("/retention", _json(behaviour.retention), ["GET"]),
    ("/retention/addiction", _json(behaviour.addiction), ["GET"]),
    ("/stream/query", _json(stream.stream_query), ["GET"]),
    *cohorts.MIXPANEL_ROUTES,
]
NATIVE_ROUTES: list[tuple[str, Handler, list[str]]] = [
    ("/insights", _insights, ["POST"]),
    ("/deletions", _delete_users, ["POST"]),
    ("/versions", _versions, ["GET"]),
    ("/identity", _json(identity), ["GET"]),
    *[(f"/{kind}", _report(kind), ["POST"]) for kind in behaviour.REPORTS],
    ("/saved-funnels", _save_funnel, ["POST"]),
    ("/saved-funnels", _json(lambda c, project, _: saved_funnels.list_all(c, project)), ["GET"]),
    # The id is parsed by the handler: a malformed one is then a 404 in the one error shape.
    ("/saved-funnels/{funnel_id}", _saved_funnel(saved_funnels.get_one), ["GET"]),
    ("/saved-funnels/{funnel_id}", _saved_funnel(saved_funnels.delete), ["DELETE"]),
    *cohorts.NATIVE_ROUTES,
    ("/schema/events", _json(lexicon.events), ["GET"]),
    ("/schema/properties", _json(lexicon.properties), ["GET"]),
    ("/schema/values", _json(lexicon.values), ["GET"]),
    ("/events/latest", _json(live.latest), ["GET"]),
    ("/freshness", _json(fresh), ["GET"]),
    *saved_reports.NATIVE_ROUTES,
]


async def _user_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UserError)
    return Response(error_body(exc), exc.status, media_type="application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = RouteError(
        f"Expected a known /api route and method, got {request.method} {request.url.path}",
        exc.status_code,
    )
    return Response(error_body(error), exc.status_code, media_type="application/json")


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.exception("API request failed: %s %s", request.method, request.url.path, exc_info=exc)
    body = {
        "code": 500,
        "error": f"internal error: {type(exc).__name__}",
        "status": "Internal Server Error",
        "error_code": "internal",
    }
    return JSONResponse(body, 500)
