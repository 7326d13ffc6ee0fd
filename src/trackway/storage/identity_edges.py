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

from trackway.storage.arrays import (
    arrow_of,
    nonempty_of,
    numpy_of,
    strings_of,
    valid_of,
    values_of,
)
from trackway.storage.columns import property_column
from trackway.storage.sharding import user_hash

Columns = Callable[[str], pa.Array]  # a column of the part by stored name (nulls if absent)
IDENTITY_EVENTS = ("$identify", "$create_alias", "$merge")


# Device edges as a table, one row per device: the first event (by arrival, then event
# time, then user id) that ties it to a user, with both ids' hashes.
DEVICE_EDGES = pa.schema(
    [
        ("received", pa.int64()),
        ("time", pa.int64()),
        ("user", pa.string()),
        ("device", pa.string()),  # "$device:<device_id>"
        ("device_hash", pa.int64()),
        ("user_hash", pa.int64()),
    ]
)


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


def device_edges(columns: Columns, keep: np.ndarray | None) -> pa.Table:
    """Per device, its first event that names a user (rows outside ``keep`` ignored)."""
    devices = _text(columns, "$device_id")
    users = _text(columns, "$user_id")
    mask = nonempty_of(devices) & nonempty_of(users)
    if keep is not None:
        mask &= keep
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return no_device_edges()
    taken = arrow_of(rows)
    device = strings_of(["$device:" + d for d in devices.take(taken).to_pylist()])
    user = users.take(taken)
    table = pa.table(
        [
            columns("received_ms").take(taken),
            columns("time").take(taken),
            user,
            device,
            _hashes(device),
            _hashes(user),
        ],
        schema=DEVICE_EDGES,
    )
    return first_edges(table)


def no_device_edges() -> pa.Table:
    # (Schema.empty_table would import pandas, a third of a second of a fresh process.)
    return pa.table([pa.nulls(0, field.type) for field in DEVICE_EDGES], schema=DEVICE_EDGES)


def first_edges(edges: pa.Table) -> pa.Table:
    """Of device edges, each device's first, in device hash order: sorted by the numbers
    (device, arrival, event time); only devices whose first two tie on them compare users."""
    if edges.num_rows == 0:
        return edges

    def numbers(name: str) -> np.ndarray:
        return np.asarray(numpy_of(edges.column(name)), np.int64)

    hashes, received, times = numbers("device_hash"), numbers("received"), numbers("time")
    order = np.lexsort((times, received, hashes))
    h, r, t = hashes[order], received[order], times[order]
    starts = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
    first = order[starts]
    # A device whose next edge ties with its first on arrival and time: the smaller user id.
    nexts = starts + 1
    inside = nexts < len(order)
    tied = np.zeros(len(starts), bool)
    tied[inside] = (
        (h[nexts[inside]] == h[starts[inside]])
        & (r[nexts[inside]] == r[starts[inside]])
        & (t[nexts[inside]] == t[starts[inside]])
    )
    if tied.any():
        users = edges.column("user")
        ends = np.append(starts[1:], len(order))
        for k in np.flatnonzero(tied).tolist():
            run = order[starts[k] : ends[k]]
            same = run[(received[run] == r[starts[k]]) & (times[run] == t[starts[k]])]
            names = users.take(arrow_of(same)).to_pylist()
            first[k] = same[min(range(len(same)), key=names.__getitem__)]
    return edges.take(arrow_of(first))


def _hashes(ids: pa.Array) -> pa.Array:
    """``user_hash`` of each id, each distinct id hashed once."""
    encoded = ids.dictionary_encode()
    unique = np.fromiter(
        (user_hash(d) for d in encoded.dictionary.to_pylist()), np.int64, len(encoded.dictionary)
    )
    return arrow_of(unique[np.asarray(numpy_of(encoded.indices), np.int64)])


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
