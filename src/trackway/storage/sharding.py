"""Which shard a user lives on: a 64-bit hash of the canonical distinct_id, modulo N.

All of one user's events share a shard, so behaviour over time and exact uniques never need
cross-shard traffic. The hash is also the user's identity inside the kernels (integers, no
global dictionary); the string is kept next to it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

DEFAULT_SHARDS = 8


def user_hash(distinct_id: str) -> int:
    """A stable signed 64-bit hash (blake2b), the same in every process and release."""
    digest = hashlib.blake2b(distinct_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def shard_of(hashes: npt.NDArray[np.int64], shards: int) -> npt.NDArray[np.int16]:
    return (hashes.view(np.uint64) % np.uint64(shards)).astype(np.int16)


def positions_in(
    keys: npt.NDArray[np.int64], hashes: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Where each of ``hashes`` sits in the sorted ``keys`` (-1: not there). A shard's rows
    come in runs of one user, so each run is looked up once and the answer repeated."""
    if len(keys) == 0 or len(hashes) == 0:
        return np.full(len(hashes), -1, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], hashes[1:] != hashes[:-1])))
    firsts = hashes[starts]
    at = np.minimum(np.searchsorted(keys, firsts), len(keys) - 1)
    found = np.where(keys[at] == firsts, at, -1).astype(np.int64)
    return np.repeat(found, np.diff(np.append(starts, len(hashes))))
