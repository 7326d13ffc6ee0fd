"""Events as columns: schema on read, every property a typed column of the part it lands in.

A property's column is named by its type and its escaped name: ``ps_plan`` (string),
``pi_`` (integer), ``pf_`` (float), ``pb_`` (boolean), ``pj_`` (JSON text: null, lists and
objects). A property that is a string in one event and a number in another lands in two
columns and loses nothing; the query layer reads both. Column names keep only
``[a-z0-9_.~$-]`` and escape every other character (capitals too) as ``%XX``, because Delta
and Parquet reserve some characters in names and Delta ignores case.
"""

from __future__ import annotations

import json
from collections.abc import Container
from typing import Any
from urllib.parse import unquote

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

# Columns every part has, in (shard, user_hash, time) order.
FIXED_SCHEMA = pa.schema(
    [
        ("shard", pa.int16()),
        ("user_hash", pa.int64()),
        ("time", pa.int64()),
        ("event", pa.dictionary(pa.int32(), pa.string())),
        ("distinct_id", pa.string()),
        ("insert_id", pa.string()),
        ("received_ms", pa.int64()),
    ]
)
FIXED = tuple(FIXED_SCHEMA.names)
# The hash of the distinct_id a row was sent with, in parts written with identity resolved
# (docs/identity.md): set where the row is stored under another user, null where the two are
# one. Parts written before a project's first merge have no such column.
SENT_HASH = "sent_hash"
# Properties held in fixed columns instead of property columns.
PROMOTED = {
    "time": "time",
    "distinct_id": "distinct_id",
    "$insert_id": "insert_id",
    "mp_processing_time_ms": "received_ms",
}
KIND_TYPES: dict[str, pa.DataType] = {
    "s": pa.dictionary(pa.int32(), pa.string()),
    "i": pa.int64(),
    "f": pa.float64(),
    "b": pa.bool_(),
    "j": pa.string(),
}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.~$-")


def property_column(name: str, kind: str) -> str:
    # Delta compares column names without case: capitals are escaped too, so "Plan" and
    # "plan" get distinct columns.
    if not _PLAIN.issuperset(name):
        name = "".join(c if c in _PLAIN else "".join(f"%{b:02X}" for b in c.encode()) for c in name)
    return f"p{kind}_{name}"


def column_type(column: str) -> pa.DataType:
    """The Arrow type readers get for a stored column, fixed or property."""
    if column in FIXED_SCHEMA.names:
        return FIXED_SCHEMA.field(column).type
    if column == SENT_HASH:
        return pa.int64()
    parsed = parse_property_column(column)
    if parsed is None:
        raise KeyError(column)
    return KIND_TYPES[parsed[1]]


def conform(array: pa.Array | pa.ChunkedArray, wanted: pa.DataType) -> pa.Array:
    """An array read back from a part in the type the readers expect: Delta rewrites (DELETE,
    schema merge) may hand back string views or plain strings where parts wrote dictionaries."""
    if isinstance(array, pa.ChunkedArray):
        # combine_chunks copies even a single chunk
        array = array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    if array.type == wanted:
        return array
    if pa.types.is_dictionary(wanted):
        if pa.types.is_dictionary(array.type):
            return array.cast(wanted)
        return array.cast(pa.string()).dictionary_encode().cast(wanted)
    return array.cast(wanted)


def table_column(table: pa.Table, column: str) -> pa.Array:
    """A column of an in-memory table in the type readers get (nulls where it has none)."""
    if column in table.column_names:
        return conform(table.column(column), column_type(column))
    return pa.nulls(table.num_rows, column_type(column))


def parse_property_column(column: str) -> tuple[str, str] | None:
    """(property name, kind) of a property column; None for a fixed column."""
    if not is_property_column(column):
        return None
    name = column[3:]
    return unquote(name) if "%" in name else name, column[1]


def is_property_column(column: str) -> bool:
    return len(column) >= 3 and column[0] == "p" and column[2] == "_" and column[1] in KIND_TYPES


def value_kind(value: Any) -> str:
    """The property-column kind (s, i, f, b, j) a JSON value is stored under."""
    kind = type(value)
    if kind is str:
        return "s"
    if kind is float:
        return "f"
    if kind is bool:
        return "b"
    if kind is int and _INT64_MIN <= value <= _INT64_MAX:
        return "i"
    return "j"


def add_cells(
    cells: dict[str, tuple[list[int], list[Any]]],
    column_names: dict[tuple[str, str], str],
    row: int,
    props: dict[str, Any],
    skip: Container[str] = (),
) -> None:
    """Spread one row's properties over their typed columns (sparse: rows, values)."""
    for key, value in props.items():
        if key in skip:
            continue
        kind = value_kind(value)
        column = column_names.get((key, kind))
        if column is None:
            column = column_names[(key, kind)] = property_column(key, kind)
        rows, values = cells.setdefault(column, ([], []))
        rows.append(row)
        values.append(json_text(value) if kind == "j" else value)


def json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits (a profile's $add can make one)
        return json.dumps(value)


def cell_arrays(
    cells: dict[str, tuple[list[int], list[Any]]], n: int, order: npt.NDArray[np.int64]
) -> dict[str, pa.Array]:
    """Dense Arrow columns (nulls where a row lacks the property), rows taken in ``order``."""
    arrays: dict[str, pa.Array] = {}
    for column in sorted(cells):
        rows, values = cells[column]
        full = np.full(n, None, dtype=object)
        full[rows] = values
        kind = column[1]
        array = pa.array(full, KIND_TYPES["j" if kind == "s" else kind]).take(order)
        arrays[column] = array.dictionary_encode() if kind == "s" else array
    return arrays


def column_properties(table: pa.Table) -> list[dict[str, Any]]:
    """Each row's properties, read back from its typed property columns."""
    props: list[dict[str, Any]] = [{} for _ in range(table.num_rows)]
    for column in table.column_names:
        parsed = parse_property_column(column)
        if parsed is None:
            continue
        name, kind = parsed
        for row, value in enumerate(table.column(column).to_pylist()):
            if value is not None:
                props[row][name] = orjson.loads(value) if kind == "j" else value
    return props


def table_to_events(table: pa.Table, time_in_ms: bool = True) -> list[dict[str, Any]]:
    """Rows back to events in the normal form (what export returns)."""
    columns = {name: table.column(name).to_pylist() for name in FIXED if name in table.column_names}
    props = column_properties(table)
    times = columns["time"]
    for row, p in enumerate(props):
        fixed = {
            "time": times[row] if time_in_ms else times[row] // 1000,
            "distinct_id": columns["distinct_id"][row],
            "$insert_id": columns["insert_id"][row],
            "mp_processing_time_ms": columns["received_ms"][row],
        }
        props[row] = {**fixed, **p}
    events = columns["event"]
    return [{"event": events[row], "properties": props[row]} for row in range(len(props))]
