"""The OpenAPI document of the query API, served at ``/api/v1/openapi.json``.

A test checks that every route the server has is described here."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from trackway.api.openapi_web import WEB_IDS, WEB_NATIVE, WEB_SCHEMAS
from trackway.query.behaviour.spec import (
    FlowsSpec,
    FrequencySpec,
    FunnelSpec,
    LifecycleSpec,
    RetentionSpec,
)
from trackway.query.cohorts.spec import CohortDefinition
from trackway.query.spec import InsightsSpec

_DATES = ["from_date", "to_date"]
_ENGAGE = ["distinct_id", "distinct_ids", "output_properties", "data_group_id", "page"]
_ENGAGE += ["session_id", "where", "filter_by_cohort", "behaviors", "include_all_users"]
# path (relative to /api/2.0 and /api/query), method, summary, query parameters (required first)
MIXPANEL: list[tuple[str, str, str, list[str], list[str]]] = [
    (
        "/export",
        "get",
        "Raw events as JSON lines",
        _DATES,
        ["event", "limit", "time_in_ms", "where", "as_of_version", "as_of_timestamp"],
    ),
    ("/engage", "post", "User or group profiles, 1000 a page", [], _ENGAGE),
    ("/engage", "get", "User or group profiles, 1000 a page", [], _ENGAGE),
    ("/cohorts/list", "post", "The saved cohorts with their current counts", [], []),
    ("/cohorts/list", "get", "The saved cohorts with their current counts", [], []),
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
    (
        "/funnels",
        "get",
        "A funnel's steps per date: a saved funnel (`funnel_id`) or `steps` (a JSON array)",
        _DATES,
        ["funnel_id", "steps", "length", "length_unit", "interval", "unit", "on", "where", "limit"],
    ),
    ("/funnels/list", "get", "The saved funnels: id and name", [], []),
    (
        "/retention",
        "get",
        "Retention cohorts: first-time (`birth`) or recurring (`compounded`)",
        _DATES,
        [
            "retention_type",
            "born_event",
            "event",
            "born_where",
            "where",
            "unit",
            "interval",
            "interval_count",
            "unbounded_retention",
        ],
    ),
    (
        "/retention/addiction",
        "get",
        "Frequency: users active in at least k hours or days of each period",
        _DATES,
        ["unit", "addiction_unit", "event", "where"],
    ),
    (
        "/stream/query",
        "get",
        "Activity feed: the events of users' whole identity clusters, oldest first",
        ["distinct_ids", *_DATES],
        ["limit"],
    ),
]


def documented_params(path: str) -> set[str]:
    """The query parameters a Mixpanel route takes, as this document lists them: the one
    list the handlers check requests against."""
    for route, _, _, required, optional in MIXPANEL:
        if route == path:
            return {*required, *optional}
    raise KeyError(path)


# path (relative to /api/v1/projects/{project_id}), method, summary, request body schema
NATIVE: list[tuple[str, str, str, str | None]] = [
    ("/insights", "post", "Run an Insights report (body: InsightsSpec)", "InsightsSpec"),
    ("/deletions", "post", "Delete users (GDPR): `distinct_ids`, a JSON array", None),
    ("/versions", "get", "The events table's versions, newest first", None),
    ("/identity", "get", "The identity cluster of `distinct_id` (a query parameter)", None),
    ("/funnels", "post", "Run a funnel (body: FunnelSpec)", "FunnelSpec"),
    ("/retention", "post", "Run a retention report (body: RetentionSpec)", "RetentionSpec"),
    ("/flows", "post", "Run a flows report (body: FlowsSpec)", "FlowsSpec"),
    ("/frequency", "post", "Run a frequency report (body: FrequencySpec)", "FrequencySpec"),
    ("/lifecycle", "post", "Run a lifecycle report (body: LifecycleSpec)", "LifecycleSpec"),
    ("/saved-funnels", "post", "Save a funnel definition", "SavedFunnelRequest"),
    ("/saved-funnels", "get", "The saved funnels with their definitions", None),
    ("/saved-funnels/{funnel_id}", "get", "One saved funnel", None),
    ("/saved-funnels/{funnel_id}", "delete", "Delete a saved funnel", None),
    ("/cohorts", "post", "Save a cohort definition", "CohortDefinition"),
    ("/cohorts", "get", "The saved cohorts with their definitions", None),
    ("/cohorts/{cohort_id}", "get", "One saved cohort and its current count", None),
    ("/cohorts/{cohort_id}", "put", "Replace a saved cohort's definition", "CohortDefinition"),
    ("/cohorts/{cohort_id}", "delete", "Delete a saved cohort", None),
    (
        "/cohorts/{cohort_id}/users",
        "get",
        "A cohort's members: `page`, `page_size`, `format`",
        None,
    ),
    *WEB_NATIVE,
]
_SPECS = [InsightsSpec, FunnelSpec, RetentionSpec, FlowsSpec, FrequencySpec, LifecycleSpec]
_SPECS += [CohortDefinition, *WEB_SCHEMAS]
# Path parameters besides project_id, and what a 404 on them means.
_IDS = {"{funnel_id}": "No such saved funnel", "{cohort_id}": "No such saved cohort", **WEB_IDS}


@cache
def openapi_document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        _SPECS, ref_template="#/components/schemas/{name}"
    )
    components["SavedFunnelRequest"] = _SAVED_FUNNEL
    paths: dict[str, dict[str, Any]] = {}
    for prefix in ("/api/2.0", "/api/query"):
        for path, method, summary, required, optional in MIXPANEL:
            parameters = [_query(name, True) for name in required] + [
                _query(name, False) for name in optional
            ]
            parameters.append(_query("project_id", False))
            paths.setdefault(prefix + path, {})[method] = _operation(summary, parameters)
    for path, method, summary, body in NATIVE:
        parameters = [_path("project_id")]
        ids = [(name, missing) for name, missing in _IDS.items() if name in path]
        parameters += [_path(name.strip("{}")) for name, _ in ids]
        operation = _operation(summary, parameters)
        for _, missing in ids:
            operation["responses"]["404"] = {
                **operation["responses"]["401"],
                "description": missing,
            }
        if body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}
                },
            }
        paths.setdefault(f"/api/v1/projects/{{project_id}}{path}", {})[method] = operation
    me = _operation("The project these credentials open", [_query("project_id", False)])
    paths["/api/v1/me"] = {"get": me}
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


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


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


_SAVED_FUNNEL = {
    "type": "object",
    "required": ["name", "funnel"],
    "properties": {
        "name": {"type": "string"},
        "funnel": {
            "type": "object",
            "description": "FunnelSpec's fields except `from_date` and `to_date`",
        },
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
