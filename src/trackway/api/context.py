"""What the API handlers share within one server process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trackway.projects import ProjectCatalog
from trackway.settings import Settings
from trackway.storage.profile_reader import ProfileReader
from trackway.storage.scan import EventReader


@dataclass(frozen=True, slots=True)
class ApiContext:
    data_dir: Path
    settings: Settings
    catalog: ProjectCatalog
    events: EventReader
    profiles: ProfileReader

    @classmethod
    def open(cls, data_dir: Path, settings: Settings, catalog: ProjectCatalog) -> ApiContext:
        events = EventReader(data_dir, settings.scan_cache_bytes)
        # One profile reader per process: the query layer's, so reports and /engage share it.
        return cls(data_dir, settings, catalog, events, events.profiles)
