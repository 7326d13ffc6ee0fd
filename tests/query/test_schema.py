"""Schema discovery: the properties of an event with their types and counts, checked against
plain Python on random events (parts, duplicates across them, deleted users, the uncommitted
tail), and its cost bounded on a wide table: each part's footer is parsed once."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.query.store import event, new_project, reader, store
from tests.reference import schema as reference
from trackway.query import schema
from trackway.storage.deletions import DeletionList
from trackway.storage.layout import ProjectPaths

VALUES: list[Any] = ["a", "b", 1, 2.5, True, None, [1], {"k": 1}]


def random_events(rng: random.Random, count: int, start: int) -> list[dict[str, Any]]:
    events = []
    for i in range(count):
        props = {f"p{rng.randrange(12)}": rng.choice(VALUES) for _ in range(rng.randrange(4))}
        name = rng.choice(["A", "B", "C"])
        user = f"u{rng.randrange(6)}"
        time_ms = rng.randrange(0, 20) * 1000
        events.append(event(name, user, time_ms, f"i{rng.randrange(40)}", start + i, **props))
    return events


@pytest.mark.parametrize("seed", range(12))
def test_event_properties_match_the_reference(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    project = new_project(tmp_path)
    batches = [
        random_events(rng, rng.randrange(1, 30), 1000 * b) for b in range(rng.randrange(1, 4))
    ]
    # Exact copies of committed events, sent again: duplicates across parts and the tail.
    copies = rng.sample([e for b in batches for e in b], k=min(5, sum(map(len, batches))))
    tail = random_events(rng, rng.randrange(0, 10), 9000) + copies
    store(tmp_path, project, batches, tail)
    deleted: dict[str, int] = {}
    if rng.random() < 0.5:
        DeletionList(ProjectPaths(tmp_path, project.id).deletions).add(["u1"], 1500)
        deleted["u1"] = 1500
    everything = [e for b in batches for e in b] + tail
    events = reader(tmp_path)
    for time_range in [(0, 20_000), (3000, 11_000), (0, 1)]:
        for name in [None, "A", "Z"]:
            found = schema.event_properties(events, project, name, time_range, 1000)
            expected = reference.event_properties(everything, deleted, name, time_range)
            assert {row["name"]: (row["count"], row["types"]) for row in found} == expected
            counts = [row["count"] for row in found]
            assert counts == sorted(counts, reverse=True)


def test_schema_discovery_parses_each_footer_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wide parts (600 property columns each): discovery parses each part's footer once and
    reads no column of a part whose rows all count; the parts x columns footer parses it
    made before are gone."""
    project = new_project(tmp_path)
    batches = [
        [
            event(
                "E", f"u{b}-{i}", 1000 * i, f"i{b}-{i}", **{f"w{b}_{i}_{j}": j for j in range(150)}
            )
            for i in range(4)
        ]
        for b in range(3)
    ]
    store(tmp_path, project, batches, [])
    events = reader(tmp_path)
    parts = events.snapshot(project)
    assert parts is not None
    count = len(parts.parts())
    opened: list[str] = []
    read_columns: list[str] = []
    original_file = pq.ParquetFile
    original_metadata = pq.read_metadata

    class CountedFile(original_file):  # type: ignore[misc, valid-type]
        def __init__(self, source: Any, *args: Any, **kwargs: Any) -> None:
            opened.append(str(source))
            super().__init__(source, *args, **kwargs)

        def read(self, columns: Any = None, **kwargs: Any) -> Any:
            read_columns.extend(columns or ["*"])
            return super().read(columns, **kwargs)

    def counted_metadata(source: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(source))
        return original_metadata(source, *args, **kwargs)

    monkeypatch.setattr(pq, "ParquetFile", CountedFile)
    monkeypatch.setattr(pq, "read_metadata", counted_metadata)
    found = schema.event_properties(events, project, None, (0, 10_000), 5000)
    assert len(found) == 3 * 4 * 150
    assert all(row["count"] == 1 for row in found)
    # Per part one open: its footer parsed and kept, what ordering needs read at once.
    assert sorted(opened) == sorted({*opened}) and len(opened) == count
    assert set(read_columns) <= {"user_hash", "time"}
    # Again: nothing is parsed or read twice.
    opened.clear()
    assert schema.event_properties(events, project, None, (0, 10_000), 5000) == found
    assert opened == []
