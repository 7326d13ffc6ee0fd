"""The property names a project's tables hold: what its names registry
(``trackway.property_names``) starts from when a data directory from before the registry is
upgraded, or when events were written to a table directly (``trackway demo``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from deltalake import DeltaTable

from trackway.projects import Project
from trackway.property_names import Kind, PropertyNames
from trackway.storage.columns import parse_property_column
from trackway.storage.layout import ProjectPaths


def stored_names(data_dir: Path, project_id: int) -> dict[Kind, set[str]]:
    """The property names of each of the project's tables, from the tables' schemas."""
    paths = ProjectPaths(data_dir, project_id)
    found: dict[Kind, set[str]] = {}
    tables: tuple[tuple[Kind, Path], ...] = (
        ("events", paths.events),
        ("users", paths.users),
        ("groups", paths.groups),
    )
    for kind, root in tables:
        names: set[str] = set()
        if DeltaTable.is_deltatable(str(root)):
            for field in DeltaTable(str(root)).schema().fields:
                parsed = parse_property_column(field.name)
                if parsed is not None:
                    names.add(parsed[0])
        found[kind] = names
    return found


def seed_property_names(data_dir: Path, projects: Iterable[Project]) -> list[int]:
    """Seed the registry of every project not seeded yet; the ids of those seeded now."""
    registry = PropertyNames(data_dir)
    seeded = []
    for project in projects:
        if not registry.seeded(project.id) and registry.seed(
            project.id, stored_names(data_dir, project.id)
        ):
            seeded.append(project.id)
    return seeded
