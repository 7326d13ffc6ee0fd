"""Cohort members, evaluated exactly when a query asks: never stored, never stale.

``CohortMembers(context)`` answers ``members(cohort_id)``: the sorted hashes of the users
(or, for a group cohort, the groups) in the cohort as of the query's ``now``, the hashes
report rows carry (``ShardView.users``). One instance serves one query: each cohort is
evaluated once however many shards, filters and nested cohorts ask, the saved definitions
are read once, and the universe (who ``not`` complements against) is computed once.
Evaluation runs on the asking thread, never on the query pool, whose threads may be the
ones waiting for it.
"""

from __future__ import annotations

import threading
import time
from functools import reduce

import numpy as np

from trackway.query.cohorts.did import did_counts, event_users
from trackway.query.cohorts.profile_view import ProfileView
from trackway.query.cohorts.references import check_saved
from trackway.query.cohorts.spec import (
    AllOf,
    AnyOf,
    CohortDefinition,
    Condition,
    Did,
    InCohort,
    Listed,
    Not,
    Profile,
    check_definition,
    condition_of,
)
from trackway.query.context import ReportContext
from trackway.query.errors import SpecError
from trackway.query.expr import ExpressionError
from trackway.query.profile_table import ProfileTable
from trackway.saved.objects import SavedCohort
from trackway.saved.store import SavedStore
from trackway.storage.sharding import user_hash
from trackway.types import I64


class CohortMembers:
    """A query's view of its project's saved cohorts (a ``CohortSource``)."""

    def __init__(self, context: ReportContext) -> None:
        self.group = context.group
        self.now_ms = context.now_ms or int(time.time() * 1000)
        # The context cohort conditions are evaluated in: the query's own, except that any
        # cohort(N) it meets (in a `where`) comes back here, to this memo and cycle check.
        self.context = ReportContext(
            context.reader,
            context.project,
            group=context.group,
            now_ms=self.now_ms,
            make_profiles=lambda _: self.profiles(),
            make_cohorts=lambda _: self,
        )
        self._lock = threading.RLock()
        self._memo: dict[int, I64] = {}
        self._active: list[int] = []
        self._saved: dict[int, SavedCohort] | None = None
        self._universe: I64 | None = None
        self._profiles: ProfileTable | None = None

    def members(self, cohort_id: int) -> I64:
        with self._lock:
            found = self._memo.get(cohort_id)
            if found is not None:
                return found
            saved = self.saved().get(cohort_id)
            if saved is None:
                raise ExpressionError(
                    f"Expected the id of a saved cohort of this project, got {cohort_id}"
                )
            if saved.group != self.group:
                raise ExpressionError(
                    f"Expected a cohort of {_kind(self.group)} (what this query counts),"
                    f" got cohort {cohort_id} of {_kind(saved.group)}"
                )
            if cohort_id in self._active:
                chain = " → ".join(str(c) for c in [*self._active, cohort_id])
                raise SpecError(f"Expected no cohort to depend on itself, got {chain}")
            self._active.append(cohort_id)
            try:
                found = self.evaluate(condition_of(saved))
            finally:
                self._active.pop()
            self._memo[cohort_id] = found
            return found

    def unsaved(self, definition: CohortDefinition) -> I64:
        """The members of a definition that is not saved (checked as a save would)."""
        if definition.group != self.group:
            raise SpecError(
                f"Expected a cohort of {_kind(self.group)}, got one of {_kind(definition.group)}"
            )
        probe = SavedCohort(0, definition.name, definition.description, definition.group,
                            definition.condition, 0, 0)  # fmt: skip
        check_saved(probe, {**self.saved(), 0: probe})
        return self.evaluate(check_definition(definition))

    def evaluate(self, condition: Condition) -> I64:
        """The sorted hashes that satisfy ``condition``."""
        with self._lock:
            match condition:
                case AllOf(conditions=items):
                    found = [self.evaluate(item) for item in items]
                    return reduce(lambda a, b: np.intersect1d(a, b, assume_unique=True), found)
                case AnyOf(conditions=items):
                    return reduce(np.union1d, [self.evaluate(item) for item in items])
                case Not(condition=item):
                    return np.setdiff1d(self.universe(), self.evaluate(item), assume_unique=True)
                case Profile(expression=expression):
                    return ProfileView(self.profiles(), self.members).matching(expression)
                case Did():
                    return self._did(condition)
                case InCohort(cohort_id=cohort_id, path=path):
                    if cohort_id not in self.saved():
                        raise SpecError(
                            "Invalid cohort definition: expected the id of a saved cohort of"
                            f" this project, got {cohort_id}",
                            path,
                        )
                    return self.members(cohort_id)
                case Listed(ids=ids):
                    return self._listed(ids)
        raise AssertionError(condition)

    def _did(self, did: Did) -> I64:
        users, counts = did_counts(self.context, did, self.now_ms)
        keep = counts >= did.spec.at_least
        if did.spec.at_most is not None:
            keep &= counts <= did.spec.at_most
        found: I64 = users[keep]
        if did.spec.at_least == 0:
            # Zero matching events also counts: everyone without one is in.
            found = np.union1d(found, np.setdiff1d(self.universe(), users, assume_unique=True))
        return found

    def _listed(self, ids: tuple[str, ...]) -> I64:
        """The units named, as reports key them: a user id through its identity cluster's
        canonical id, a group id as it is; only those in the universe."""
        if self.group is None:
            identity = self.context.reader.identity(self.context.project)
            ids = tuple(identity.canonical(unit) for unit in ids)
        hashes = np.unique(np.fromiter((user_hash(unit) for unit in ids), np.int64, len(ids)))
        return np.intersect1d(hashes, self.universe(), assume_unique=True)

    def universe(self) -> I64:
        """Everyone a cohort can hold: every user (or group) with an event at or before now,
        or with a profile."""
        with self._lock:
            if self._universe is None:
                self._universe = np.union1d(
                    event_users(self.context, self.now_ms), self.profiles().hashes
                )
            return self._universe

    def profiles(self) -> ProfileTable:
        with self._lock:
            if self._profiles is None:
                self._profiles = ProfileTable.build(self.context)
            return self._profiles

    def saved(self) -> dict[int, SavedCohort]:
        with self._lock:
            if self._saved is None:
                reader, project = self.context.reader, self.context.project
                cohorts = SavedStore.of(reader.data_dir, project.id).read().cohorts.items
                self._saved = {c.id: c for c in cohorts}
            return self._saved


def _kind(group: str | None) -> str:
    return "users" if group is None else f"groups of `{group}`"
