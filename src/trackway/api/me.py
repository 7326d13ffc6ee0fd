"""``GET /api/v1/me``: the project the request's credentials open, so a client holding only
an API secret learns which project it is (the web app's sign-in)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from trackway.api.context import ApiContext
from trackway.projects import Project


def me(context: ApiContext, project: Project, params: dict[str, str], request: Request) -> Response:
    shown = {
        "id": project.id,
        "name": project.name,
        "token": project.token,
        "timezone": project.timezone,
        "id_merge": project.id_merge,
        "created_ms": project.created_ms,
    }
    return JSONResponse({"project": shown})
