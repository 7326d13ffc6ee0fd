"""The uncommitted tail that every table of every project shares: a record stays visible
until its own table holds it, whichever other table has moved past it first, and a table
read before the storage worker committed still gets what it misses."""

from __future__ import annotations

from pathlib import Path

from tests.storage.pipeline import LogFeed
from trackway.log import LogReader, LogRecord, read_entries
from trackway.storage.layout import CONSUMER
from trackway.storage.tail import LogTail

EVENTS = ("track", "import")


def _records(data_dir: Path) -> list[int]:
    """Events of project 1, a profile update of project 1, events of project 2, events of
    project 1 again, in that order in one writer's log: their offsets."""
    with LogFeed(data_dir) as feed:
        feed.append(
            [
                LogRecord(1, "track", 1, [{"event": "a"}]),
                LogRecord(1, "engage", 1, [{"$distinct_id": "u", "$set": {"plan": "pro"}}]),
                LogRecord(2, "track", 1, [{"event": "b"}]),
                LogRecord(1, "track", 1, [{"event": "c"}]),
            ]
        )
        directory = feed.directory
    return [entry.offset for entry in read_entries(directory, 0)]


def test_a_table_that_moved_on_does_not_hide_what_others_still_need(tmp_path: Path) -> None:
    offsets = _records(tmp_path)
    tail = LogTail(tmp_path / "log")
    end = offsets[-1] + 1  # project 1's events table holds all its records: it moved past all
    assert tail.records(1, lambda _: end, EVENTS) == []
    # Project 1's users table has not committed the update yet, nor project 2's events table.
    (update,) = tail.records(1, lambda _: 0, ("engage",))
    assert update.items == [{"$distinct_id": "u", "$set": {"plan": "pro"}}]
    (other,) = tail.records(2, lambda _: 0, EVENTS)
    assert other.items == [{"event": "b"}]
    # Once a table holds a record, the tail no longer answers it.
    assert tail.records(1, lambda _: offsets[2], ("engage",)) == []
    assert [r.items for r in tail.records(1, lambda _: offsets[1], EVENTS)] == [[{"event": "c"}]]


def test_a_table_older_than_the_workers_commit_still_gets_what_it_misses(
    tmp_path: Path,
) -> None:
    offsets = _records(tmp_path)
    writer_dir = next((tmp_path / "log").iterdir())
    tail = LogTail(tmp_path / "log")
    assert len(tail.records(1, lambda _: 0, EVENTS)) == 2
    LogReader(writer_dir, CONSUMER).commit(offsets[3])  # every table holds the first three
    # A reader whose table was opened before that commit: its records come from the log.
    (update,) = tail.records(1, lambda _: 0, ("engage",))
    assert update.kind == "engage"
    # One whose table holds them gets the rest only.
    assert tail.records(1, lambda _: offsets[3], ("engage",)) == []
    assert [r.items for r in tail.records(1, lambda _: offsets[3], EVENTS)] == [[{"event": "c"}]]
