"""POST /api/2.0/engage: profiles in Mixpanel's shape, paged 1000 at a time, optionally
filtered by an expression over their properties (``where``), a cohort (``filter_by_cohort``)
or what their users did (``behaviors``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np
import orjson

from trackway.api import params as p
from trackway.api.context import ApiContext
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.cohorts.evaluate import CohortMembers
from trackway.query.cohorts.profile_view import ProfileView
from trackway.query.cohorts.spec import KINDS, AllOf, CohortDefinition, check_definition, parse_did
from trackway.query.cohorts.units import unit_ids
from trackway.query.context import ReportContext
from trackway.query.expr import ExpressionError, compile_expression
from trackway.query.profiles import ProfileTable
from trackway.storage.profile_ops import Profile
from trackway.storage.profiles import GROUP_SEPARATOR
from trackway.storage.sharding import user_hash
from trackway.types import I64

PAGE_SIZE = 1000
# Keys of Mixpanel's own behaviors objects, which trackway does not read.
_MIXPANEL_BEHAVIORS = ("event_selectors", "window", "dataset", "name", "filtering")


def engage(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    group_key = params.get("data_group_id") or None
    states = context.profiles.current(project, "groups" if group_key else "users")
    wanted = p.json_list(params, "distinct_ids")
    single = params.get("distinct_id")
    if single:
        wanted = [*(wanted or []), single]
    prefix = "" if group_key is None else group_key + GROUP_SEPARATOR
    every = sorted(k[len(prefix) :] for k in states if k.startswith(prefix))
    ids = every if wanted is None else [i for i in every if i in set(wanted)]
    if params.get("where") or params.get("filter_by_cohort") or params.get("behaviors"):
        source = CohortMembers(ReportContext(context.events, project, group=group_key))
        ids = _filtered(source, {i: states[prefix + i] for i in ids}, every, wanted, params)
    page = p.integer(params, "page", 0, 0, 10**9) or 0
    session_id = params.get("session_id") or f"s{len(states)}-{len(ids)}"
    if page > 0 and not params.get("session_id"):
        raise PayloadError("Expected `session_id` from the previous page when `page` > 0")
    outputs = p.json_list(params, "output_properties")
    results = []
    for unit in ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        state = states.get(prefix + unit)
        props: dict[str, Any] = {}
        if state is not None:  # else a cohort member without a profile (include_all_users)
            props = dict(state["properties"])
            props.setdefault("$created", _iso(state["created_ms"]))
            props["$last_seen"] = _iso(state["last_seen_ms"])
        if outputs is not None:
            props = {name: props[name] for name in outputs if name in props}
        results.append({"$distinct_id": unit, "$properties": props})
    return {
        "page": page,
        "page_size": PAGE_SIZE,
        "session_id": session_id,
        "status": "ok",
        "total": len(ids),
        "results": results,
    }


def _filtered(
    source: CohortMembers,
    profiles: dict[str, Profile],
    every: list[str],
    wanted: list[str] | None,
    params: dict[str, str],
) -> list[str]:
    """The ids (sorted) of the listed ``profiles`` that pass ``where``, ``filter_by_cohort``
    and ``behaviors``. With ``include_all_users`` (and no ``where``, which needs a profile),
    the cohort's members without any profile (of ``every``) are listed too."""
    ids = list(profiles)
    where = params.get("where")
    if where:
        try:
            expression = compile_expression(where)
        except ExpressionError as exc:
            raise PayloadError(f"Invalid `where`: {exc.message}") from None
        table = ProfileTable.from_states(profiles, None, None)  # one row per listed profile
        view = ProfileView(table, source.members, _units(source, table.ids.tolist()))
        kept = set(table.ids[view.mask(expression)].tolist())
        ids = [i for i in ids if i in kept]
    members: I64 | None = None
    if params.get("filter_by_cohort"):
        members = _cohort_members(source, params["filter_by_cohort"])
    if params.get("behaviors"):
        found = source.evaluate(_behaviors(params["behaviors"]))
        members = found if members is None else np.intersect1d(members, found)
    if members is None:
        return ids
    ids = [i for i, keep in zip(ids, np.isin(_units(source, ids), members), strict=True) if keep]
    if p.boolean(params, "include_all_users") and not where:
        without = np.setdiff1d(members, _units(source, every))
        extra = unit_ids(source.context, without, source.profiles())
        if wanted is not None:
            extra = [i for i in extra if i in set(wanted)]
        ids = sorted([*ids, *extra])
    return ids


def _units(source: CohortMembers, ids: list[str]) -> I64:
    """The unit each profile belongs to: its distinct_id's resolved user, or its group."""
    identity = source.context.identity if source.group is None else None
    return np.fromiter(
        (user_hash(i if identity is None else identity.canonical(i)) for i in ids),
        np.int64,
        len(ids),
    )


def _cohort_members(source: CohortMembers, raw: str) -> I64:
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
        return source.members(cohort_id)
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in KINDS:
        value = {"condition": value}
    if not isinstance(value, dict) or "condition" not in value:
        raise PayloadError(
            'Expected `filter_by_cohort` as {"id": N} or a cohort definition'
            f' {{"condition": ...}}, got {raw[:100]!r}'
        )
    value = {"name": "filter_by_cohort", "group": source.group, **value}
    try:
        definition = msgspec.convert(value, CohortDefinition)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"Invalid `filter_by_cohort`: {exc}") from None
    check_definition(definition)
    return source.unsaved(definition)


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
    except PayloadError as exc:
        raise PayloadError(
            f"Invalid `behaviors`: {exc.message.removeprefix('Invalid cohort definition: ')}"
        ) from None
    return AllOf(tuple(dids))


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
