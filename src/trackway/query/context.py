"""What a report sees besides its rows' own columns: whose rows they are (users, resolved
through identity, or groups), the profile of each, and the cohorts they belong to.

One context per query; the views of every shard share it, so profiles and cohort members
are computed once per query (and cached across queries while their inputs stay the same).
Where they come from is injected where a report starts (``query/reports.py``): without a
source, ``user[...]`` and ``cohort(N)`` are errors that say so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from trackway.projects import Project
from trackway.query.expr import ExpressionError, Vector
from trackway.storage.identity import IdentityMap
from trackway.storage.scan import EventReader
from trackway.storage.sharding import positions_in


class ProfileSource(Protocol):
    def vector(self, name: str, users: npt.NDArray[np.int64]) -> Vector:
        """The profile property ``name`` of each row's user (undefined where none)."""
        ...


class CohortSource(Protocol):
    def members(self, cohort_id: int) -> npt.NDArray[np.int64]:
        """The sorted hashes of the users (or groups) in the cohort, as of the query."""
        ...


@dataclass
class ReportContext:
    reader: EventReader
    project: Project
    # The event property whose value is the unit counted instead of users (group analytics).
    group: str | None = None
    now_ms: int = 0
    make_profiles: Callable[[ReportContext], ProfileSource] | None = None
    make_cohorts: Callable[[ReportContext], CohortSource] | None = None
    _made: dict[str, Any] = field(default_factory=dict)
    # Re-entrant: making one input may need another (profiles need the identity map).
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def identity(self) -> IdentityMap:
        identity: IdentityMap = self._once("identity", lambda: self.reader.identity(self.project))
        return identity

    def user_property(self, name: str, users: npt.NDArray[np.int64]) -> Vector:
        make = self.make_profiles
        if make is None:
            raise ExpressionError(f"user[{name!r}]: profile properties are not available here")
        source: ProfileSource = self._once("profiles", lambda: make(self))
        return source.vector(name, users)

    def in_cohort(self, cohort_id: int, users: npt.NDArray[np.int64]) -> Vector:
        make = self.make_cohorts
        if make is None:
            raise ExpressionError(f"cohort({cohort_id}): cohorts are not available here")
        source: CohortSource = self._once("cohorts", lambda: make(self))
        return Vector.from_bools(member_mask(users, source.members(cohort_id)))

    def _once(self, name: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._made:
                self._made[name] = make()
            return self._made[name]


def member_mask(
    users: npt.NDArray[np.int64], members: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which rows belong to one of the sorted ``members``."""
    return positions_in(members, users) >= 0
