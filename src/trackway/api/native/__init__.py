"""trackway's own routes, under ``/api/v1/projects/{project_id}``: every report kind of the
registry with its spec as the body, saved objects, cohorts, users, and what the web app
reads; plus ``/api/v1/me``, the project a client's credentials open."""

from starlette.requests import Request
from starlette.responses import Response

from trackway.api.endpoints import Endpoint, Params, json
from trackway.api.native import cohorts, lexicon, reports, saved, users
from trackway.projects import Project
from trackway.services.context import Services

PREFIX = "/api/v1/projects/{project_id:int}"
ROUTES: list[Endpoint] = [
    *reports.ROUTES,
    *users.ROUTES,
    *saved.ROUTES,
    *cohorts.ROUTES,
    *lexicon.ROUTES,
]


def me(services: Services, project: Project, params: Params, _: Request) -> Response:
    shown = {
        "id": project.id,
        "name": project.name,
        "token": project.token,
        "timezone": project.timezone,
        "id_merge": project.id_merge,
        "created_ms": project.created_ms,
    }
    return json({"project": shown})


# Not under a project: a client holding only an API secret learns which project it opens.
ME = Endpoint("GET", "/api/v1/me", me, "The project these credentials open")
