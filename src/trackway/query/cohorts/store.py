"""Saved cohorts: a project's cohort definitions, kept in its directory as ``cohorts.json``.

Only definitions are kept, never members: a cohort is evaluated when a query needs it. A
definition is checked when it is saved (its conditions, the cohorts it names exist and count
the same kind of members, no cohort depends on itself), so a saved cohort always evaluates.
Ids count up per project and are never reused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from trackway.errors import NotFoundError, PayloadError
from trackway.files import atomic_write, exclusive_lock
from trackway.query.cohorts.spec import CohortDefinition, check_definition, referenced
from trackway.storage.layout import ProjectPaths

FILE_NAME = "cohorts.json"


class SavedCohort(msgspec.Struct, frozen=True):
    cohort_id: int
    name: str
    description: str
    group: str | None
    condition: dict[str, Any]  # as it was saved
    created_ms: int
    updated_ms: int

    @property
    def definition(self) -> CohortDefinition:
        return CohortDefinition(self.name, self.condition, self.description, self.group)


class _File(msgspec.Struct):
    next_id: int = 1  # ids are never reused, so a deleted cohort's id stays unknown
    cohorts: list[SavedCohort] = []


_file_decoder = msgspec.json.Decoder(_File)


class CohortStore:
    """One project's saved cohorts. Several server processes share the file: writers take an
    exclusive lock and replace it atomically; readers read it whole (it is small)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @classmethod
    def of(cls, data_dir: Path, project_id: int) -> CohortStore:
        return cls(ProjectPaths(data_dir, project_id).root / FILE_NAME)

    def add(self, definition: CohortDefinition, now_ms: int) -> SavedCohort:
        with exclusive_lock(self._lock_path):
            current = self._read()
            saved = SavedCohort(
                current.next_id,
                definition.name,
                definition.description,
                definition.group,
                definition.condition,
                now_ms,
                now_ms,
            )
            check_saved(
                saved, {**{c.cohort_id: c for c in current.cohorts}, saved.cohort_id: saved}
            )
            current.cohorts.append(saved)
            current.next_id += 1
            atomic_write(self._path, msgspec.json.encode(current))
        return saved

    def replace(self, cohort_id: int, definition: CohortDefinition, now_ms: int) -> SavedCohort:
        with exclusive_lock(self._lock_path):
            current = self._read()
            old = _find(current.cohorts, cohort_id)
            saved = SavedCohort(
                cohort_id,
                definition.name,
                definition.description,
                definition.group,
                definition.condition,
                old.created_ms,
                now_ms,
            )
            others = {c.cohort_id: c for c in current.cohorts}
            others[cohort_id] = saved
            check_saved(saved, others)
            if saved.group != old.group:
                _refuse_users(cohort_id, others, "change the `group` of")
            current.cohorts = [saved if c.cohort_id == cohort_id else c for c in current.cohorts]
            atomic_write(self._path, msgspec.json.encode(current))
        return saved

    def remove(self, cohort_id: int) -> None:
        with exclusive_lock(self._lock_path):
            current = self._read()
            _find(current.cohorts, cohort_id)
            kept = {c.cohort_id: c for c in current.cohorts if c.cohort_id != cohort_id}
            _refuse_users(cohort_id, kept, "delete")
            current.cohorts = list(kept.values())
            atomic_write(self._path, msgspec.json.encode(current))

    def all(self) -> list[SavedCohort]:
        return self._read().cohorts

    def get(self, cohort_id: int) -> SavedCohort:
        return _find(self._read().cohorts, cohort_id)

    @property
    def _lock_path(self) -> Path:
        return self._path.with_suffix(".lock")

    def _read(self) -> _File:
        try:
            return _file_decoder.decode(self._path.read_bytes())
        except FileNotFoundError:
            return _File()


def check_saved(saved: SavedCohort, cohorts: dict[int, SavedCohort]) -> None:
    """Refuse a definition that would not evaluate among ``cohorts`` (the project's, with
    this one in its new form): unknown or other-kind cohorts named, or a cycle."""
    for cohort_id in sorted(referenced(check_definition(saved.definition))):
        other = cohorts.get(cohort_id)
        if other is None:
            raise PayloadError(
                f"Invalid cohort definition: expected the id of a saved cohort of this "
                f"project, got {cohort_id} - at `$.condition`"
            )
        if other.group != saved.group:
            raise PayloadError(
                f"Invalid cohort definition: cohort {cohort_id} counts {_members(other.group)},"
                f" this one {_members(saved.group)} - at `$.condition`"
            )
    cycle = find_cycle(saved.cohort_id, cohorts)
    if cycle:
        chain = " → ".join(str(c) for c in cycle)
        raise PayloadError(
            f"Invalid cohort definition: expected no cohort to depend on itself, got {chain}"
            " - at `$.condition`"
        )


def find_cycle(start: int, cohorts: dict[int, SavedCohort]) -> list[int]:
    """A chain of references from ``start`` back to itself, or [] when there is none."""
    edges = {
        cohort_id: sorted(referenced(check_definition(c.definition)))
        for cohort_id, c in cohorts.items()
    }
    path = [start]
    seen: set[int] = set()
    # Depth-first over (node, next edge index) without recursion: chains may be long.
    stack = [(start, 0)]
    while stack:
        node, index = stack[-1]
        following = edges.get(node, [])
        if index == len(following):
            stack.pop()
            path.pop()
            continue
        stack[-1] = (node, index + 1)
        nxt = following[index]
        if nxt == start:
            return [*path, start]
        if nxt not in seen:
            seen.add(nxt)
            stack.append((nxt, 0))
            path.append(nxt)
    return []


def _refuse_users(cohort_id: int, cohorts: dict[int, SavedCohort], action: str) -> None:
    users = [
        c.cohort_id
        for c in cohorts.values()
        if c.cohort_id != cohort_id and cohort_id in referenced(check_definition(c.definition))
    ]
    if users:
        named = ", ".join(str(u) for u in sorted(users))
        raise PayloadError(
            f"Expected a cohort no other cohort names to {action}, got {cohort_id}:"
            f" cohorts {named} use it"
        )


def _find(cohorts: list[SavedCohort], cohort_id: int) -> SavedCohort:
    for saved in cohorts:
        if saved.cohort_id == cohort_id:
            return saved
    raise NotFoundError(f"Expected the id of a saved cohort of this project, got {cohort_id}")


def _members(group: str | None) -> str:
    return "users" if group is None else f"groups of `{group}`"
