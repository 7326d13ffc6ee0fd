"""What the use cases share within one process: the data directory, its settings, its project
catalog, and one reader of events and profiles (whose caches every request shares)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from trackway.projects import ProjectCatalog
from trackway.settings import Settings
from trackway.storage.profile_reader import ProfileReader
from trackway.storage.scan import EventReader


@dataclass(frozen=True, slots=True)
class Services:
    data_dir: Path
    settings: Settings
    catalog: ProjectCatalog
    events: EventReader
    profiles: ProfileReader

    @classmethod
    def open(
        cls,
        data_dir: Path,
        settings: Settings | None = None,
        catalog: ProjectCatalog | None = None,
    ) -> Services:
        settings = settings or Settings.from_env()
        catalog = catalog or ProjectCatalog(data_dir)
        events = EventReader(data_dir, settings.scan_cache_bytes)
        # One profile reader per process, the event reader's: reports and /engage share it.
        return cls(data_dir, settings, catalog, events, events.profiles)


def now_ms() -> int:
    return int(time.time() * 1000)
