"""Identity clusters: which distinct_ids are one person, and the canonical id of each.

Derived from the events themselves, so a merge is as durable as the event that carries it:
under simplified ID merge, the first event carrying both ``$device_id`` and ``$user_id``
ties ``$device:<device_id>`` to the user; under original ID merge, ``$identify``,
``$create_alias`` and ``$merge`` events join clusters (docs/identity.md has the rules).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from trackway.storage.sharding import user_hash


@dataclass(frozen=True, slots=True)
class IdentityMap:
    """Every non-canonical distinct_id → its cluster's canonical distinct_id."""

    canonical_of: dict[str, str] = field(default_factory=dict)
    # Identifies the map's content: caches of resolved rows are kept under it.
    fingerprint: Hashable = ()

    def canonical(self, distinct_id: str) -> str:
        return self.canonical_of.get(distinct_id, distinct_id)

    def cluster(self, distinct_id: str) -> list[str]:
        """Every id of the cluster ``distinct_id`` belongs to, the canonical one first."""
        root = self.canonical(distinct_id)
        members = sorted(d for d, c in self.canonical_of.items() if c == root)
        return [root, *members]

    def hashes(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(sorted hashes of the non-canonical ids, the hash of each one's canonical id)."""
        if not self.canonical_of:
            empty = np.empty(0, np.int64)
            return empty, empty
        sources = np.fromiter((user_hash(d) for d in self.canonical_of), np.int64)
        targets = np.fromiter((user_hash(c) for c in self.canonical_of.values()), np.int64)
        order = np.argsort(sources, kind="stable")
        return sources[order], targets[order]

    def __bool__(self) -> bool:
        return bool(self.canonical_of)


def resolve_hashes(
    hashes: npt.NDArray[np.int64], identity: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]
) -> npt.NDArray[np.int64]:
    """Each user hash replaced by its canonical user's hash."""
    sources, targets = identity
    if len(sources) == 0:
        return hashes
    at = np.minimum(np.searchsorted(sources, hashes), len(sources) - 1)
    found = sources[at] == hashes
    return np.where(found, targets[at], hashes)
