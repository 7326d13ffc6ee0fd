"""The saved objects: typed, as they are kept and as the API shows them.

Each has an ``id`` that counts up per project and kind and is never reused; on the wire it is
named after its kind (``cohort_id``, ``report_id``, ``dashboard_id``), as clients know it.
"""

from __future__ import annotations

from typing import Any

import msgspec


class SavedCohort(msgspec.Struct, frozen=True):
    id: int = msgspec.field(name="cohort_id")
    name: str
    description: str
    group: str | None  # a group key: the members are groups of that key, not users
    condition: dict[str, Any]  # as it was saved (query/cohorts/spec.py parses it)
    created_ms: int
    updated_ms: int


class SavedReport(msgspec.Struct, frozen=True, omit_defaults=True):
    """A report of any kind the query registry knows (``insights``, ``funnels``, ...).

    ``definition`` is what the engine runs: the kind's spec without its dates, which come
    with every run (Mixpanel's ``/funnels?funnel_id=`` runs a saved funnel's). ``state`` is
    the client's own description of the report (the web app keeps there what its URL holds).
    """

    id: int = msgspec.field(name="report_id")
    name: str
    kind: str
    state: dict[str, Any]
    created_ms: int
    updated_ms: int
    definition: dict[str, Any] | None = None


class Dashboard(msgspec.Struct, frozen=True):
    id: int = msgspec.field(name="dashboard_id")
    name: str
    report_ids: list[int]
    created_ms: int
    updated_ms: int
