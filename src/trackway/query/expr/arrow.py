"""Arrow arrays to the numpy pieces a Vector is made of, without copying what need not be.

Payload slots under a null are never read (a Vector's tags exclude them), so fixed-width
buffers are viewed as they are; only dictionary codes are filled, because they index.
String dictionaries become numpy object arrays of Python ``str``: numpy's own StringDType
still has crashing bugs (np.unique with return_inverse segfaults on duplicates in 2.4).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Mask = npt.NDArray[np.bool_]


def combined(array: Any) -> Any:
    """One contiguous Array from an Array or a ChunkedArray (dictionaries unified)."""
    if isinstance(array, pa.ChunkedArray):
        if pa.types.is_dictionary(array.type):
            array = array.unify_dictionaries()
        return array.combine_chunks()
    return array


def validity(array: Any) -> Mask | None:
    """Per-row "not null", or None when the array has no nulls."""
    if array.null_count == 0:
        return None
    bitmap = np.frombuffer(array.buffers()[0], np.uint8)
    bits = np.unpackbits(bitmap, bitorder="little")
    return bits[array.offset : array.offset + len(array)].view(np.bool_)


def fixed_width(array: Any, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """The values buffer of a primitive array, zero-copy; slots under nulls are arbitrary."""
    wanted = pa.from_numpy_dtype(dtype)
    if array.type != wanted:
        array = array.cast(wanted)
    values = np.frombuffer(array.buffers()[1], dtype)
    return values[array.offset : array.offset + len(array)]


def booleans(array: Any) -> Mask:
    """A boolean array's values, False under nulls."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), np.bool_)


def dictionary_codes(array: Any) -> tuple[npt.NDArray[np.int32], npt.NDArray[Any]]:
    """(codes, dictionary) of a string array, encoding it first if it is not dictionary-typed."""
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array)
    indices = array.indices
    if indices.null_count:
        indices = pc.fill_null(indices, 0)
    codes = np.asarray(indices.to_numpy(zero_copy_only=False), np.int32)
    texts = array.dictionary.to_numpy(zero_copy_only=False)
    return codes, np.asarray(texts, dtype=object)


def distinct(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[np.int32]]:
    """(distinct values, each value's index among them), by hashing: no sort of n rows."""
    encoded = pa.array(values).dictionary_encode()
    uniques = encoded.dictionary.to_numpy(zero_copy_only=False)
    return uniques, np.asarray(encoded.indices.to_numpy(), np.int32)


def text_values(array: Any) -> tuple[npt.NDArray[np.int32], list[str]]:
    """(codes, unique texts) of a string array, for columns decoded per distinct value."""
    codes, dictionary = dictionary_codes(array)
    return codes, [str(text) for text in dictionary]
