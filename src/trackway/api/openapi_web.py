"""The OpenAPI entries of the routes the web app reads (docs/web.md): the lexicon, the live
feed, freshness, saved reports and dashboards. Part of ``api/openapi.py``'s document."""

from __future__ import annotations

from trackway.api.report_store import DashboardRequest, ReportRequest

_SCHEMA = "The last 31 days by default, or `from_date`..`to_date` in `timezone`"
# path (relative to /api/v1/projects/{project_id}), method, summary, request body schema
WEB_NATIVE: list[tuple[str, str, str, str | None]] = [
    ("/schema/events", "get", f"Event names with counts, most first. {_SCHEMA}", None),
    (
        "/schema/properties",
        "get",
        f"Properties (of `event`, else of all events) with types and counts. {_SCHEMA}",
        None,
    ),
    ("/schema/values", "get", f"A property's (`name`) top values with counts. {_SCHEMA}", None),
    (
        "/events/latest",
        "get",
        "The latest events to arrive, newest first: `limit`, `after` (a cursor)",
        None,
    ),
    (
        "/freshness",
        "get",
        "The newest event and the ingestion lag, optionally over `from_date`..`to_date`",
        None,
    ),
    ("/reports", "post", "Save a report", "ReportRequest"),
    ("/reports", "get", "The saved reports", None),
    ("/reports/{report_id}", "get", "One saved report", None),
    ("/reports/{report_id}", "put", "Replace a saved report", "ReportRequest"),
    ("/reports/{report_id}", "delete", "Delete a saved report (and take it off dashboards)", None),
    ("/dashboards", "post", "Save a dashboard", "DashboardRequest"),
    ("/dashboards", "get", "The dashboards", None),
    ("/dashboards/{dashboard_id}", "get", "One dashboard", None),
    ("/dashboards/{dashboard_id}", "put", "Replace a dashboard", "DashboardRequest"),
    ("/dashboards/{dashboard_id}", "delete", "Delete a dashboard", None),
]
WEB_SCHEMAS = [ReportRequest, DashboardRequest]
WEB_IDS = {"{report_id}": "No such saved report", "{dashboard_id}": "No such dashboard"}
