"""Saved cohorts: their definitions (checked among the project's other cohorts when saved),
their exact current members and counts, and the member list with profiles, paged or as CSV.

Counts and members are evaluated when asked (docs/cohorts.md): only definitions are kept.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from trackway.projects import Project
from trackway.query.cohorts.evaluate import CohortMembers
from trackway.query.cohorts.references import check_saved, refuse_users
from trackway.query.cohorts.spec import CohortDefinition
from trackway.query.cohorts.units import profile_names, profile_properties, unit_ids
from trackway.query.profile_table import ProfileTable
from trackway.query.reports import report_context
from trackway.saved.document import Saved
from trackway.saved.objects import SavedCohort
from trackway.saved.store import SavedStore
from trackway.services.context import Services
from trackway.services.profiles import group_states
from trackway.types import I64

_CSV_BATCH = 1000


def _store(services: Services, project: Project) -> SavedStore:
    return SavedStore.of(services.data_dir, project.id)


def cohorts(services: Services, project: Project) -> list[SavedCohort]:
    return _store(services, project).read().cohorts.items


def cohort(services: Services, project: Project, cohort_id: int) -> SavedCohort:
    return _store(services, project).read().cohorts.get(cohort_id, "cohort")


def add_cohort(
    services: Services, project: Project, definition: CohortDefinition, now_ms: int
) -> SavedCohort:
    def add(saved: Saved) -> SavedCohort:
        new = _saved(saved.cohorts.next_id, definition, now_ms, now_ms)
        check_saved(new, {**_by_id(saved), new.id: new})
        return saved.cohorts.add(lambda _: new)

    return _store(services, project).update(add)


def replace_cohort(
    services: Services,
    project: Project,
    cohort_id: int,
    definition: CohortDefinition,
    now_ms: int,
) -> SavedCohort:
    def replace(saved: Saved) -> SavedCohort:
        old = saved.cohorts.get(cohort_id, "cohort")
        new = _saved(cohort_id, definition, old.created_ms, now_ms)
        others = {**_by_id(saved), cohort_id: new}
        check_saved(new, others)
        if new.group != old.group:
            refuse_users(cohort_id, others, "change the `group` of")
        return saved.cohorts.replace(new, "cohort")

    return _store(services, project).update(replace)


def remove_cohort(services: Services, project: Project, cohort_id: int) -> None:
    def remove(saved: Saved) -> None:
        saved.cohorts.get(cohort_id, "cohort")
        refuse_users(
            cohort_id, {c.id: c for c in saved.cohorts.items if c.id != cohort_id}, "delete"
        )
        saved.cohorts.remove(cohort_id, "cohort")

    _store(services, project).update(remove)


def _saved(
    cohort_id: int, definition: CohortDefinition, created_ms: int, now_ms: int
) -> SavedCohort:
    return SavedCohort(
        cohort_id,
        definition.name,
        definition.description,
        definition.group,
        definition.condition,
        created_ms,
        now_ms,
    )


def _by_id(saved: Saved) -> dict[int, SavedCohort]:
    return {c.id: c for c in saved.cohorts.items}


def source(services: Services, project: Project, group: str | None) -> CohortMembers:
    """The members of the project's saved cohorts of ``group`` (users when None), as of now."""
    return CohortMembers(report_context(services.events, project, group=group))


def members(services: Services, project: Project, saved: SavedCohort) -> I64:
    """The sorted hashes of the cohort's members, as reports key them."""
    return source(services, project, saved.group).members(saved.id)


def counts(services: Services, project: Project) -> list[tuple[SavedCohort, int]]:
    """Every saved cohort with its exact current count, each kind of members evaluated once."""
    sources: dict[str | None, CohortMembers] = {}
    out = []
    for saved in cohorts(services, project):
        found = sources.get(saved.group)
        if found is None:
            found = sources[saved.group] = source(services, project, saved.group)
        out.append((saved, len(found.members(saved.id))))
    return out


@dataclass(frozen=True, slots=True)
class Listing:
    """A cohort's members sorted by id, with what their profile rows need."""

    ids: list[str]
    hashes: I64
    profiles: ProfileTable
    names: list[str]  # every profile property name of the cohort's kind

    def page(self, start: int, stop: int) -> list[dict[str, Any]]:
        properties = profile_properties(self.profiles, self.hashes[start:stop], self.names)
        return [
            {"distinct_id": unit, "properties": props}
            for unit, props in zip(self.ids[start:stop], properties, strict=True)
        ]

    def csv(self) -> Iterator[str]:
        """``distinct_id`` and a column per profile property, in batches of rows."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["distinct_id", *self.names])
        for start in range(0, max(len(self.ids), 1), _CSV_BATCH):
            for row in self.page(start, start + _CSV_BATCH):
                cells = (_cell(row["properties"], name) for name in self.names)
                writer.writerow([row["distinct_id"], *cells])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()


def listing(services: Services, project: Project, saved: SavedCohort) -> Listing:
    found = source(services, project, saved.group)
    hashes = found.members(saved.id)
    table = found.profiles()
    ids = unit_ids(found.context, hashes, table)
    order = sorted(range(len(ids)), key=ids.__getitem__)
    states = group_states(services, project, saved.group)
    return Listing(
        [ids[i] for i in order],
        hashes[np.asarray(order, np.int64)],
        table,
        profile_names(states),
    )


def _cell(properties: dict[str, Any], name: str) -> str:
    """Empty when the profile lacks the property; text as it is; anything else as JSON."""
    if name not in properties:
        return ""
    value = properties[name]
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()
