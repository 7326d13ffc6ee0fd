"""Arrow columns as numpy arrays and back, through their buffers.

pyarrow's own bridges (``Array.to_numpy``, ``pa.array`` of a numpy array, ``take`` with a
numpy index) import pandas on first use, about a third of a second of a fresh process: more
than decoding three columns of a million rows. The scan converts its fixed-width columns
here instead, as views where Arrow's layout allows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

_NUMPY: dict[pa.DataType, type[np.generic]] = {
    pa.int8(): np.int8,
    pa.int16(): np.int16,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.uint8(): np.uint8,
    pa.uint16(): np.uint16,
    pa.uint32(): np.uint32,
    pa.uint64(): np.uint64,
    pa.float32(): np.float32,
    pa.float64(): np.float64,
}
_ARROW: dict[np.dtype[Any], pa.DataType] = {np.dtype(d): t for t, d in _NUMPY.items()}


def numpy_of(array: pa.Array | pa.ChunkedArray) -> npt.NDArray[Any]:
    """The values of a numeric or boolean array: a read-only view of its buffer when it is
    one chunk of fixed-width values without nulls. Anything else (nulls, strings) goes
    through pyarrow's own conversion."""
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks == 1:
            return numpy_of(array.chunk(0))
        if array.null_count or not _fixed_width(array.type):
            return np.asarray(array.to_numpy())
        parts = [values_of(chunk) for chunk in array.chunks]
        return np.concatenate(parts) if parts else np.empty(0, _NUMPY.get(array.type, np.bool_))
    if array.null_count or not _fixed_width(array.type):
        return np.asarray(array.to_numpy(zero_copy_only=False))
    return values_of(array)


def values_of(array: pa.Array) -> npt.NDArray[Any]:
    """The value buffer of a numeric or boolean array as numpy (a view, except for booleans,
    which Arrow packs in bits); entries under nulls hold whatever the buffer holds."""
    n, offset = len(array), array.offset
    buffer = array.buffers()[1]
    if pa.types.is_boolean(array.type):
        if buffer is None:
            return np.zeros(n, np.bool_)
        bits = np.unpackbits(np.frombuffer(buffer, np.uint8), count=offset + n, bitorder="little")
        return bits[offset:].view(np.bool_)
    dtype = _NUMPY[array.type]
    if buffer is None:  # a zero-length array may have no buffer
        return np.empty(0, dtype)
    itemsize = np.dtype(dtype).itemsize
    view = np.frombuffer(buffer, dtype, count=n, offset=offset * itemsize)
    view.flags.writeable = False  # Arrow's memory, shared with the cache
    return view


def _fixed_width(kind: pa.DataType) -> bool:
    return kind in _NUMPY or pa.types.is_boolean(kind)


def valid_of(array: pa.Array) -> npt.NDArray[np.bool_]:
    """Which entries are not null."""
    if array.null_count == 0:
        return np.ones(len(array), np.bool_)
    if array.null_count == len(array):
        return np.zeros(len(array), np.bool_)
    validity = array.buffers()[0]
    n, offset = len(array), array.offset
    bits = np.unpackbits(np.frombuffer(validity, np.uint8), count=offset + n, bitorder="little")
    return bits[offset:].view(np.bool_)


def arrow_of(values: npt.NDArray[Any]) -> pa.Array:
    """A numeric numpy array as an Arrow array over the same memory (no copy when contiguous)."""
    if values.dtype == np.bool_:
        packed = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(packed)])
    contiguous = np.ascontiguousarray(values)
    kind = _ARROW[contiguous.dtype]
    return pa.Array.from_buffers(kind, len(contiguous), [None, pa.py_buffer(contiguous)])


def nonempty_of(strings: pa.Array) -> npt.NDArray[np.bool_]:
    """Which entries of a string array are neither null nor empty."""
    if pa.types.is_dictionary(strings.type):
        strings = strings.cast(pa.string())
    n = len(strings)
    if strings.null_count == n:
        return np.zeros(n, np.bool_)
    width = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    itemsize = np.dtype(width).itemsize
    offsets: npt.NDArray[np.int64] = np.frombuffer(
        strings.buffers()[1], width, count=n + 1, offset=strings.offset * itemsize
    ).astype(np.int64)
    return valid_of(strings) & (offsets[1:] > offsets[:-1])


def strings_of(values: Sequence[str | None]) -> pa.Array:
    """A string array of ``values`` (``pa.array`` of a list would import pandas)."""
    encoded = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    valid = np.fromiter((v is not None for v in values), np.bool_, len(values))
    nulls = len(values) - int(valid.sum())
    validity = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(values), buffers, null_count=nulls)
