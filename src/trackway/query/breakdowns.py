"""Breakdowns: what a report segments by, and each row's segment.

Each shard labels its rows locally (a dictionary-encoded property yields its dictionary);
the labels of all shards are then dictionary-encoded together, which maps every local code
to a global one without a Python loop over values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.query.expr import UNDEFINED_LABEL, Vector, segment_keys
from trackway.types import I32

SEPARATOR = "\x1f"  # between the parts of a label of several breakdowns
OTHER = "$other"  # the segments not shown, together


class Breakdown(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Segment by a property's value or an expression's; numbers may be bucketed: ``"auto"``
    or explicit edges."""

    property: str | None = None
    expression: str | None = None
    buckets: Literal["auto"] | list[float] | None = None


def property_expression(name: str) -> str:
    """The expression that reads the event property ``name``."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'properties["{escaped}"]'


def numbers_of(vector: Vector) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Which rows hold a number, and the numbers (as floats)."""
    valid = vector.numeric()
    if vector.numbers is None:
        return valid, np.zeros(len(vector))
    return valid, np.asarray(np.broadcast_to(vector.numbers, len(vector)), np.float64)


@dataclass(frozen=True, slots=True)
class LocalSegments:
    codes: I32  # per row, -1 when the row has no segment
    labels: pa.Array  # label of each local code


def string_segments(column: pa.Array) -> LocalSegments:
    """Segments straight from a dictionary-encoded string column: its codes and dictionary,
    plus the label of rows without the property (as the expression path labels them)."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    dictionary = column.dictionary.cast(pa.string())
    missing = len(dictionary)
    indices = column.indices.fill_null(missing) if column.null_count else column.indices
    labels = pa.concat_arrays([dictionary, pa.array([UNDEFINED_LABEL], pa.string())])
    return LocalSegments(np.asarray(indices.to_numpy(zero_copy_only=False), np.int32), labels)


def local_segments(vectors: list[Vector], breakdowns: list[Breakdown], rows: int) -> LocalSegments:
    if not breakdowns:
        return LocalSegments(np.zeros(rows, np.int32), pa.array([""]))
    parts = [
        _codes(vector, breakdown) for vector, breakdown in zip(vectors, breakdowns, strict=True)
    ]
    if len(parts) == 1:
        return parts[0]
    # Several breakdowns: combine the codes, then label each combination that occurs.
    combined = np.zeros(rows, np.int64)
    missing = np.zeros(rows, bool)
    for part in parts:
        combined = combined * (len(part.labels) + 1) + (part.codes.astype(np.int64) + 1)
        missing |= part.codes < 0  # a row outside any numeric bucket has no segment
    combined[missing] = -1
    unique, codes = np.unique(combined, return_inverse=True)
    labels: list[str] = []
    for combination in unique.tolist():
        names = []
        rest = combination
        for part in reversed(parts):
            rest, code = divmod(rest, len(part.labels) + 1)
            names.append("" if code == 0 else part.labels[code - 1].as_py())
        labels.append(SEPARATOR.join(reversed(names)))
    local: I32 = codes.astype(np.int32)
    if len(unique) and unique[0] == -1:  # the missing rows' "combination"
        local -= 1
        labels = labels[1:]
    return LocalSegments(local, pa.array(labels, pa.string()))


def _codes(vector: Vector, breakdown: Breakdown) -> LocalSegments:
    if breakdown.buckets is None:
        codes, labels = segment_keys(vector)
        return LocalSegments(np.asarray(codes, np.int32), pa.array(labels, pa.string()))
    valid, numbers = numbers_of(vector)
    edges = breakdown.buckets if breakdown.buckets != "auto" else auto_edges(numbers[valid])
    edges_array = np.asarray(sorted(set(edges)), np.float64)
    if len(edges_array) < 2:
        edges_array = np.array([edges_array[0] if len(edges_array) else 0.0, math.inf])
    index = np.searchsorted(edges_array, numbers, side="right") - 1
    inside = valid & (index >= 0) & (index < len(edges_array) - 1)
    codes = np.where(inside, index, -1).astype(np.int32)
    labels = [
        f"{_number(edges_array[i])} - {_number(edges_array[i + 1])}"
        for i in range(len(edges_array) - 1)
    ]
    return LocalSegments(codes, pa.array(labels, pa.string()))


def auto_edges(values: npt.NDArray[np.float64], target: int = 10) -> list[float]:
    """About ``target`` equal-width buckets with round edges covering every value."""
    if len(values) == 0:
        return [0.0, 1.0]
    low, high = float(values.min()), float(values.max())
    if low == high:
        return [low, low + 1]
    raw = (high - low) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    count = math.floor((high - start) / step) + 1
    return [start + i * step for i in range(count + 1)]


def _number(value: float) -> str:
    if math.isinf(value):
        return "inf"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.6g}"


def unify(labels: list[pa.Array]) -> tuple[list[I32], pa.Array]:
    """Global codes for every shard's local labels, and the global labels."""
    if not labels:
        return [], pa.array([], pa.string())
    encoded = pa.concat_arrays([part.cast(pa.string()) for part in labels]).dictionary_encode()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int32)
    bounds = np.cumsum([0] + [len(part) for part in labels])
    remaps = [codes[bounds[i] : bounds[i + 1]] for i in range(len(labels))]
    return remaps, encoded.dictionary
