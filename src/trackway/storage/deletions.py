"""Deleted users (GDPR): a durable list per project, applied by every read path at once.

A deletion removes the events a user sent up to the moment of the request (and their
profile), under every id of the user's identity cluster; events that arrive later are new
activity. Reads filter deleted users out straight
away; the storage worker then deletes their rows from the Delta table and compaction drops
any left in rewritten parts.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from trackway.errors import UserError
from trackway.files import JsonFile
from trackway.storage.identity import IdentityMap
from trackway.storage.identity_clusters import with_clusters
from trackway.storage.sharding import user_hash

MAX_IDS_PER_REQUEST = 2000


class Deletion(msgspec.Struct, frozen=True):
    distinct_id: str
    user_hash: int
    deleted_at_ms: int
    applied: bool = False  # rows already deleted from the committed table


class _File(msgspec.Struct):
    deletions: list[Deletion] = []


class DeletionList:
    def __init__(self, path: Path) -> None:
        self._file = JsonFile(path, _File)

    def add(
        self, distinct_ids: list[str], now_ms: int, identity: IdentityMap | None = None
    ) -> list[Deletion]:
        """Deletes the users, and with ``identity`` every other id of their identity clusters
        (the limit counts the ids asked for); answers one deletion per id."""
        if not distinct_ids or len(distinct_ids) > MAX_IDS_PER_REQUEST:
            raise UserError(
                f"Expected 1 to {MAX_IDS_PER_REQUEST} distinct_ids to delete, got {len(distinct_ids)}"
            )
        ids = with_clusters(identity or IdentityMap(), distinct_ids)
        added = [Deletion(d, user_hash(d), now_ms) for d in ids]
        self._file.update(lambda current: current.deletions.extend(added))
        return added

    def mark_applied(self, done: list[Deletion]) -> None:
        keys = {(d.distinct_id, d.deleted_at_ms) for d in done}

        def mark(current: _File) -> None:
            current.deletions = [
                msgspec.structs.replace(d, applied=True)
                if (d.distinct_id, d.deleted_at_ms) in keys
                else d
                for d in current.deletions
            ]

        self._file.update(mark)

    def all(self) -> list[Deletion]:
        return self._file.current().deletions

    def keep_mask(
        self, hashes: npt.NDArray[np.int64], received_ms: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.bool_] | None:
        """Which rows survive the deletions; None when no row is affected (the common case)."""
        deletions = self.all()
        if not deletions:
            return None
        cutoff: dict[int, int] = {}
        for d in deletions:
            cutoff[d.user_hash] = max(cutoff.get(d.user_hash, d.deleted_at_ms), d.deleted_at_ms)
        keys = np.fromiter(cutoff, np.int64, len(cutoff))
        hit = np.isin(hashes, keys)
        if not hit.any():
            return None
        limits = np.zeros(len(hashes), np.int64)
        sorter = np.argsort(keys)
        values = np.fromiter(cutoff.values(), np.int64, len(cutoff))[sorter]
        limits[hit] = values[np.searchsorted(keys[sorter], hashes[hit])]
        return ~(hit & (received_ms <= limits))


def erasure_times(deletions: list[Deletion]) -> dict[str, int]:
    """Each deleted user's latest deletion time."""
    out: dict[str, int] = {}
    for d in deletions:
        out[d.distinct_id] = max(out.get(d.distinct_id, d.deleted_at_ms), d.deleted_at_ms)
    return out
