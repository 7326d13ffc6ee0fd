"""The checks a cohort definition passes among its project's saved cohorts: the cohorts it
names exist and count the same kind of members, and no cohort depends on itself. Run when a
definition is saved, inside the saved document's update, so a saved cohort always evaluates.
"""

from __future__ import annotations

from trackway.query.cohorts.spec import condition_of, referenced
from trackway.query.errors import SpecError
from trackway.saved.objects import SavedCohort


def check_saved(saved: SavedCohort, cohorts: dict[int, SavedCohort]) -> None:
    """Refuse a definition that would not evaluate among ``cohorts`` (the project's, with
    this one in its new form): unknown or other-kind cohorts named, or a cycle."""
    for cohort_id in sorted(referenced(condition_of(saved))):
        other = cohorts.get(cohort_id)
        if other is None:
            raise SpecError(
                f"Invalid cohort definition: expected the id of a saved cohort of this "
                f"project, got {cohort_id}",
                "$.condition",
            )
        if other.group != saved.group:
            raise SpecError(
                f"Invalid cohort definition: cohort {cohort_id} counts {_members(other.group)},"
                f" this one {_members(saved.group)}",
                "$.condition",
            )
    cycle = find_cycle(saved.id, cohorts)
    if cycle:
        chain = " → ".join(str(c) for c in cycle)
        raise SpecError(
            f"Invalid cohort definition: expected no cohort to depend on itself, got {chain}",
            "$.condition",
        )


def find_cycle(start: int, cohorts: dict[int, SavedCohort]) -> list[int]:
    """A chain of references from ``start`` back to itself, or [] when there is none."""
    edges = {cohort_id: sorted(referenced(condition_of(c))) for cohort_id, c in cohorts.items()}
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


def refuse_users(cohort_id: int, cohorts: dict[int, SavedCohort], action: str) -> None:
    users = [
        c.id
        for c in cohorts.values()
        if c.id != cohort_id and cohort_id in referenced(condition_of(c))
    ]
    if users:
        named = ", ".join(str(u) for u in sorted(users))
        raise SpecError(
            f"Expected a cohort no other cohort names to {action}, got {cohort_id}:"
            f" cohorts {named} use it"
        )


def _members(group: str | None) -> str:
    return "users" if group is None else f"groups of `{group}`"
