"""Where a project's data lives inside the data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trackway.property_names import names_path

# Delta application-transaction ids recording how far a table applied each log writer.
LOG_APP_PREFIX = "trackway-log:"
# The storage worker's consumer name in the log.
CONSUMER = "storage"


@dataclass(frozen=True, slots=True)
class ProjectPaths:
    data_dir: Path
    project_id: int

    @property
    def root(self) -> Path:
        return self.data_dir / "projects" / str(self.project_id)

    @property
    def events(self) -> Path:
        return self.root / "events"

    @property
    def users(self) -> Path:
        return self.root / "users"

    @property
    def groups(self) -> Path:
        return self.root / "groups"

    @property
    def deletions(self) -> Path:
        return self.root / "deletions.json"

    @property
    def property_names(self) -> Path:
        return names_path(self.data_dir, self.project_id)
