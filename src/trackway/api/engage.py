"""POST /api/2.0/engage: profiles in Mixpanel's shape, paged 1000 at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trackway.api import params as p
from trackway.api.context import ApiContext
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.storage.profiles import GROUP_SEPARATOR

PAGE_SIZE = 1000


def engage(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    group_key = params.get("data_group_id") or None
    states = context.profiles.current(project, "groups" if group_key else "users")
    wanted = p.json_list(params, "distinct_ids")
    single = params.get("distinct_id")
    if single:
        wanted = [*(wanted or []), single]
    if group_key:
        prefix = group_key + GROUP_SEPARATOR
        keys = sorted(k for k in states if k.startswith(prefix))
    else:
        keys = sorted(states)
    if wanted is not None:
        chosen = set(wanted if not group_key else [group_key + GROUP_SEPARATOR + w for w in wanted])
        keys = [k for k in keys if k in chosen]
    page = p.integer(params, "page", 0, 0, 10**9) or 0
    session_id = params.get("session_id") or f"s{len(states)}-{len(keys)}"
    if page > 0 and not params.get("session_id"):
        raise PayloadError("Expected `session_id` from the previous page when `page` > 0")
    outputs = p.json_list(params, "output_properties")
    results = []
    for key in keys[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        state = states[key]
        props = dict(state["properties"])
        props.setdefault("$created", _iso(state["created_ms"]))
        props["$last_seen"] = _iso(state["last_seen_ms"])
        if outputs is not None:
            props = {name: props[name] for name in outputs if name in props}
        entry: dict[str, Any] = {
            "$distinct_id": key.split(GROUP_SEPARATOR, 1)[-1],
            "$properties": props,
        }
        results.append(entry)
    return {
        "page": page,
        "page_size": PAGE_SIZE,
        "session_id": session_id,
        "status": "ok",
        "total": len(keys),
        "results": results,
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
