"""The OpenAPI document of the query API, served at ``/api/v1/openapi.json``, made from the
route tables the server itself serves (``api/mixpanel/``, ``api/native/``): request and
response schemas come from the typed specs and results (the report registry's among them)."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from trackway.api import mixpanel, native
from trackway.api.endpoints import Endpoint

# Path parameters besides project_id, and what a 404 on them means.
_IDS = {
    "{funnel_id}": "No such saved funnel",
    "{cohort_id}": "No such saved cohort",
    "{report_id}": "No such saved report",
    "{dashboard_id}": "No such dashboard",
}
_NATIVE = "/api/v1/projects/{project_id}"


@cache
def openapi_document() -> dict[str, Any]:
    endpoints = [*mixpanel.ROUTES, *native.ROUTES, native.ME]
    types = {t for e in endpoints for t in (e.body, e.result) if t is not None}
    _, components = msgspec.json.schema_components(
        sorted(types, key=lambda t: t.__name__), ref_template="#/components/schemas/{name}"
    )
    paths: dict[str, dict[str, Any]] = {}
    for prefix in mixpanel.PREFIXES:
        for endpoint in mixpanel.ROUTES:
            operation = _operation(endpoint, [_query("project_id", False)])
            paths.setdefault(prefix + endpoint.path, {})[endpoint.method.lower()] = operation
    for endpoint in native.ROUTES:
        ids = [(name, missing) for name, missing in _IDS.items() if name in endpoint.path]
        parameters = [_path("project_id"), *(_path(name.strip("{}")) for name, _ in ids)]
        operation = _operation(endpoint, parameters)
        for _, missing in ids:
            operation["responses"]["404"] = {
                **operation["responses"]["401"],
                "description": missing,
            }
        paths.setdefault(_NATIVE + endpoint.path, {})[endpoint.method.lower()] = operation
    paths[native.ME.path] = {"get": _operation(native.ME, [_query("project_id", False)])}
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


def _operation(endpoint: Endpoint, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    ok: dict[str, Any] = {"description": "OK"}
    if endpoint.result is not None:
        ok["content"] = {"application/json": {"schema": _ref(endpoint.result)}}
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "parameters": [
            *parameters,
            *(_query(name, True) for name in endpoint.required),
            *(_query(name, False) for name in endpoint.optional),
        ],
        "responses": {
            "200": ok,
            "400": {"description": "Invalid parameters", **error},
            "401": {"description": "Invalid credentials", **error},
        },
    }
    if endpoint.body is not None:
        content: dict[str, Any] = {"schema": _ref(endpoint.body)}
        if endpoint.example is not None:
            content["example"] = endpoint.example
        operation["requestBody"] = {"required": True, "content": {"application/json": content}}
    return operation


def _ref(kind: type[Any]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{kind.__name__}"}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _query(name: str, required: bool) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": {"type": "string"}}


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
