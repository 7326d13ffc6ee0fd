"""Putting events where the query layer reads them: committed parts of the events table (one
part per shard and append) and the write-ahead log's uncommitted tail."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

from trackway.log import DurableAppender, LogRecord, LogWriter, claim_writer_dir, encode_record
from trackway.projects import Project, ProjectCatalog
from trackway.query.cohorts.spec import CohortDefinition
from trackway.saved.objects import SavedCohort
from trackway.services import cohorts
from trackway.services.context import Services
from trackway.storage.batches import events_to_table
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import EventTable
from trackway.storage.identity_scan import edges_metadata
from trackway.storage.layout import ProjectPaths
from trackway.storage.resolve import resolve_table
from trackway.storage.scan import EventReader

Event = dict[str, Any]


def event(
    name: str, user: str, time_ms: int, insert_id: str, received_ms: int = 1, **props: Any
) -> Event:
    """An event in ingest's normal form."""
    fixed = {
        "time": time_ms,
        "distinct_id": user,
        "$insert_id": insert_id,
        "mp_processing_time_ms": received_ms,
    }
    return {"event": name, "properties": {**props, **fixed}}


def new_project(data_dir: Path) -> Project:
    return ProjectCatalog(data_dir).create("t")


def write_parts(data_dir: Path, project: Project, events: list[Event]) -> None:
    """One commit of ``events``: a new part in every shard they touch, each row stored under
    the user its id resolves to by the merges committed so far and the batch's own, as the
    storage worker does."""
    if events:
        paths = ProjectPaths(data_dir, project.id)
        table = events_to_table(events, project.shards)
        metadata = None
        if project.id_merge != "none":
            reader = EventReader(data_dir, 1 << 26)
            known = reader.identity_with(project, EventTable(paths.events).snapshot(), table)
            table = resolve_table(table, known, project.shards)
            deletions = DeletionList(paths.deletions)
            metadata = partial(edges_metadata, project.id_merge, deletions=deletions)
        EventTable(paths.events).append(table, {}, metadata)


def write_tail(data_dir: Path, project: Project, events: list[Event]) -> None:
    """``events`` as one /track record in the real log, past anything the table holds."""
    if events:
        append_record(data_dir, LogRecord(project.id, "track", 1, events))


def write_profiles(data_dir: Path, project: Project, kind: str, updates: list[Event]) -> None:
    """Profile updates (``engage`` or ``groups``, ingest's normal form) as one logged record."""
    append_record(data_dir, LogRecord(project.id, kind, 1, updates))


def append_record(data_dir: Path, record: LogRecord) -> None:
    """One record appended to the real log, durably, by a writer of its own."""
    directory, lock = claim_writer_dir(data_dir / "log")
    writer = LogWriter(directory)

    async def append() -> None:
        appender = DurableAppender(writer)
        try:
            await appender.append(encode_record(record))
        finally:
            await appender.close()

    try:
        asyncio.run(append())
    finally:
        writer.close()
        lock.close()


def store(data_dir: Path, project: Project, batches: list[list[Event]], tail: list[Event]) -> None:
    for batch in batches:
        write_parts(data_dir, project, batch)
    write_tail(data_dir, project, tail)


def reader(data_dir: Path) -> EventReader:
    return EventReader(data_dir, 1 << 28)


class SavedCohorts:
    """A project's saved cohorts, saved as the API saves them (checked among each other)."""

    def __init__(self, data_dir: Path, project: Project) -> None:
        self.services = Services.open(data_dir)
        self.project = project

    def add(self, definition: CohortDefinition, now_ms: int) -> SavedCohort:
        return cohorts.add_cohort(self.services, self.project, definition, now_ms)

    def replace(self, cohort_id: int, definition: CohortDefinition, now_ms: int) -> SavedCohort:
        return cohorts.replace_cohort(self.services, self.project, cohort_id, definition, now_ms)

    def remove(self, cohort_id: int) -> None:
        cohorts.remove_cohort(self.services, self.project, cohort_id)

    def get(self, cohort_id: int) -> SavedCohort:
        return cohorts.cohort(self.services, self.project, cohort_id)

    def all(self) -> list[SavedCohort]:
        return cohorts.cohorts(self.services, self.project)
