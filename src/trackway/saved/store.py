"""One project's saved objects in ``<project>/saved.json``, a document that several server
processes share (``JsonFile``).

Whether a definition makes sense (a report's spec, a cohort's conditions) is checked by the
caller, inside ``update`` when it depends on the other saved objects, so that the check and
the write see the same document.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from trackway.files import JsonFile
from trackway.saved.document import Saved
from trackway.saved.upgrade import upgrade
from trackway.storage.layout import ProjectPaths

FILE_NAME = "saved.json"
T = TypeVar("T")


class SavedStore:
    """A project's saved objects: ``read`` the whole (it is small), ``update`` under the lock."""

    def __init__(self, path: Path) -> None:
        self._file = JsonFile(path, Saved)

    @classmethod
    def of(cls, data_dir: Path, project_id: int) -> SavedStore:
        root = ProjectPaths(data_dir, project_id).root
        upgrade(root, root / FILE_NAME)
        return cls(root / FILE_NAME)

    def read(self) -> Saved:
        return self._file.read()

    def update(self, change: Callable[[Saved], T]) -> T:
        return self._file.update(change)
