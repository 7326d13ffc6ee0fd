"""Cohorts: saved definitions of a set of users (or groups), evaluated exactly at query time.

``spec`` is the definition and its condition tree, ``store`` the saved definitions of a
project, ``evaluate`` the members as of a query. See docs/cohorts.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trackway.query.cohorts.evaluate import CohortMembers
    from trackway.query.context import ReportContext


def cohort_members(context: ReportContext) -> CohortMembers:
    """The cohorts a report's ``cohort(N)`` reads (``ReportContext.make_cohorts``)."""
    # Imported here: evaluation reads shard views, which import the context naming this.
    from trackway.query.cohorts.evaluate import CohortMembers  # noqa: PLC0415 - cycle

    return CohortMembers(context)
