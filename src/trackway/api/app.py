"""The query HTTP API: Mixpanel's shapes (``api/mixpanel/``) and trackway's native routes
(``api/native/``), each an ``Endpoint`` of its face's route table, plus the OpenAPI document.

Every answer that is an error has one JSON shape (``trackway.errors.error_body``) with a
stable ``error_code``; a client's mistake is a 4xx, never a 500.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from trackway.api import mixpanel, native
from trackway.api import params as p
from trackway.api.auth import authenticate
from trackway.api.endpoints import Endpoint
from trackway.api.openapi import openapi_document
from trackway.errors import NotFoundError, PayloadError, RouteError, UserError, error_body
from trackway.services.context import Services

logger = logging.getLogger(__name__)


def create_api(services: Services) -> Starlette:
    routes = [Route("/api/v1/openapi.json", _openapi, methods=["GET"])]
    routes.append(_route(services, native.ME.path, native.ME))
    for prefix in mixpanel.PREFIXES:
        routes += [_route(services, prefix + e.path, e) for e in mixpanel.ROUTES]
    routes += [_route(services, native.PREFIX + e.path, e) for e in native.ROUTES]
    return Starlette(
        routes=routes,
        exception_handlers={
            UserError: _user_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )


def _route(services: Services, path: str, endpoint: Endpoint) -> Route:
    async def run(request: Request) -> Response:
        # Read once here (Starlette keeps it for form parsing): handlers then run on a
        # worker thread, so a long report never holds up the event loop and ingestion.
        request.state.body = await request.body()
        params = await p.request_params(request)
        path_project = request.path_params.get("project_id")
        if path_project is not None:
            params.setdefault("project_id", str(path_project))
            if params["project_id"] != str(path_project):
                raise PayloadError("Expected `project_id` to match the project in the path")
        project = authenticate(request.headers.get("authorization", ""), params, services.catalog)
        if path_project is not None and project.id != path_project:
            raise NotFoundError(f"Expected a project these credentials open, got {path_project}")
        endpoint.check_params(params)
        return await run_in_threadpool(endpoint.handler, services, project, params, request)

    return Route(path, run, methods=[endpoint.method])


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


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
