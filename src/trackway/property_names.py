"""Each project's property names, and the cap on how many there may be.

Every property name becomes a column of a table (docs/storage.md), so a
project keeps the names it holds, in three sets, in ``projects/<id>/property_names.json``:
``events`` (event properties, /track and /import), ``users`` (user-profile properties,
/engage) and ``groups`` (group-profile properties, /groups). Each set is capped
(``max_property_names`` for events, ``max_profile_property_names`` for each profile set).

Ingest adds a record's new names to the file, under its lock, before it appends the record
to the log, and refuses a record that would take a set past its cap; the other records of
the request go on. Every process keeps the sets in memory: a record whose names are all
there needs no disk. A record with a name this process has not seen takes the lock and
reads the file again, which is also how a process learns the names other processes added.
Names are never removed: a name counts from the first record that brought it, even if that
record's events were deleted later.

The file is seeded, once, with the names the project's tables already hold (``seed``), so
a data directory from before the file existed keeps its names when it is upgraded.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from trackway.files import JsonFile
from trackway.settings import Settings

Kind = Literal["events", "users", "groups"]
KINDS: tuple[Kind, ...] = ("events", "users", "groups")
NAMES_FILE = "property_names.json"
# What every event carries in the events table's fixed columns (its time, user, dedupe key and
# arrival): never a column of its own, so never counted.
FIXED_EVENT_PROPERTIES = frozenset({"time", "distinct_id", "$insert_id", "mp_processing_time_ms"})
_DESCRIBED: dict[Kind, str] = {
    "events": "event property names",
    "users": "user-profile property names",
    "groups": "group-profile property names",
}


class _Names(msgspec.Struct):
    events: list[str] = []
    users: list[str] = []
    groups: list[str] = []
    # Whether the names the tables held before this file existed were added (``seed``).
    seeded: bool = False


def names_path(data_dir: Path, project_id: int) -> Path:
    return data_dir / "projects" / str(project_id) / NAMES_FILE


@dataclass(frozen=True, slots=True)
class Cap:
    setting: str
    limit: int
    described: str  # what the set holds, for messages: "event property names"


def cap_of(settings: Settings, kind: Kind) -> Cap:
    if kind == "events":
        return Cap("max_property_names", settings.max_property_names, _DESCRIBED[kind])
    return Cap("max_profile_property_names", settings.max_profile_property_names, _DESCRIBED[kind])


@dataclass(frozen=True, slots=True)
class Refusal:
    """A record whose names would take its set past the cap: the names it would add, and how
    many the set held."""

    new: frozenset[str]
    held: int


class PropertyNames:
    """The property names of every project of a data directory, as one process sees them;
    shared by threads."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._files: dict[int, JsonFile[_Names]] = {}
        self._known: dict[tuple[int, Kind], frozenset[str]] = {}
        self._lock = threading.Lock()

    def known(self, project_id: int, kind: Kind) -> frozenset[str]:
        """The names this process knows the set holds (for events with the fixed ones, so that
        ``known >= properties`` is the whole check). Reads the file only on first use."""
        found = self._known.get((project_id, kind))
        if found is None:
            with self._lock:
                self._remember(project_id, self._file(project_id).read())
            found = self._known[(project_id, kind)]
        return found

    def admit(
        self, project_id: int, kind: Kind, records: Sequence[Collection[str]], cap: int
    ) -> list[Refusal | None]:
        """For each record's names, in order: add them to the set if it stays within ``cap``
        (None), else refuse the record. A record whose names the set holds already is always
        admitted. One locked read of the file, and one write when names were added."""

        def change(document: _Names) -> tuple[list[Refusal | None], bool]:
            self._remember(project_id, document, kind)
            names: list[str] = getattr(document, kind)
            held = set(names)
            verdicts: list[Refusal | None] = []
            added = False
            for record in records:
                new = [name for name in record if name not in held]
                if kind == "events":
                    new = [name for name in new if name not in FIXED_EVENT_PROPERTIES]
                if new and len(held) + len(set(new)) > cap:
                    verdicts.append(Refusal(frozenset(new), len(held)))
                    continue
                for name in new:
                    if name not in held:
                        held.add(name)
                        names.append(name)
                        added = True
                verdicts.append(None)
            if added:
                self._remember(project_id, document, kind)
            return verdicts, added

        with self._lock:
            return self._file(project_id).revise(change)

    def seed(self, project_id: int, stored: Mapping[Kind, Iterable[str]]) -> bool:
        """Add the names the project's tables hold, once per project (later calls change
        nothing); True when this call added them."""

        def change(document: _Names) -> tuple[bool, bool]:
            if document.seeded:
                return False, False
            for kind in KINDS:
                names: list[str] = getattr(document, kind)
                held = set(names)
                names.extend(sorted(set(stored.get(kind, ())) - held))
            document.seeded = True
            self._remember(project_id, document)
            return True, True

        with self._lock:
            return self._file(project_id).revise(change)

    def seeded(self, project_id: int) -> bool:
        return self._file(project_id).read().seeded

    def names(self, project_id: int, kind: Kind) -> list[str]:
        """The set as the file holds it now, in the order names arrived."""
        names: list[str] = getattr(self._file(project_id).read(), kind)
        return names

    def _file(self, project_id: int) -> JsonFile[_Names]:
        file = self._files.get(project_id)
        if file is None:
            file = self._files[project_id] = JsonFile(names_path(self.data_dir, project_id), _Names)
        return file

    def _remember(self, project_id: int, document: _Names, *only: Kind) -> None:
        """Keep the sets of ``document`` (all, or ``only`` these) as what this process knows."""
        for kind in only or KINDS:
            names = frozenset(getattr(document, kind))
            self._known[(project_id, kind)] = (
                names | FIXED_EVENT_PROPERTIES if kind == "events" else names
            )
