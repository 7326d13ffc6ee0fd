"""The OpenAPI document of the query API, served at ``/api/v1/openapi.json``.

A test checks that every route the server has is described here."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from trackway.query.spec import InsightsSpec

_DATES = ["from_date", "to_date"]
# path (relative to /api/2.0 and /api/query), method, summary, query parameters (required first)
MIXPANEL: list[tuple[str, str, str, list[str], list[str]]] = [
    (
        "/export",
        "get",
        "Raw events as JSON lines",
        _DATES,
        ["event", "limit", "time_in_ms", "where", "as_of_version", "as_of_timestamp"],
    ),
    (
        "/engage",
        "post",
        "User or group profiles, 1000 a page",
        [],
        ["distinct_id", "distinct_ids", "output_properties", "data_group_id", "page", "session_id"],
    ),
    (
        "/engage",
        "get",
        "User or group profiles, 1000 a page",
        [],
        ["distinct_id", "distinct_ids", "output_properties", "data_group_id", "page", "session_id"],
    ),
    (
        "/segmentation",
        "get",
        "Events over time, optionally segmented by `on`",
        ["event", *_DATES],
        ["on", "unit", "where", "limit", "type"],
    ),
    (
        "/segmentation/numeric",
        "get",
        "Events over time, segmented by numeric buckets of `on`",
        ["event", *_DATES, "on"],
        ["unit", "where", "type"],
    ),
    (
        "/segmentation/sum",
        "get",
        "Sum of the numeric expression `on` over time",
        ["event", *_DATES, "on"],
        ["unit", "where"],
    ),
    (
        "/segmentation/average",
        "get",
        "Average of the numeric expression `on` over time",
        ["event", *_DATES, "on"],
        ["unit", "where"],
    ),
    ("/events", "get", "Several events over time", ["event", *_DATES], ["type", "unit"]),
    (
        "/events/top",
        "get",
        "Today's top events with the change since yesterday",
        [],
        ["type", "limit"],
    ),
    (
        "/events/names",
        "get",
        "Event names, most common first (last 31 days)",
        [],
        ["type", "limit"],
    ),
    (
        "/events/properties",
        "get",
        "An event over time segmented by a property",
        ["event", "name", *_DATES],
        ["values", "type", "unit", "limit"],
    ),
    (
        "/events/properties/top",
        "get",
        "An event's most common properties (last 31 days)",
        ["event"],
        ["limit"],
    ),
    (
        "/events/properties/values",
        "get",
        "A property's most common values (last 31 days)",
        ["name"],
        ["event", "limit"],
    ),
]
NATIVE: list[tuple[str, str, str]] = [
    ("/insights", "post", "Run an Insights report (body: InsightsSpec)"),
    ("/deletions", "post", "Delete users (GDPR): `distinct_ids`, a JSON array"),
    ("/versions", "get", "The events table's versions, newest first"),
]


@cache
def openapi_document() -> dict[str, Any]:
    schemas, components = msgspec.json.schema_components(
        [InsightsSpec], ref_template="#/components/schemas/{name}"
    )
    paths: dict[str, dict[str, Any]] = {}
    for prefix in ("/api/2.0", "/api/query"):
        for path, method, summary, required, optional in MIXPANEL:
            parameters = [_query(name, True) for name in required] + [
                _query(name, False) for name in optional
            ]
            parameters.append(_query("project_id", False))
            paths.setdefault(prefix + path, {})[method] = _operation(summary, parameters)
    for path, method, summary in NATIVE:
        operation = _operation(
            summary,
            [{"name": "project_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        )
        if path == "/insights":
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schemas[0]}},
            }
        paths.setdefault(f"/api/v1/projects/{{project_id}}{path}", {})[method] = operation
    paths["/api/v1/openapi.json"] = {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "OK"}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "trackway query API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {**components, "Error": _ERROR},
            "securitySchemes": {
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "API secret as user name and an empty password, or a service account with project_id",
                }
            },
        },
        "security": [{"basic": []}],
    }


def _query(name: str, required: bool) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": {"type": "string"}}


def _operation(summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "summary": summary,
        "parameters": parameters,
        "responses": {
            "200": {"description": "OK"},
            "400": {"description": "Invalid parameters", **error},
            "401": {"description": "Invalid credentials", **error},
        },
    }


_ERROR = {
    "type": "object",
    "required": ["code", "error", "status", "error_code"],
    "properties": {
        "code": {"type": "integer"},
        "error": {"type": "string"},
        "status": {"type": "string"},
        "error_code": {"type": "string"},
    },
}
