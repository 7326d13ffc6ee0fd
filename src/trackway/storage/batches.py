"""Events to one Arrow table, sorted by (shard, user, time), a column at a time.

The storage worker's hot path. Looking at every property of every event in Python costs
about as much as everything else the worker does together, so this works on groups instead:
events whose properties have the same names in the same order (one SDK's events of one kind)
are transposed at once (``map`` of ``itemgetter``, in C), and each property's values are
typed with one pass of ``type`` over them. Only a property whose values mix types (a string
here, a number there, a null, a list) is split value by value. Batches with too many
distinct shapes fall back to the row-by-row path, which gives the same table.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, count
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.storage.columns import (
    KIND_TYPES,
    PROMOTED,
    add_cells,
    cell_arrays,
    json_text,
    property_column,
    value_kind,
)
from trackway.storage.sharding import shard_of, user_hash

# Rows per distinct shape below which the row-by-row path is cheaper.
_MIN_ROWS_PER_SHAPE = 8
_SIMPLE_KINDS: dict[type, str] = {str: "s", float: "f", bool: "b", int: "i"}

# A property's values: (rows, values) pieces, one per shape that has it.
Pieces = list[tuple[npt.NDArray[np.int64], Sequence[Any]]]


def events_to_table(events: list[dict[str, Any]], shards: int) -> pa.Table:
    """Normalised events (ingest's normal form) to one Arrow table sorted by (shard, user, time)."""
    props = list(map(itemgetter("properties"), events))
    pieces = transpose(props)
    n = len(events)
    if pieces is None or any(
        sum(len(rows) for rows, _ in pieces.get(key, ())) != n for key in PROMOTED
    ):
        return events_by_row(events, shards)
    times = _in_row_order(pieces.pop("time"), pa.int64()).to_numpy()
    received = _in_row_order(pieces.pop("mp_processing_time_ms"), pa.int64()).to_numpy()
    distinct_ids = _in_row_order(pieces.pop("distinct_id"), pa.string())
    insert_ids = _in_row_order(pieces.pop("$insert_id"), pa.string())
    names = pa.array(list(map(itemgetter("event"), events)))
    order, arrays = _fixed(shards, names, distinct_ids, insert_ids, times, received)
    columns: dict[str, tuple[npt.NDArray[np.int64], pa.Array]] = {}
    for name, name_pieces in pieces.items():
        columns.update(typed_columns(name, name_pieces))
    for column in sorted(columns):
        array = dense(*columns[column], n, order)
        arrays[column] = array.dictionary_encode() if column[1] == "s" else array
    return pa.table(arrays)


def events_by_row(events: list[dict[str, Any]], shards: int) -> pa.Table:
    """The same table, built one event at a time: for batches of many shapes (and the oracle
    of the column-at-a-time path)."""
    n = len(events)
    names: list[str] = []
    distinct_ids: list[str] = []
    times = np.empty(n, np.int64)
    received = np.empty(n, np.int64)
    insert_ids: list[str] = []
    cells: dict[str, tuple[list[int], list[Any]]] = {}
    column_names: dict[tuple[str, str], str] = {}
    for row, event in enumerate(events):
        props = event["properties"]
        names.append(event["event"])
        distinct_ids.append(props["distinct_id"])
        insert_ids.append(props["$insert_id"])
        times[row] = props["time"]
        received[row] = props["mp_processing_time_ms"]
        add_cells(cells, column_names, row, props, PROMOTED)
    order, arrays = _fixed(
        shards,
        pa.array(names),
        pa.array(distinct_ids, pa.string()),
        pa.array(insert_ids, pa.string()),
        times,
        received,
    )
    arrays.update(cell_arrays(cells, n, order))
    return pa.table(arrays)


def _fixed(
    shards: int,
    names: pa.Array,
    distinct_ids: pa.Array,
    insert_ids: pa.Array,
    times: npt.NDArray[np.int64],
    received: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], dict[str, pa.Array]]:
    """The (shard, user, time) order of the rows and the fixed columns in it."""
    encoded = distinct_ids.dictionary_encode()
    ids = encoded.dictionary.to_pylist()
    hashes = np.fromiter(map(user_hash, ids), np.int64, len(ids))[encoded.indices.to_numpy()]
    shard = shard_of(hashes, shards)
    order = np.lexsort((times, hashes, shard))
    return order, {
        "shard": pa.array(shard[order]),
        "user_hash": pa.array(hashes[order]),
        "time": pa.array(times[order]),
        "event": names.take(order).dictionary_encode(),
        "distinct_id": distinct_ids.take(order),
        "insert_id": insert_ids.take(order),
        "received_ms": pa.array(received[order]),
    }


