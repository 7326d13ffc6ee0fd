"""Profiles seen through the expression language, one row per profile: what a cohort's
``profile`` condition and /engage's ``where`` evaluate over.

On a profile row ``properties["plan"]`` and ``user["plan"]`` both name the profile's
property (/engage's ``where`` says ``properties``); there is no event, so ``event["…"]`` is
an error, and ``cohort(N)`` asks whether the profile's owner is in cohort N.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from trackway.query.expr import Compiled, ExpressionError, Vector
from trackway.query.profile_table import ProfileTable
from trackway.types import I64


class ProfileView:
    """``units``: whose profile each row is (default the table's hashes), for ``cohort(N)``
    over a table that lists profiles by distinct_id rather than by resolved user."""

    def __init__(
        self,
        table: ProfileTable,
        members: Callable[[int], I64] | None,
        units: I64 | None = None,
    ) -> None:
        self.table = table
        self.rows = len(table)
        self._members = members
        self._units = table.hashes if units is None else units

    def property(self, name: str) -> Vector:
        return self.table.column(name)

    def user_property(self, name: str) -> Vector:
        return self.table.column(name)

    def time(self) -> Vector:
        raise ExpressionError('event["…"]: a profile has no event time, only properties')

    def event_name(self) -> Vector:
        raise ExpressionError('event["…"]: a profile has no event name, only properties')

    def in_cohort(self, cohort_id: int) -> Vector:
        if self._members is None:
            raise ExpressionError(f"cohort({cohort_id}): cohorts are not available here")
        return Vector.from_bools(np.isin(self._units, self._members(cohort_id)))

    def mask(self, expression: Compiled) -> npt.NDArray[np.bool_]:
        """Which profiles (in the table's order) ``expression`` is true for."""
        return expression.filter_mask(self, self.rows)

    def matching(self, expression: Compiled) -> I64:
        """The sorted hashes of the profiles for which ``expression`` is true."""
        found: I64 = self.table.hashes[self.mask(expression)]
        return found
