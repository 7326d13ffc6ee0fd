"""Mixpanel's ``/engage``: profiles in Mixpanel's shape, paged 1000 at a time, optionally
filtered by an expression over their properties (``where``), a cohort (``filter_by_cohort``)
or what their users did (``behaviors``)."""

from __future__ import annotations

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

from trackway.api import params as p
from trackway.api.endpoints import Endpoint, Params, json
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.cohorts.spec import KINDS, AllOf, CohortDefinition, parse_did
from trackway.query.errors import SpecError
from trackway.services.context import Services
from trackway.services.profiles import ProfileQuery, find_profiles

PAGE_SIZE = 1000
# Keys of Mixpanel's own behaviors objects, which trackway does not read.
_MIXPANEL_BEHAVIORS = ("event_selectors", "window", "dataset", "name", "filtering")


def engage(services: Services, project: Project, params: Params, _: Request) -> Response:
    group = params.get("data_group_id") or None
    wanted = p.json_list(params, "distinct_ids")
    single = params.get("distinct_id")
    if single:
        wanted = [*(wanted or []), single]
    query = ProfileQuery(
        group=group,
        distinct_ids=wanted,
        where=params.get("where") or None,
        cohort=_cohort(params["filter_by_cohort"], group)
        if params.get("filter_by_cohort")
        else None,
        behaviors=_behaviors(params["behaviors"]) if params.get("behaviors") else None,
        include_all_users=p.boolean(params, "include_all_users"),
        output_properties=p.json_list(params, "output_properties"),
    )
    found = find_profiles(services, project, query)
    page = p.integer(params, "page", 0, 0, 10**9) or 0
    session_id = params.get("session_id") or f"s{found.stored}-{len(found.ids)}"
    if page > 0 and not params.get("session_id"):
        raise PayloadError("Expected `session_id` from the previous page when `page` > 0")
    results = [
        {"$distinct_id": unit, "$properties": found.properties(unit)}
        for unit in found.ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    ]
    return json(
        {
            "page": page,
            "page_size": PAGE_SIZE,
            "session_id": session_id,
            "status": "ok",
            "total": len(found.ids),
            "results": results,
        }
    )


def _cohort(raw: str, group: str | None) -> int | CohortDefinition:
    """``{"id": N}`` (a saved cohort), or an unsaved definition: ``{"condition": ...}``
    (with ``group`` and ``name`` optional) or a bare condition such as ``{"did": {...}}``."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict) and set(value) == {"id"}:
        cohort_id = value["id"]
        if type(cohort_id) is not int or cohort_id < 1:
            raise PayloadError(f"Expected `filter_by_cohort` id as an integer, got {raw[:100]!r}")
        return int(cohort_id)
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in KINDS:
        value = {"condition": value}
    if not isinstance(value, dict) or "condition" not in value:
        raise PayloadError(
            'Expected `filter_by_cohort` as {"id": N} or a cohort definition'
            f' {{"condition": ...}}, got {raw[:100]!r}'
        )
    value = {"name": "filter_by_cohort", "group": group, **value}
    try:
        return msgspec.convert(value, CohortDefinition)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"Invalid `filter_by_cohort`: {exc}") from None


def _behaviors(raw: str) -> AllOf:
    """A ``did`` condition's object, or an array of them that must all hold."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    items = value if isinstance(value, list) else [value]
    shape = '{"event", "where", "at_least", "at_most", "within_days" or "from_date"/"to_date"}'
    if not items or not all(isinstance(item, dict) for item in items):
        raise PayloadError(
            f"Expected `behaviors` as a JSON object {shape} or an array of them, got {raw[:100]!r}"
        )
    for item in items:
        mixpanel = [key for key in _MIXPANEL_BEHAVIORS if key in item]
        if mixpanel:
            raise PayloadError(
                f"Expected `behaviors` in trackway's shape {shape}, got Mixpanel's"
                f" (`{mixpanel[0]}`), which is not supported"
            )
    try:
        dids = [parse_did(item, f"behaviors[{i}]") for i, item in enumerate(items)]
    except SpecError as exc:
        raise SpecError(
            f"Invalid `behaviors`: {exc.message.removeprefix('Invalid cohort definition: ')}"
        ) from None
    return AllOf(tuple(dids))


ROUTES = [
    Endpoint(
        method,
        "/engage",
        engage,
        "User or group profiles, 1000 a page",
        (),
        (
            "distinct_id",
            "distinct_ids",
            "output_properties",
            "data_group_id",
            "page",
            "session_id",
            "where",
            "filter_by_cohort",
            "behaviors",
            "include_all_users",
        ),
    )
    for method in ("POST", "GET")
]
