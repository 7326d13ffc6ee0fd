"""``POST /api/v1/projects/{id}/<kind>`` for every kind of the report registry: the body is
the kind's spec, the answer its typed result."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from trackway.api.endpoints import Endpoint, Handler, Params, json
from trackway.projects import Project
from trackway.query.reports import REPORTS, ReportKind
from trackway.services import reports
from trackway.services.context import Services


def _run(kind: ReportKind[Any, Any]) -> Handler:
    def handler(services: Services, project: Project, params: Params, request: Request) -> Response:
        return json(reports.run_json(services, project, kind.name, request.state.body))

    return handler


ROUTES = [
    Endpoint(
        "POST",
        f"/{kind.name}",
        _run(kind),
        f"{kind.summary} (body: {kind.spec.__name__})",
        body=kind.spec,
        result=kind.result,
        example={"from_date": "2026-11-02", "to_date": "2026-11-29", **kind.example},
    )
    for kind in REPORTS.values()
]
