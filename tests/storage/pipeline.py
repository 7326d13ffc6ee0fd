"""Driving the storage layer the way the server does: records through the real write-ahead log,
the storage worker in this process, reads through the scan API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import pytest
from deltalake import DeltaTable

from trackway.log import (
    DurableAppender,
    LogReader,
    LogRecord,
    LogWriter,
    claim_writer_dir,
    encode_record,
)
from trackway.projects import Project
from trackway.storage.columns import PROMOTED, parse_property_column, property_column
from trackway.storage.layout import ProjectPaths
from trackway.storage.scan import EventReader
from trackway.storage.worker import StorageWorker

# What an event row is compared on: every fixed column a client sent, plus its properties.
ROW_COLUMNS = ("event", "distinct_id", "time", "insert_id", "received_ms")


class LogFeed:
    """An ingest process's share of the log: a claimed writer directory and its appender."""

    def __init__(self, data_dir: Path) -> None:
        self.directory, self._lock = claim_writer_dir(data_dir / "log")
        self._writer = LogWriter(self.directory)

    def append(self, records: list[LogRecord]) -> None:
        """Append ``records`` in order; returns once every one is durable."""
        asyncio.run(self._append(records))

    async def _append(self, records: list[LogRecord]) -> None:
        appender = DurableAppender(self._writer)
        try:
            # Each append submits its frame before its first await, so order is list order.
            await asyncio.gather(*(appender.append(encode_record(r)) for r in records))
        finally:
            await appender.close()

    def close(self) -> None:
        self._writer.close()
        self._lock.close()

    def __enter__(self) -> LogFeed:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def event(
    name: str, distinct_id: str, time: int, insert_id: str, received_ms: int, **props: Any
) -> dict[str, Any]:
    """An event in ingest's normal form."""
    fixed = {
        "time": time,
        "distinct_id": distinct_id,
        "$insert_id": insert_id,
        "mp_processing_time_ms": received_ms,
    }
    return {"event": name, "properties": {**props, **fixed}}


def property_columns(events: list[dict[str, Any]]) -> list[str]:
    """The property columns the events' properties land in (see columns.py)."""
    names = {
        property_column(name, kind_of(value))
        for e in events
        for name, value in e["properties"].items()
        if name not in PROMOTED
    }
    return sorted(names)


def kind_of(value: Any) -> str:
    """The column kind a value is stored as, written from the docs rather than the code."""
    if isinstance(value, bool):
        return "b"
    if isinstance(value, str):
        return "s"
    if isinstance(value, float):
        return "f"
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return "i"
    return "j"


def scan_events(
    reader: EventReader, project: Project, extra_columns: list[str], **scan_args: Any
) -> list[tuple[int, dict[str, Any]]]:
    """(shard, event row) for every row a scan returns, in scan order. Each shard's rows are
    checked to be in (user_hash, time) order on the way."""
    columns = [*ROW_COLUMNS, "user_hash", *extra_columns]
    out = []
    for shard_scan in reader.scan(project, columns, **scan_args):
        values = {c: array.to_pylist() for c, array in shard_scan.columns.items()}
        keys = list(zip(values["user_hash"], values["time"], strict=True))
        assert keys == sorted(keys), f"shard {shard_scan.shard} is not in (user, time) order"
        for row in range(shard_scan.rows):
            out.append((shard_scan.shard, row_of(values, row)))
    return out


def row_of(values: dict[str, list[Any]], row: int) -> dict[str, Any]:
    """One event row from a scan's columns: fixed fields plus its non-null properties."""
    fixed = {c: values[c][row] for c in ROW_COLUMNS}
    props = {}
    for column, cells in values.items():
        parsed = parse_property_column(column)
        if parsed is None or cells[row] is None:
            continue
        name, kind = parsed
        props[name] = orjson.loads(cells[row]) if kind == "j" else cells[row]
    return {**fixed, "properties": props}


def expected_row(e: dict[str, Any]) -> dict[str, Any]:
    """What a scan row of normal-form event ``e`` holds."""
    props = dict(e["properties"])
    fixed = {
        "event": e["event"],
        "distinct_id": props.pop("distinct_id"),
        "time": props.pop("time"),
        "insert_id": props.pop("$insert_id"),
        "received_ms": props.pop("mp_processing_time_ms"),
    }
    return {**fixed, "properties": props}


def typed(value: Any) -> Any:
    """A value with its JSON type made explicit, so that 1, 1.0 and True compare unequal."""
    if isinstance(value, dict):
        return {"object": {k: typed(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"array": [typed(v) for v in value]}
    return {type(value).__name__: value}


def canonical(row: Any) -> bytes:
    """A row as typed, key-sorted JSON: rows compare equal only if every value and its type
    are equal, and sort into one order wherever the storage leaves theirs open."""
    return orjson.dumps(typed(row), option=orjson.OPT_SORT_KEYS)


def profile_update(
    distinct_id: str, time: int = 100, ignore_time: bool = False, **ops: Any
) -> dict[str, Any]:
    """A /engage update in ingest's normal form; ``set_once=...`` stands for ``$set_once``."""
    operations = {f"${op}": operand for op, operand in ops.items()}
    return {"$distinct_id": distinct_id, "$time": time, "$ignore_time": ignore_time, **operations}


def table_rows(
    data_dir: Path, project: Project, version: int | None = None
) -> list[dict[str, Any]]:
    """The rows of the events table at a version (default: the latest), read with deltalake
    alone: no deduplication, no deletion filter, no log tail."""
    table = DeltaTable(str(ProjectPaths(data_dir, project.id).events))
    if version is not None:
        table.load_as_version(version)
    rows: list[dict[str, Any]] = table.to_pyarrow_table().to_pylist()
    return rows


class Killed(BaseException):
    """Stands for a kill -9: no ``except Exception`` handler sees it."""


def crash_before_log_commit(worker: StorageWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass whose process dies after its table commits, before it commits the log."""

    def crash(self: LogReader, offset: int) -> None:
        raise Killed("between the table commits and the log commit")

    with monkeypatch.context() as patch:
        patch.setattr(LogReader, "commit", crash)
        with pytest.raises(Killed):
            worker.run_once()
