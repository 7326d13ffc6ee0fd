"""The identity facts carried by stored events, read column-wise from one part (or the tail).

Simplified ID merge: per ``$device_id``, the first event (by arrival, then event time, then
user id) that also carries a ``$user_id``. Original ID merge: every ``$identify``,
``$create_alias`` and (imported) ``$merge`` event, in arrival order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from trackway.storage.arrays import arrow_of, nonempty_of, strings_of, valid_of, values_of
from trackway.storage.columns import property_column
from trackway.storage.sharding import user_hash

Columns = Callable[[str], pa.Array]  # a column of the part by stored name (nulls if absent)
IDENTITY_EVENTS = ("$identify", "$create_alias", "$merge")


class DeviceEdge(NamedTuple):
    received_ms: int
    time: int
    user_id: str
    device: str  # "$device:<device_id>"
    device_hash: int  # user_hash of each id, computed once where the edge is read
    user_hash: int


class MergeEdge(NamedTuple):
    received_ms: int
    time: int
    position: int  # order within the part, for equal arrival and time
    kind: str  # "identify" | "alias" | "merge"
    ids: tuple[str, ...]  # identify: (identified, anon); alias: (existing, alias); merge: (a, b)


def _text(columns: Columns, name: str) -> pa.Array:
    """A property as text: its string column, else its integer one (ids may be numbers)."""
    strings = columns(property_column(name, "s")).cast(pa.string())
    integers = columns(property_column(name, "i")).cast(pa.string())
    return pc.coalesce(strings, integers)


def device_edges(columns: Columns, keep: np.ndarray | None) -> list[DeviceEdge]:
    """Per device, its first event that names a user (rows outside ``keep`` ignored)."""
    devices = _text(columns, "$device_id")
    users = _text(columns, "$user_id")
    mask = nonempty_of(devices) & nonempty_of(users)
    if keep is not None:
        mask &= keep
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return []
    taken = arrow_of(rows)
    table = pa.table(
        {
            "device": devices.take(taken),
            "user": users.take(taken),
            "received": columns("received_ms").take(taken),
            "time": columns("time").take(taken),
        }
    )
    table = table.sort_by(
        [
            ("device", "ascending"),
            ("received", "ascending"),
            ("time", "ascending"),
            ("user", "ascending"),
        ]
    )
    device = table.column("device").to_pylist()
    first = [0] + [i for i in range(1, len(device)) if device[i] != device[i - 1]]
    picked = table.take(arrow_of(np.asarray(first, np.int64)))
    return [
        DeviceEdge(r, t, u, "$device:" + d, user_hash("$device:" + d), user_hash(u))
        for d, u, r, t in zip(
            picked.column("device").to_pylist(),
            picked.column("user").to_pylist(),
            picked.column("received").to_pylist(),
            picked.column("time").to_pylist(),
            strict=True,
        )
    ]


def merge_edges(columns: Columns, keep: np.ndarray | None) -> list[MergeEdge]:
    """Every identity event of the part, read as the edge it asks for."""
    events = columns("event").cast(pa.string())
    found = pc.is_in(events, strings_of(IDENTITY_EVENTS))
    mask = values_of(found) & valid_of(found)
    if keep is not None:
        mask &= keep
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return []
    taken = arrow_of(rows)

    def values(array: pa.Array) -> list[Any]:
        return array.take(taken).to_pylist()  # type: ignore[no-any-return]

    names = values(events)
    received = values(columns("received_ms"))
    times = values(columns("time"))
    distinct = values(columns("distinct_id"))
    identified = values(_text(columns, "$identified_id"))
    anon = values(_text(columns, "$anon_id"))
    alias = values(_text(columns, "alias"))
    merged = values(columns(property_column("$distinct_ids", "j")))
    imported = values(columns(property_column("$import", "b")))
    out = []
    for i, name in enumerate(names):
        ids: tuple[str, ...] | None = None
        if name == "$identify" and identified[i] and anon[i]:
            ids, kind = (str(identified[i]), str(anon[i])), "identify"
        elif name == "$create_alias" and distinct[i] and alias[i]:
            ids, kind = (str(distinct[i]), str(alias[i])), "alias"
        elif name == "$merge" and imported[i] is True and merged[i]:
            pair = orjson.loads(str(merged[i]))
            if (
                isinstance(pair, list)
                and len(pair) == 2
                and all(
                    isinstance(x, str | int) and not isinstance(x, bool) and x != "" for x in pair
                )
            ):
                ids, kind = (str(pair[0]), str(pair[1])), "merge"
        if ids is not None and ids[0] != ids[1]:
            out.append(MergeEdge(int(received[i]), int(times[i]), int(rows[i]), kind, ids))
    return out
