"""Identity clusters: which distinct_ids are one person, and the canonical id of each.

Derived from the events themselves, so a merge is as durable as the event that carries it:
under simplified ID merge, the first event carrying both ``$device_id`` and ``$user_id``
ties ``$device:<device_id>`` to the user; under original ID merge, ``$identify``,
``$create_alias`` and ``$merge`` events join clusters (docs/identity.md has the rules).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Hashable, Iterable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.storage.arrays import numpy_of
from trackway.storage.identity_edges import MergeEdge
from trackway.storage.sharding import positions_in, user_hash

Pairs = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


class IdentityMap:
    """Every non-canonical distinct_id → its cluster's canonical distinct_id, and the same
    as hashes. A map read from device edges has its hashes at hand and makes the dict of ids
    only when asked (labels, lookups): most queries need only the hashes."""

    __slots__ = ("_canonical_of", "_make", "_pairs", "fingerprint")

    def __init__(
        self,
        canonical_of: dict[str, str] | None = None,
        fingerprint: Hashable = (),
        pairs: Pairs | None = None,
        make: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self._canonical_of = canonical_of
        self._make = make
        self._pairs = pairs
        # Identifies the map's content: caches of resolved rows are kept under it.
        self.fingerprint = fingerprint

    @property
    def canonical_of(self) -> dict[str, str]:
        if self._canonical_of is None:
            self._canonical_of = self._make() if self._make is not None else {}
        return self._canonical_of

    def canonical(self, distinct_id: str) -> str:
        return self.canonical_of.get(distinct_id, distinct_id)

    def hashes(self) -> Pairs:
        """(sorted hashes of the non-canonical ids, the hash of each one's canonical id)."""
        if self._pairs is None:
            ids = self.canonical_of
            n = len(ids)
            sources = np.fromiter((user_hash(d) for d in ids), np.int64, n)
            targets = np.fromiter((user_hash(c) for c in ids.values()), np.int64, n)
            self._pairs = _sorted(sources, targets)
        return self._pairs

    def __bool__(self) -> bool:
        return len(self.hashes()[0]) > 0 if self._canonical_of is None else bool(self._canonical_of)


def _sorted(sources: npt.NDArray[np.int64], targets: npt.NDArray[np.int64]) -> Pairs:
    order = np.argsort(sources, kind="stable")
    return sources[order], targets[order]


def device_map(firsts: pa.Table) -> IdentityMap:
    """The map of simplified ID merge from each device's first edge (``first_edges``:
    sorted by device hash), the ids' hashes taken from the edges."""
    if firsts.num_rows == 0:
        return IdentityMap()
    pairs = (
        np.asarray(numpy_of(firsts.column("device_hash")), np.int64),
        np.asarray(numpy_of(firsts.column("user_hash")), np.int64),
    )

    def make() -> dict[str, str]:
        devices = firsts.column("device").to_pylist()
        return dict(zip(devices, firsts.column("user").to_pylist(), strict=True))

    return IdentityMap(None, _digest(pairs), pairs, make)


def _digest(pairs: Pairs) -> Hashable:
    digest = hashlib.blake2b(digest_size=16)
    for array in pairs:
        digest.update(np.ascontiguousarray(array).tobytes())
    return ("identity", digest.hexdigest())


def resolve_hashes(
    hashes: npt.NDArray[np.int64], identity: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]
) -> npt.NDArray[np.int64]:
    """Each user hash replaced by its canonical user's hash."""
    sources, targets = identity
    if len(sources) == 0:
        return hashes
    at = positions_in(sources, hashes)
    return np.where(at >= 0, targets[at], hashes)


# Original ID merge: an `$identify` merges only an anonymous id of this shape (a UUID, as the
# SDKs make them, bare or as a simplified-style device id).
ANON_ID = re.compile(r"^(\$device:)?[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
CLUSTER_LIMIT = 500


def original_map(edges: Iterable[tuple[int, MergeEdge]]) -> dict[str, str]:
    """Clusters from `$identify`, `$create_alias` and `$merge`, applied in arrival order
    (``(source, edge)``: the source orders edges of equal arrival and time)."""
    clusters = _Clusters()
    ordered = sorted(
        edges, key=lambda item: (item[1].received_ms, item[1].time, item[0], item[1].position)
    )
    for _, edge in ordered:
        first, second = edge.ids
        if edge.kind == "identify":
            if not ANON_ID.match(second):
                continue
            anon_root = clusters.root(second)
            if anon_root not in (second, clusters.root(first)):
                continue  # already merged into another identified id
            clusters.join(into=first, other=second)
        elif edge.kind == "alias":
            if clusters.known(second):
                continue  # an alias maps to one id only
            clusters.join(into=first, other=second)
        else:
            clusters.join(into=first, other=second)
    return clusters.mapping()


class _Clusters:
    def __init__(self) -> None:
        self._root: dict[str, str] = {}
        self._members: dict[str, list[str]] = {}

    def root(self, distinct_id: str) -> str:
        return self._root.get(distinct_id, distinct_id)

    def known(self, distinct_id: str) -> bool:
        return distinct_id in self._root or distinct_id in self._members

    def join(self, into: str, other: str) -> None:
        """``other``'s cluster joins ``into``'s, whose canonical id stays, unless the result
        would pass the cluster limit."""
        kept, moved = self.root(into), self.root(other)
        if kept == moved:
            return
        kept_members = self._members.get(kept, [kept])
        moved_members = self._members.get(moved, [moved])
        if len(kept_members) + len(moved_members) > CLUSTER_LIMIT:
            return
        self._members.pop(moved, None)
        for member in moved_members:
            self._root[member] = kept
        self._members[kept] = kept_members + moved_members

    def mapping(self) -> dict[str, str]:
        return {d: r for d, r in self._root.items() if d != r}


def identity_map(canonical_of: dict[str, str]) -> IdentityMap:
    if not canonical_of:
        return IdentityMap()
    pairs = IdentityMap(canonical_of).hashes()
    return IdentityMap(canonical_of, _digest(pairs), pairs)
