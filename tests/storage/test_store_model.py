"""The storage layer against a plain-Python model of its semantics.

Random streams of events and profile updates go through the real log in several batches;
storage passes, maintenance (deletions, compaction), worker restarts and deletions happen at
random points between them. Whenever the test looks, the scan API must return what the model
says — deduplicated (latest received copy wins), in (user, time) order per shard, deleted
users' events received up to their deletion left out, the uncommitted log tail included —
and once nothing is pending, ``load_states`` must hold the model's profiles.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.storage import profile_model
from tests.storage.pipeline import (
    LogFeed,
    canonical,
    event,
    expected_row,
    property_columns,
    scan_events,
    typed,
)
from trackway.log import LogRecord
from trackway.projects import Project, ProjectCatalog
from trackway.settings import Settings
from trackway.storage.deletions import DeletionList
from trackway.storage.layout import ProjectPaths
from trackway.storage.profile_store import load_states
from trackway.storage.scan import EventReader
from trackway.storage.sharding import shard_of, user_hash
from trackway.storage.worker import StorageWorker

# Few users, names, times and insert ids, so that duplicates and ties are common. The odd
# distinct_ids reach the worker's Delta DELETE predicate; "" is an event without a user.
USERS = ["u1", "u2", "o'neil", "back\\slash", ""]
PROFILE_USERS = ["u1", "o'neil", "back\\slash"]
EVENT_NAMES = ["Sign up", "Buy"]
TIMES = [1_000, 2_000, 3_000]
INSERT_IDS = ["a", "b"]
# Names never differ only in case here: see test_worker.py for that case.
PROPERTY_NAMES = ["plan", "n", "a b.c=;{}", "ünï"]
PROPERTY_VALUES = st.one_of(
    st.sampled_from(["free", "pro", "", 0, 7, -(2**63), 2**64 - 1, 2.5, True, None]),
    st.lists(st.sampled_from(["x", 1, 1.5]), max_size=2),
)
LIST_VALUES = st.sampled_from(["x", "y", 1])


@dataclass(frozen=True, slots=True)
class Log:
    """Append records to the log in one batch (one group of fsyncs)."""

    records: tuple[LogRecord, ...]


@dataclass(frozen=True, slots=True)
class Pass:
    """One ``StorageWorker.run_once()``."""


@dataclass(frozen=True, slots=True)
class Maintain:
    """One ``StorageWorker.maintain()``: deletions, compaction, checkpoint, vacuum."""


@dataclass(frozen=True, slots=True)
class Restart:
    """A new worker: profile states are reloaded from the table."""


@dataclass(frozen=True, slots=True)
class Delete:
    distinct_ids: tuple[str, ...]
    at_ms: int


@dataclass(frozen=True, slots=True)
class Check:
    """Scan both projects (all of them, or a time range and some shards) against the model."""

    time_range: tuple[int, int] | None = None
    shards: tuple[int, ...] | None = None


Step = Log | Pass | Maintain | Restart | Delete | Check


@dataclass(frozen=True, slots=True)
class Scenario:
    steps: tuple[Step, ...]
    compaction_trigger_parts: int
    profile_cache_entries: int
    cache_bytes: int
    retention_ms: int


@st.composite
def event_items(draw: st.DrawFn, received_ms: int) -> list[dict[str, Any]]:
    items = []
    # Copies inside one record share received_ms, so they are made equal: either may win.
    first: dict[tuple[Any, ...], dict[str, Any]] = {}
    for _ in range(draw(st.integers(1, 4))):
        name, user, at, insert_id = (
            draw(st.sampled_from(EVENT_NAMES)),
            draw(st.sampled_from(USERS)),
            draw(st.sampled_from(TIMES)),
            draw(st.sampled_from(INSERT_IDS)),
        )
        props = draw(st.dictionaries(st.sampled_from(PROPERTY_NAMES), PROPERTY_VALUES, max_size=2))
        props = first.setdefault((name, user, at, insert_id), props)
        items.append(event(name, user, at, insert_id, received_ms, **props))
    return items


OPERANDS: dict[str, st.SearchStrategy[Any]] = {
    "$set": st.dictionaries(st.sampled_from(PROPERTY_NAMES), PROPERTY_VALUES, max_size=2),
    "$set_once": st.dictionaries(st.sampled_from(PROPERTY_NAMES), PROPERTY_VALUES, max_size=2),
    "$add": st.dictionaries(
        st.sampled_from(["n", "score"]), st.sampled_from([1, -2, 0.5]), min_size=1
    ),
    "$append": st.dictionaries(st.sampled_from(["tags", "plan"]), LIST_VALUES, min_size=1),
    "$union": st.dictionaries(
        st.sampled_from(["tags", "n"]), st.lists(LIST_VALUES, max_size=2), min_size=1
    ),
    "$remove": st.dictionaries(st.sampled_from(["tags"]), LIST_VALUES, min_size=1),
    "$unset": st.lists(st.sampled_from(PROPERTY_NAMES), min_size=1, max_size=2),
    "$delete": st.just(""),
}


@st.composite
def profile_items(draw: st.DrawFn, received_ms: int) -> list[dict[str, Any]]:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        ops = draw(st.lists(st.sampled_from(list(OPERANDS)), min_size=1, max_size=2, unique=True))
        items.append(
            {
                "$distinct_id": draw(st.sampled_from(PROFILE_USERS)),
                "$time": draw(st.integers(0, 9)) * 1000,
                "$ignore_time": draw(st.booleans()),
                **{op: draw(OPERANDS[op]) for op in ops},
            }
        )
    return items


@st.composite
def scenarios(draw: st.DrawFn, deletions: bool) -> Scenario:
    clock = itertools.count(1_000_000, 10)
    last = 0
    steps: list[Step] = []
    kinds = ["Log", "Log", "Log", "Pass", "Maintain", "Restart", "Check"]
    kinds += ["Delete"] * deletions
    for _ in range(draw(st.integers(3, 8))):
        kind = draw(st.sampled_from(kinds))
        if kind == "Log":
            records = []
            for _ in range(draw(st.integers(1, 3))):
                last = next(clock)
                record_kind = draw(st.sampled_from(["track", "import", "engage", "other"]))
                if record_kind == "engage":
                    items = draw(profile_items(last))
                    records.append(LogRecord(1, "engage", last, items))
                else:
                    project_id = 2 if record_kind == "other" else 1
                    kind_name = "track" if record_kind == "other" else record_kind
                    records.append(LogRecord(project_id, kind_name, last, draw(event_items(last))))
            steps.append(Log(tuple(records)))
        elif kind == "Delete":
            ids = draw(st.lists(st.sampled_from(PROFILE_USERS), min_size=1, max_size=2))
            # At the last record's received time (a tie: deleted too) or just after it.
            at = last + draw(st.sampled_from([0, 5]))
            steps.append(Delete(tuple(ids), at))
        elif kind == "Check":
            low = draw(st.sampled_from([None, *TIMES]))
            shards = draw(st.none() | st.lists(st.integers(0, 7), max_size=4, unique=True))
            steps.append(
                Check(
                    None if low is None else (low, low + 1_500),
                    None if shards is None else tuple(shards),
                )
            )
        else:
            steps.append({"Pass": Pass, "Maintain": Maintain, "Restart": Restart}[kind]())
    steps.append(Check())
    return Scenario(
        tuple(steps),
        compaction_trigger_parts=draw(st.sampled_from([1, 3])),
        # One entry: nearly every profile is looked up in the table, not remembered.
        profile_cache_entries=draw(st.sampled_from([1, 100_000])),
        cache_bytes=draw(st.sampled_from([4_096, 64 * 1024 * 1024])),
        # A window of zero: every maintain deletes the files of every older version.
        retention_ms=draw(st.sampled_from([0, 86_400_000])),
    )


@dataclass
class Model:
    records: list[LogRecord] = field(default_factory=list)
    deletions: list[tuple[str, int]] = field(default_factory=list)

    def events(self, project_id: int) -> list[dict[str, Any]]:
        latest: dict[tuple[Any, ...], dict[str, Any]] = {}
        for record in self.records:
            if record.project_id != project_id or record.kind not in ("track", "import"):
                continue
            for e in record.items:
                p = e["properties"]
                key = (e["event"], p["distinct_id"], p["time"], p["$insert_id"])
                kept = latest.get(key)
                if (
                    kept is None
                    or p["mp_processing_time_ms"] >= kept["properties"]["mp_processing_time_ms"]
                ):
                    latest[key] = e
        return [e for e in latest.values() if not self.deleted(project_id, e)]

    def deleted(self, project_id: int, e: dict[str, Any]) -> bool:
        """Deletions are made in project 1 only."""
        p = e["properties"]
        return project_id == 1 and any(
            who == p["distinct_id"] and at >= p["mp_processing_time_ms"]
            for who, at in self.deletions
        )

    def profiles(self) -> dict[str, dict[str, Any]]:
        """Updates in arrival order; a deletion removes what arrived up to its time."""
        timeline: list[tuple[int, int, Any]] = [
            (r.received_ms, 0, r) for r in self.records if r.kind == "engage"
        ]
        timeline += [(at, 1, who) for who, at in self.deletions]
        states: dict[str, dict[str, Any]] = {}
        for _, is_deletion, what in sorted(timeline, key=lambda t: t[:2]):
            if is_deletion:
                states.pop(what, None)
                continue
            for update in what.items:
                key = update["$distinct_id"]
                new = profile_model.apply(states.get(key), update)
                if new is None:
                    states.pop(key, None)
                else:
                    states[key] = new
        return states


def shard_of_user(distinct_id: str, shards: int) -> int:
    return int(shard_of(np.array([user_hash(distinct_id)], np.int64), shards)[0])


def check_scan(reader: EventReader, project: Project, model: Model, check: Check) -> None:
    low, high = check.time_range or (-(2**63), 2**63 - 1)
    wanted = range(project.shards) if check.shards is None else check.shards
    expected = [
        e
        for e in model.events(project.id)
        if low <= e["properties"]["time"] < high
        and shard_of_user(e["properties"]["distinct_id"], project.shards) in wanted
    ]
    columns = property_columns([e for r in model.records for e in r.items if "event" in e])
    rows = scan_events(reader, project, columns, time_range=check.time_range, shards=check.shards)
    for shard, row in rows:
        assert shard == shard_of_user(row["distinct_id"], project.shards), f"{row} misplaced"
    assert sorted(canonical(row) for _, row in rows) == sorted(
        canonical(expected_row(e)) for e in expected
    )


def run(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        catalog = ProjectCatalog(data_dir)
        projects = [catalog.create("model"), catalog.create("other")]
        settings_ = Settings(
            compaction_trigger_parts=scenario.compaction_trigger_parts,
            profile_cache_entries=scenario.profile_cache_entries,
            retention_ms=scenario.retention_ms,
            vacuum_interval_ms=0,
        )
        worker = StorageWorker(data_dir, settings_)
        reader = EventReader(data_dir, scenario.cache_bytes)
        deletions = DeletionList(ProjectPaths(data_dir, 1).deletions)
        model = Model()
        with LogFeed(data_dir) as feed:
            for step in scenario.steps:
                if isinstance(step, Log):
                    feed.append(list(step.records))
                    model.records.extend(step.records)
                elif isinstance(step, Pass):
                    worker.run_once()
                elif isinstance(step, Maintain):
                    worker.maintain()
                elif isinstance(step, Restart):
                    worker = StorageWorker(data_dir, settings_)
                elif isinstance(step, Delete):
                    deletions.add(list(step.distinct_ids), step.at_ms)
                    model.deletions.extend((d, step.at_ms) for d in step.distinct_ids)
                else:
                    for project in projects:
                        check_scan(reader, project, model, step)
            worker.run_once()
            worker.maintain()
            for project in projects:
                check_scan(reader, project, model, Check())
            states, _ = load_states(ProjectPaths(data_dir, 1).users)
            expected = model.profiles()
            assert states == expected
            assert typed(states) == typed(expected)


# One failure shrunk per run: the golden cases in test_worker.py and test_compaction.py pin
# the known ones down, and shrinking each of several costs the suite a minute.
@settings(max_examples=30, deadline=None, report_multiple_bugs=False)
@given(scenarios(deletions=False))
def test_store_matches_model(scenario: Scenario) -> None:
    run(scenario)


@settings(max_examples=30, deadline=None, report_multiple_bugs=False)
@given(scenarios(deletions=True))
def test_store_with_deletions_matches_model(scenario: Scenario) -> None:
    run(scenario)