def _in_row_order(pieces: Pieces, kind: pa.DataType) -> pa.Array:
    """A property every row has, as one array in row order."""
    if len(pieces) == 1:
        return pa.array(pieces[0][1], kind)
    rows = np.concatenate([r for r, _ in pieces])
    values = pa.array(list(chain.from_iterable(vs for _, vs in pieces)), kind)
    return values.take(np.argsort(rows, kind="stable"))


def transpose(props: list[dict[str, Any]]) -> dict[str, Pieces] | None:
    """Each property name's pieces; None when the batch has too many shapes to be worth it."""
    # Each shape numbered by the row that first has it (dict.setdefault over a counter, in C).
    first_rows: dict[tuple[str, ...], int] = {}
    shape_ids = np.fromiter(
        map(first_rows.setdefault, map(tuple, props), count()), np.int64, len(props)
    )
    if len(first_rows) * _MIN_ROWS_PER_SHAPE > len(props):
        return None
    by_shape = np.argsort(shape_ids, kind="stable")
    starts = np.searchsorted(shape_ids[by_shape], sorted(first_rows.values()))
    groups = np.split(by_shape, starts[1:])
    out: dict[str, Pieces] = {}
    for keys, positions in zip(sorted(first_rows, key=first_rows.__getitem__), groups, strict=True):
        if not keys:
            continue
        members = props if len(positions) == len(props) else itemgetter(*positions)(props)
        if len(positions) == 1:
            members = [members]
        for key in keys:
            out.setdefault(key, []).append((positions, list(map(itemgetter(key), members))))
    return out


def typed_columns(name: str, pieces: Pieces) -> dict[str, tuple[npt.NDArray[np.int64], pa.Array]]:
    """One property's typed columns: column name -> (rows, values as Arrow), rows ascending
    within each shape; a value of an unexpected type sends this property down the slow path."""
    types: set[type] = set()
    for _, values in pieces:
        types.update(map(type, values))
    if len(types) == 1:
        kind = _SIMPLE_KINDS.get(next(iter(types)))
        if kind is not None:
            rows = np.concatenate([r for r, _ in pieces])
            values = list(chain.from_iterable(vs for _, vs in pieces))
            try:
                array = pa.array(values, KIND_TYPES["j" if kind == "s" else kind])
            except (OverflowError, pa.ArrowInvalid):  # an integer beyond 64 bits
                pass
            else:
                return {property_column(name, kind): (rows, array)}
    return _by_value(name, pieces)


def _by_value(name: str, pieces: Pieces) -> dict[str, tuple[npt.NDArray[np.int64], pa.Array]]:
    split: dict[str, tuple[list[int], list[Any]]] = {}
    for rows, values in pieces:
        for row, value in zip(rows.tolist(), values, strict=True):
            kind = value_kind(value)
            kind_rows, kind_values = split.setdefault(kind, ([], []))
            kind_rows.append(row)
            kind_values.append(json_text(value) if kind == "j" else value)
    return {
        property_column(name, kind): (
            np.array(rows, np.int64),
            pa.array(values, KIND_TYPES["j" if kind == "s" else kind]),
        )
        for kind, (rows, values) in split.items()
    }


def dense(
    rows: npt.NDArray[np.int64], values: pa.Array, n: int, order: npt.NDArray[np.int64]
) -> pa.Array:
    """A column of ``n`` rows (null where a row lacks it), rows taken in ``order``."""
    if len(rows) == n:
        where = np.empty(n, np.int64)
        where[rows] = np.arange(n)
        return values.take(where[order])
    where = np.full(n, -1, np.int64)
    where[rows] = np.arange(len(rows))
    taken = where[order]
    return values.take(pa.array(taken, mask=taken < 0))
