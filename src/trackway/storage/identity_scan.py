"""A project's identity map, read from its events: per part once (cached while the part
lives), then the uncommitted tail on top, so a merge counts from the next query on.

A part's writer records the part's edges in its Parquet key-value metadata, with the number
of deletions they account for: while the project has no other deletions, the map is read
from the parts' footers alone, in time proportional to the edges, not the rows."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from trackway.storage.arrays import numpy_of
from trackway.storage.cache import ColumnCache
from trackway.storage.columns import SENT_HASH, table_column
from trackway.storage.deletions import DeletionList
from trackway.storage.identity import IdentityMap, device_map, identity_map, original_map
from trackway.storage.identity_edges import (
    Columns,
    DeviceEdge,
    MergeEdge,
    device_edges,
    merge_edges,
)
from trackway.storage.resolve import sent_hashes

Edges = tuple[list[DeviceEdge], list[MergeEdge]]  # one mode's edges are filled, the other empty
EDGES_KEY = b"trackway.identity_edges"
EDGES_FORMAT = 1
Parallel = Callable[[Callable[[Any], Any], list[Any]], Any]


def source_edges(mode: str, columns: Columns, deletions: DeletionList) -> Edges:
    """The identity edges of one source (a part or the tail), deleted users' rows left out."""
    keep = None
    if deletions.all():  # without deletions, no need to read the columns they look at
        keep = deletions.keep_mask(
            sent_hashes(columns("user_hash"), columns(SENT_HASH)),
            np.asarray(numpy_of(columns("received_ms")), np.int64),
        )
    if mode == "simplified":
        return device_edges(columns, keep), []
    return [], merge_edges(columns, keep)


def edges_metadata(mode: str, rows: pa.Table, deletions: DeletionList) -> dict[bytes, bytes]:
    """The key-value metadata recording the identity edges of a part holding ``rows``."""
    devices, merges = source_edges(mode, lambda c: table_column(rows, c), deletions)
    recorded = {
        "format": EDGES_FORMAT,
        "mode": mode,
        "erased": len(deletions.all()),
        "devices": [list(edge) for edge in devices],
        "merges": [[*edge[:4], list(edge.ids)] for edge in merges],
    }
    return {**(rows.schema.metadata or {}), EDGES_KEY: orjson.dumps(recorded)}


def recorded_edges(metadata: dict[bytes, bytes] | None, mode: str, erased: int) -> Edges | None:
    """The edges a part's metadata records, if they are the ones a read would find now (the
    same ID merge mode and the same deletions); else None."""
    found = (metadata or {}).get(EDGES_KEY)
    if found is None:
        return None
    recorded = orjson.loads(found)
    if (recorded.get("format"), recorded["mode"], recorded["erased"]) != (
        EDGES_FORMAT,
        mode,
        erased,
    ):
        return None
    devices = list(map(DeviceEdge._make, recorded["devices"]))  # written by edges_metadata
    merges = [
        MergeEdge(int(r), int(t), int(p), str(k), tuple(ids))
        for r, t, p, k, ids in recorded["merges"]
    ]
    return devices, merges


def project_identity(
    committed_key: Hashable,
    committed: list[Callable[[], Edges]],
    tail: Edges,
    cache: ColumnCache,
    parallel: Parallel,
) -> IdentityMap:
    """The map from the committed sources' edges (each a callable, cached by the caller),
    kept under ``committed_key``, with the tail's edges on top."""
    found = cache.get(committed_key)
    if found is None:
        per_source: list[Edges] = list(parallel(lambda edges_of: edges_of(), committed))
        first: dict[str, DeviceEdge] = {}
        for devices, _ in per_source:
            _keep_first(first, devices)
        merges = [(i, e) for i, (_, edges) in enumerate(per_source) for e in edges]
        base = device_map(first.values()) if first else identity_map(original_map(merges))
        found = (base, first, merges)
        cache.put(committed_key, found, 200 * len(base.canonical_of) + 1024)
    base, first, merges = found
    tail_devices, tail_merges = tail
    if tail_merges:
        numbered = [*merges, *((len(committed), e) for e in tail_merges)]
        return identity_map(original_map(numbered))
    if not tail_devices:
        return base
    newest: dict[str, DeviceEdge] = {}
    _keep_first(newest, tail_devices)
    changes = {}
    for device, edge in newest.items():
        known = first.get(device)
        if (known is None or _earlier(edge, known)) and base.canonical_of.get(
            device
        ) != edge.user_id:
            changes[device] = edge
    if not changes:
        return base
    return device_map({**first, **changes}.values())


def _keep_first(first: dict[str, DeviceEdge], edges: list[DeviceEdge]) -> None:
    """Per device, the earliest edge: by arrival, then event time, then user id."""
    for edge in edges:
        known = first.get(edge.device)
        if known is None or _earlier(edge, known):
            first[edge.device] = edge


def _earlier(edge: DeviceEdge, known: DeviceEdge) -> bool:
    return (edge.received_ms, edge.time, edge.user_id) < (
        known.received_ms,
        known.time,
        known.user_id,
    )
