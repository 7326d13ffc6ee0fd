"""Current profiles for reads: the committed table plus the log tail, cached per version."""

from __future__ import annotations

import copy
import threading
from collections.abc import Hashable
from pathlib import Path

from deltalake import DeltaTable

from trackway.log import LogRecord
from trackway.projects import Project
from trackway.storage.deletions import DeletionList, erasure_times
from trackway.storage.events_table import load_as_of, version_error
from trackway.storage.layout import LOG_APP_PREFIX, ProjectPaths
from trackway.storage.profile_store import profile_key, states_of
from trackway.storage.profile_updates import Profile, apply_logged
from trackway.storage.tail import LogTail

KINDS = {"users": "engage", "groups": "groups"}


class ProfileReader:
    def __init__(self, data_dir: Path, tail: LogTail) -> None:
        self._data_dir = data_dir
        self._tail = tail
        self._lock = threading.Lock()
        self._cache: dict[tuple[Path, int], dict[str, Profile]] = {}

    def current(
        self, project: Project, kind: str = "users", as_of: int | None = None
    ) -> dict[str, Profile]:
        try:
            return self._current(project, kind, as_of)
        except FileNotFoundError:
            # A file went between opening the table and reading it: vacuumed, past the
            # retention window. The latest version has all of its files.
            if as_of is not None:
                root = self._open(project, kind)[1]
                raise version_error(root, as_of, files_gone=True) from None
            return self._current(project, kind, as_of)

    def _current(self, project: Project, kind: str, as_of: int | None) -> dict[str, Profile]:
        paths, root, table = self._open(project, kind)
        if table is not None and as_of is not None and not load_as_of(table, root, as_of):
            table = None
        version = table.version() if table is not None else -1
        with self._lock:
            states = self._cache.get((root, version))
            if states is None:
                # The table as opened, the version the tail below is read against: the worker
                # may have committed since, and a newer version would count the tail twice.
                states = states_of(table, erasures=True) if table is not None else {}
                self._cache = {(root, version): states}  # one version per reader is enough
        if as_of is not None:
            return states
        records = self._tail_records(project, kind, table)
        erasures = erasure_times(DeletionList(paths.deletions).all()) if kind == "users" else {}
        if records or erasures:
            states = dict(states)
            for record in records:
                for update in record.items:
                    key = profile_key(update)
                    current = copy.deepcopy(states.get(key))
                    counts, new = apply_logged(
                        current, update, record.received_ms, erasures.get(key)
                    )
                    if counts:
                        if new is None:
                            states.pop(key, None)
                        else:
                            states[key] = new
            # A deletion the worker has not applied yet already hides what predates it.
            for key, at in erasures.items():
                state = states.get(key)
                if state is not None and state.get("erased_ms", -1) < at:
                    del states[key]
        return states

    def version(self, project: Project, kind: str = "users") -> Hashable:
        """A key of what ``current(project, kind)`` answers now: the table version, the
        uncommitted records (the tail keeps each decoded record object, so their identities
        name its state) and the number of deletions (the list only grows)."""
        paths, root, table = self._open(project, kind)
        records = self._tail_records(project, kind, table)
        deletions = len(DeletionList(paths.deletions).all()) if kind == "users" else 0
        version = table.version() if table is not None else -1
        return (str(root), version, tuple(id(r) for r in records), deletions)

    def _open(self, project: Project, kind: str) -> tuple[ProjectPaths, Path, DeltaTable | None]:
        paths = ProjectPaths(self._data_dir, project.id)
        root = paths.users if kind == "users" else paths.groups
        table = DeltaTable(str(root)) if DeltaTable.is_deltatable(str(root)) else None
        return paths, root, table

    def _tail_records(
        self, project: Project, kind: str, table: DeltaTable | None
    ) -> list[LogRecord]:
        def applied(writer: str) -> int:
            return (table.transaction_version(LOG_APP_PREFIX + writer) or 0) if table else 0

        return self._tail.records(project.id, applied, (KINDS[kind],))
