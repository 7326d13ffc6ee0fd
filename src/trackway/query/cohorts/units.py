"""From member hashes back to who they are: each unit's id (the canonical distinct_id, or the
group id) and its profile properties, for listing and exporting a cohort's members.

Hashes do not invert, so ids come from where the hashes came from: the scan's rows (after
identity resolution or group re-keying, a row's ``distinct_id`` is its unit's id) and the
profile table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from trackway.query.context import ReportContext
from trackway.query.expr import UNDEFINED, JsonObject, Timestamp
from trackway.query.profile_table import ProfileTable
from trackway.types import I64


def unit_ids(context: ReportContext, hashes: I64, profiles: ProfileTable) -> list[str]:
    """The id of each of ``hashes`` (sorted, unique), in the same order."""
    known_hashes: list[I64] = [profiles.hashes]
    known_ids: list[Any] = [profiles.ids]
    for scan in context.reader.scan(
        context.project, ["user_hash", "distinct_id"], group=context.group
    ):
        users = np.asarray(scan.columns["user_hash"].to_numpy(), np.int64)
        rows = np.flatnonzero(np.isin(users, hashes))
        if len(rows) == 0:
            continue
        # One row per unit is enough: every row of a unit carries the same id.
        _, first = np.unique(users[rows], return_index=True)
        rows = rows[first]
        known_hashes.append(users[rows])
        ids = scan.columns["distinct_id"].take(rows).to_pylist()
        known_ids.append(np.array(ids, dtype=object))
    every_hash = np.concatenate(known_hashes)
    every_id = np.concatenate(known_ids)
    found, first = np.unique(every_hash, return_index=True)
    at = np.minimum(np.searchsorted(found, hashes), max(len(found) - 1, 0))
    ids_of = every_id[first]
    return [
        str(ids_of[i]) if len(found) and found[i] == h else str(h)
        for i, h in zip(at.tolist(), hashes.tolist(), strict=True)
    ]


def profile_names(profiles: dict[str, Any]) -> list[str]:
    """Every property name the profiles (states by key) have, with /engage's two dates."""
    names: set[str] = {"$created", "$last_seen"} if profiles else set()
    for state in profiles.values():
        names.update(state["properties"])
    return sorted(names)


def profile_properties(
    profiles: ProfileTable, hashes: I64, names: list[str]
) -> list[dict[str, Any]]:
    """Each unit's profile properties (``{}`` without a profile), as JSON values."""
    out: list[dict[str, Any]] = [{} for _ in range(len(hashes))]
    if len(profiles) == 0 or len(hashes) == 0:
        return out
    for name in names:
        for row, value in enumerate(profiles.vector(name, hashes).to_pylist()):
            if value is not UNDEFINED:
                out[row][name] = plain(value)
    return out


def plain(value: Any) -> Any:
    """A property value as the JSON value it was ingested as."""
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    if isinstance(value, JsonObject):
        return orjson.loads(value.text)
    if isinstance(value, Timestamp):
        return value.ms
    return value
