"""A project's events as one Delta Lake table, partitioned by shard.

Every append records, as Delta application transactions (``txn`` actions), how far into each
log writer's stream the table has applied: the storage worker skips what a table already
holds when it replays the log after a crash, so a replay never writes an event twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import DeltaError

from trackway.errors import UserError
from trackway.storage.arrays import numpy_of
from trackway.storage.layout import LOG_APP_PREFIX
from trackway.storage.part_files import WRITER_PROPERTIES, commit_parts

# Parquet key-value metadata of a part no two rows of which are duplicates (equal user_hash,
# sent id, time, event and insert_id): the scan then looks for duplicates only across parts. Any
# subset of such a part (a Delta DELETE's rewrite) would hold none either.
DEDUPLICATED_KEY = b"trackway.deduplicated"


@dataclass(frozen=True, slots=True)
class Part:
    """One Parquet file of one shard, with the statistics that prune it."""

    path: str  # relative to the table root
    shard: int
    rows: int
    size: int
    min_time: int
    max_time: int
    added_ms: int = 0  # when the part was written: parts of a shard are read oldest first


class VersionError(UserError):
    """A read of a table version the table does not hold: not yet, or no longer (older than
    the retention window, docs/storage.md#retention)."""

    code = "invalid_version"


class Snapshot:
    """The table at one version: its parts and how far it has applied each log writer."""

    def __init__(self, table: DeltaTable, root: Path) -> None:
        self.table = table
        self.root = root
        self.version = table.version()
        self._parts: list[Part] | None = None
        self._columns: tuple[str, ...] | None = None

    def column_names(self) -> tuple[str, ...]:
        """The table's columns at this version (from its schema, read once)."""
        if self._columns is None:
            self._columns = tuple(field.name for field in self.table.schema().fields)
        return self._columns

    def applied_offset(self, writer: str) -> int:
        return self.table.transaction_version(LOG_APP_PREFIX + writer) or 0

    def parts(
        self, shards: Iterable[int] | None = None, time_range: tuple[int, int] | None = None
    ) -> list[Part]:
        """Parts of the given shards whose [min, max] time overlaps ``[start, end)``."""
        if self._parts is None:
            self._parts = parts_of(self.table)
        wanted = None if shards is None else set(shards)
        out = []
        for part in self._parts:
            if wanted is not None and part.shard not in wanted:
                continue
            if time_range is not None and (
                part.max_time < time_range[0] or part.min_time >= time_range[1]
            ):
                continue
            out.append(part)
        return out


class EventTable:
    def __init__(self, root: Path) -> None:
        self.root = root

    def exists(self) -> bool:
        return DeltaTable.is_deltatable(str(self.root))

    def snapshot(self, as_of: int | datetime | None = None) -> Snapshot | None:
        """The latest version, or the one ``as_of`` names (a version, or the last committed
        by a time); None before the table's first commit."""
        if not self.exists():
            return None
        table = DeltaTable(str(self.root))
        if as_of is not None and not load_as_of(table, self.root, as_of):
            return None
        return Snapshot(table, self.root)

    def append(
        self,
        events: pa.Table,
        offsets: Mapping[str, int],
        metadata: Callable[[pa.Table], dict[bytes, bytes]] | None = None,
    ) -> None:
        """Add events sorted by shard (then user, time), a part per shard, in one commit
        that records the log offsets they bring the table to; ``metadata`` gives each part's
        Parquet key-value metadata from its rows."""
        now = int(time.time() * 1000)
        transactions = [
            Transaction(LOG_APP_PREFIX + w, offset, now) for w, offset in offsets.items()
        ]

        def pieces() -> Iterator[tuple[int, pa.Table]]:
            shards = np.asarray(numpy_of(events.column("shard")))
            starts = np.flatnonzero(np.concatenate(([True], shards[1:] != shards[:-1])))
            ends = np.append(starts[1:], len(shards))
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
                rows = events.slice(start, end - start).drop_columns(["shard"])
                if metadata is not None:
                    rows = rows.replace_schema_metadata(metadata(rows))
                yield int(shards[start]), rows

        if not self.exists():
            # The table's first version holds its first events: delta-rs creates it (its
            # parts carry no key-value metadata, readers then read their columns instead).
            write_deltalake(
                str(self.root),
                events,
                partition_by=["shard"],
                mode="append",
                writer_properties=WRITER_PROPERTIES,
                commit_properties=CommitProperties(app_transactions=transactions),
            )
            return
        commit_parts(self.root, pieces(), transactions=transactions)

    def delete(self, predicate: str) -> None:
        if self.exists():
            DeltaTable(str(self.root)).delete(predicate, writer_properties=WRITER_PROPERTIES)


def load_as_of(table: DeltaTable, root: Path, as_of: int | datetime) -> bool:
    """Load the version ``as_of`` names into ``table``; False for a time before the table's
    first commit. Raises ``VersionError`` for a version the table does not hold."""
    try:
        table.load_as_version(as_of)
    except DeltaError:
        raise version_error(root, as_of) from None
    if (
        isinstance(as_of, datetime)
        and _committed_ms(root, table.version()) > as_of.timestamp() * 1000
    ):
        # Delta loads the oldest version it holds for a time before every commit it holds.
        if table.version() == 0:
            return False
        raise version_error(root, as_of)
    return True


def version_error(root: Path, as_of: int | datetime, files_gone: bool = False) -> VersionError:
    """What a read of ``as_of`` gets when the table has no such version, or (``files_gone``)
    no longer has its files: vacuumed, past the retention window."""
    table = DeltaTable(str(root))
    latest = table.version()
    window = table.metadata().configuration.get("delta.logRetentionDuration", "interval 30 days")
    kept = window.removeprefix("interval ")
    asked = as_of.isoformat() if isinstance(as_of, datetime) else str(as_of)
    if files_gone:
        return VersionError(
            f"Expected a version inside the retention window ({kept}), got {asked}: the files "
            "of that version have been deleted"
        )
    oldest = oldest_version(root)
    if isinstance(as_of, datetime):
        since = datetime.fromtimestamp(_committed_ms(root, oldest) / 1000, UTC).isoformat()
        return VersionError(
            f"Expected a time from {since} on, when the oldest version the table keeps was "
            f"committed (versions older than {kept} are gone), got {asked}"
        )
    return VersionError(
        f"Expected a table version from {oldest} to {latest} (versions older than {kept} "
        f"are gone), got {asked}"
    )


def oldest_version(root: Path) -> int:
    """The oldest version the table's log still holds (a commit or a checkpoint)."""
    names = os.listdir(root / "_delta_log")
    return min((int(n[:20]) for n in names if n[:20].isdigit()), default=0)


def _committed_ms(root: Path, version: int) -> float:
    """When ``version`` was committed, as Delta's time travel reads it: the file's time."""
    log = root / "_delta_log"
    for name in (f"{version:020}.json", f"{version:020}.checkpoint.parquet"):
        try:
            return (log / name).stat().st_mtime * 1000
        except FileNotFoundError:
            continue
    return 0.0


def parts_of(table: DeltaTable) -> list[Part]:
    """The parts of the version ``table`` holds (events or profiles: no time bounds), oldest
    first (by when they were written, then path): rows of one user at one time are read in
    this order, the same in every process and whatever the log's own order."""
    # Read through the Arrow C stream: pa.table() on this object would import pandas first.
    actions = pa.RecordBatchReader.from_stream(table.get_add_actions(flatten=True)).read_all()
    columns = actions.column_names
    paths = actions.column("path").to_pylist()
    count = len(paths)
    shards = actions.column("partition.shard").to_pylist()
    rows = actions.column("num_records").to_pylist()
    sizes = actions.column("size_bytes").to_pylist()
    mins = actions.column("min.time").to_pylist() if "min.time" in columns else [None] * count
    maxes = actions.column("max.time").to_pylist() if "max.time" in columns else [None] * count
    added = actions.column("modification_time").cast(pa.int64()).to_pylist()
    parts = [
        Part(
            paths[i],
            int(shards[i]),
            int(rows[i] or 0),
            int(sizes[i]),
            _ms(mins[i], -(2**63)),
            _ms(maxes[i], 2**63 - 1),
            _ms(added[i], 0),
        )
        for i in range(count)
    ]
    return sorted(parts, key=lambda p: (p.added_ms, p.path))


def _ms(value: int | None, missing: int) -> int:
    return missing if value is None else int(value)
