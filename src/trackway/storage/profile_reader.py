"""Current profiles for reads: the committed table plus the log tail, cached per version."""

from __future__ import annotations

import copy
import threading
from pathlib import Path

from deltalake import DeltaTable

from trackway.projects import Project
from trackway.storage.deletions import DeletionList, erasure_times
from trackway.storage.layout import LOG_APP_PREFIX, ProjectPaths
from trackway.storage.profile_ops import Profile, apply_logged
from trackway.storage.profiles import load_states, profile_key
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
        paths = ProjectPaths(self._data_dir, project.id)
        root = paths.users if kind == "users" else paths.groups
        table = DeltaTable(str(root)) if DeltaTable.is_deltatable(str(root)) else None
        if table is not None and as_of is not None:
            table.load_as_version(as_of)
        version = table.version() if table is not None else -1
        with self._lock:
            states = self._cache.get((root, version))
            if states is None:
                states = load_states(root, as_of, erasures=True)[0] if table is not None else {}
                self._cache = {(root, version): states}  # one version per reader is enough
        if as_of is not None:
            return states
        applied = (
            (lambda w: table.transaction_version(LOG_APP_PREFIX + w) or 0)
            if table
            else (lambda _: 0)
        )
        records = [r for r in self._tail.records(project.id, applied) if r.kind == KINDS[kind]]
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
