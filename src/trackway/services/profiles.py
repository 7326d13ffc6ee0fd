"""User and group profiles as /engage lists them: filtered by ids, by an expression over their
properties, by a cohort (saved, or a definition sent with the request) and by what their
users did; each shown with the two dates /engage adds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from trackway.projects import Project
from trackway.query.cohorts.evaluate import CohortMembers
from trackway.query.cohorts.profile_view import ProfileView
from trackway.query.cohorts.spec import CohortDefinition, Condition, check_definition
from trackway.query.cohorts.units import unit_ids
from trackway.query.errors import SpecError
from trackway.query.expr import ExpressionError, compile_expression
from trackway.query.profile_table import ProfileTable
from trackway.query.reports import report_context
from trackway.services.context import Services
from trackway.storage.profile_store import GROUP_SEPARATOR
from trackway.storage.profile_updates import Profile
from trackway.storage.sharding import user_hash
from trackway.types import I64


@dataclass(frozen=True, slots=True)
class ProfileQuery:
    group: str | None = None  # a group key: that key's group profiles, not users'
    distinct_ids: list[str] | None = None
    where: str | None = None  # over profile properties
    cohort: int | CohortDefinition | None = None  # a saved cohort's id, or a definition
    behaviors: Condition | None = None  # what the users did (``did`` conditions)
    # With a cohort and no `where`: the cohort's members that have no profile too.
    include_all_users: bool = False
    output_properties: list[str] | None = None


@dataclass(frozen=True, slots=True)
class ProfileList:
    ids: list[str]  # the matching profiles' ids, sorted
    states: dict[str, Profile]  # by id; a listed member without a profile has none
    stored: int  # profiles of this kind in the project
    output_properties: list[str] | None

    def properties(self, unit: str) -> dict[str, Any]:
        """The profile's properties with ``$created`` and ``$last_seen``, as /engage shows."""
        state = self.states.get(unit)
        props: dict[str, Any] = {}
        if state is not None:
            props = dict(state["properties"])
            props.setdefault("$created", _iso(state["created_ms"]))
            props["$last_seen"] = _iso(state["last_seen_ms"])
        if self.output_properties is not None:
            props = {name: props[name] for name in self.output_properties if name in props}
        return props


def group_states(services: Services, project: Project, group: str | None) -> dict[str, Profile]:
    """The current profiles of users, or of the groups of the key ``group``, by key."""
    states = services.profiles.current(project, "users" if group is None else "groups")
    if group is None:
        return states
    prefix = group + GROUP_SEPARATOR
    return {k: s for k, s in states.items() if k.startswith(prefix)}


def find_profiles(services: Services, project: Project, query: ProfileQuery) -> ProfileList:
    states = group_states(services, project, query.group)
    prefix = "" if query.group is None else query.group + GROUP_SEPARATOR
    by_id = {key[len(prefix) :]: state for key, state in states.items()}
    every = sorted(by_id)
    wanted = query.distinct_ids
    ids = every if wanted is None else [i for i in every if i in set(wanted)]
    if query.where or query.cohort is not None or query.behaviors is not None:
        source = CohortMembers(report_context(services.events, project, group=query.group))
        ids = _filtered(source, {i: by_id[i] for i in ids}, every, query)
    return ProfileList(ids, by_id, len(states), query.output_properties)


def _filtered(
    source: CohortMembers, profiles: dict[str, Profile], every: list[str], query: ProfileQuery
) -> list[str]:
    """The ids (sorted) of the listed ``profiles`` that pass ``where``, the cohort and the
    behaviors. With ``include_all_users`` (and no ``where``, which needs a profile), the
    cohort's members without any profile (of ``every``) are listed too."""
    ids = list(profiles)
    if query.where:
        try:
            expression = compile_expression(query.where)
        except ExpressionError as exc:
            raise SpecError(f"Invalid `where`: {exc.message}") from None
        table = ProfileTable.from_states(profiles, None, None)  # one row per listed profile
        view = ProfileView(table, source.members, _units(source, table.ids.tolist()))
        kept = set(table.ids[view.mask(expression)].tolist())
        ids = [i for i in ids if i in kept]
    members: I64 | None = None
    if isinstance(query.cohort, int):
        members = source.members(query.cohort)
    elif query.cohort is not None:
        check_definition(query.cohort)
        members = source.unsaved(query.cohort)
    if query.behaviors is not None:
        found = source.evaluate(query.behaviors)
        members = found if members is None else np.intersect1d(members, found)
    if members is None:
        return ids
    ids = [i for i, keep in zip(ids, np.isin(_units(source, ids), members), strict=True) if keep]
    if query.include_all_users and not query.where:
        without = np.setdiff1d(members, _units(source, every))
        extra = unit_ids(source.context, without, source.profiles())
        if query.distinct_ids is not None:
            extra = [i for i in extra if i in set(query.distinct_ids)]
        ids = sorted([*ids, *extra])
    return ids


def _units(source: CohortMembers, ids: list[str]) -> I64:
    """The unit each profile belongs to: its distinct_id's resolved user, or its group."""
    identity = source.context.identity if source.group is None else None
    return np.fromiter(
        (user_hash(i if identity is None else identity.canonical(i)) for i in ids),
        np.int64,
        len(ids),
    )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
