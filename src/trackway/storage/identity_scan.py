"""A project's identity map, read from its events: per part once (cached while the part
lives), then the uncommitted tail on top, so a merge counts from the next query on.

A part's writer records the part's edges in its Parquet key-value metadata, with the number
of deletions they account for: while the project has no other deletions, the map is read
from the parts' footers alone, in time proportional to the edges, not the rows."""

from __future__ import annotations

import base64
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from trackway.storage.arrays import arrow_of, numpy_of
from trackway.storage.cache import ColumnCache
from trackway.storage.columns import SENT_HASH, table_column
from trackway.storage.deletions import DeletionList
from trackway.storage.identity import IdentityMap, device_map, identity_map, original_map
from trackway.storage.identity_edges import (
    DEVICE_EDGES,
    Columns,
    MergeEdge,
    device_edges,
    first_edges,
    merge_edges,
    no_device_edges,
)
from trackway.storage.resolve import sent_hashes

# One mode's edges are filled, the other empty: simplified merge's device edges (a table,
# identity_edges.DEVICE_EDGES), original merge's identity events.
Edges = tuple[pa.Table, list[MergeEdge]]
EDGES_KEY = b"trackway.identity_edges"
# The device edges, as an Arrow IPC stream in base64 (readers want metadata in UTF-8).
DEVICES_KEY = b"trackway.identity_devices"
EDGES_FORMAT = 2
Parallel = Callable[[Callable[[Any], Any], list[Any]], Any]
NO_EDGES: Edges = (no_device_edges(), [])


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
    return NO_EDGES[0], merge_edges(columns, keep)


def edges_metadata(mode: str, rows: pa.Table, deletions: DeletionList) -> dict[bytes, bytes]:
    """The key-value metadata recording the identity edges of a part holding ``rows``."""
    devices, merges = source_edges(mode, lambda c: table_column(rows, c), deletions)
    recorded = {
        "format": EDGES_FORMAT,
        "mode": mode,
        "erased": len(deletions.all()),
        "merges": [[*edge[:4], list(edge.ids)] for edge in merges],
    }
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, DEVICE_EDGES) as stream:
        stream.write_table(devices)
    return {
        **(rows.schema.metadata or {}),
        EDGES_KEY: orjson.dumps(recorded),
        DEVICES_KEY: base64.b64encode(sink.getvalue().to_pybytes()),
    }


def recorded_edges(metadata: dict[bytes, bytes] | None, mode: str, erased: int) -> Edges | None:
    """The edges a part's metadata records, if they are the ones a read would find now (the
    same ID merge mode and the same deletions); else None."""
    found = (metadata or {}).get(EDGES_KEY)
    devices = (metadata or {}).get(DEVICES_KEY)
    if found is None or devices is None:
        return None
    recorded = orjson.loads(found)
    if (recorded.get("format"), recorded["mode"], recorded["erased"]) != (
        EDGES_FORMAT,
        mode,
        erased,
    ):
        return None
    merges = [
        MergeEdge(int(r), int(t), int(p), str(k), tuple(ids))
        for r, t, p, k, ids in recorded["merges"]
    ]
    return pa.ipc.open_stream(pa.py_buffer(base64.b64decode(devices))).read_all(), merges


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
        firsts = first_edges(pa.concat_tables([NO_EDGES[0], *(d for d, _ in per_source)]))
        merges = [(i, e) for i, (_, edges) in enumerate(per_source) for e in edges]
        base = device_map(firsts) if firsts.num_rows else identity_map(original_map(merges))
        found = (base, firsts, merges)
        cache.put(committed_key, found, firsts.nbytes + 200 * len(merges) + 1024)
    base, firsts, merges = found
    tail_devices, tail_merges = tail
    if tail_merges:
        numbered = [*merges, *((len(committed), e) for e in tail_merges)]
        return identity_map(original_map(numbered))
    if not tail_devices.num_rows:
        return base
    return _with_newer(base, firsts, tail_devices)


def _with_newer(base: IdentityMap, firsts: pa.Table, newer: pa.Table) -> IdentityMap:
    """``base`` (from the devices' ``firsts``) with the edges of ``newer`` (few: the log tail,
    a batch) applied: a device's edge counts where it comes before the one known."""
    candidates = first_edges(newer)
    known = np.asarray(numpy_of(firsts.column("device_hash")), np.int64)
    hashes = np.asarray(numpy_of(candidates.column("device_hash")), np.int64)
    at = np.minimum(np.searchsorted(known, hashes), max(len(known) - 1, 0))
    seen = (known[at] == hashes) if len(known) else np.zeros(len(hashes), bool)
    rows = _rows_of(candidates)
    olds = iter(_rows_of(firsts.take(arrow_of(at[seen]))) if seen.any() else [])
    changed = []
    for row, was_seen in zip(rows, seen.tolist(), strict=True):
        before = next(olds) if was_seen else None
        if before is None or (
            _order(row) < _order(before) and before["user_hash"] != row["user_hash"]
        ):
            changed.append(row)
    if not changed:
        return base
    # The changed devices' known edges give way to the newer ones.
    replaced = np.fromiter((row["device_hash"] for row in changed), np.int64, len(changed))
    kept = firsts.filter(arrow_of(~np.isin(known, replaced)))
    update = candidates.filter(arrow_of(np.isin(hashes, replaced)))
    return device_map(pa.concat_tables([kept, update]).sort_by([("device_hash", "ascending")]))


def _rows_of(edges: pa.Table) -> list[dict[str, Any]]:
    # (Table.to_pylist would import pandas.)
    columns = [edges.column(name).to_pylist() for name in DEVICE_EDGES.names]
    return [dict(zip(DEVICE_EDGES.names, row, strict=True)) for row in zip(*columns, strict=True)]


def _order(edge: dict[str, Any]) -> tuple[int, int, str]:
    """Edges of one device are ordered by arrival, then event time, then user id."""
    return edge["received"], edge["time"], edge["user"]
