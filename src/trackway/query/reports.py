"""Every report kind in one registry: its spec, what it answers, how a spec is checked and how
it runs. The API's native routes, the CLI's ``trackway report``, saved reports and the
OpenAPI document all read ``REPORTS``; adding a kind is a package of its own under
``query/`` and one entry here (docs/architecture.md has the recipe).

A report starts here (``run_report``): its context is made with what its expressions may
read besides the rows, the profiles (``user[...]``) and the saved cohorts (``cohort(N)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from trackway.projects import Project
from trackway.query.behaviour import flows, frequency, funnels, lifecycle, retention
from trackway.query.behaviour.result import (
    FlowsResult,
    FrequencyResult,
    FunnelResult,
    LifecycleResult,
    RetentionResult,
)
from trackway.query.behaviour.spec import (
    FlowsSpec,
    FrequencySpec,
    FunnelSpec,
    LifecycleSpec,
    RetentionSpec,
)
from trackway.query.cohorts.evaluate import CohortMembers
from trackway.query.context import ReportContext
from trackway.query.errors import SpecError
from trackway.query.expr import ExpressionError
from trackway.query.insights import run as insights
from trackway.query.insights.result import InsightsResult
from trackway.query.insights.spec import InsightsSpec
from trackway.query.profile_table import ProfileTable
from trackway.query.timebuckets import zone
from trackway.storage.scan import EventReader


class Spec(Protocol):
    """What every report spec has: its days, its time zone, and the unit it counts."""

    @property
    def from_date(self) -> date: ...
    @property
    def to_date(self) -> date: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def group(self) -> str | None: ...


S = TypeVar("S", bound=Spec)
R = TypeVar("R", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class ReportKind(Generic[S, R]):
    name: str  # the route (POST /api/v1/projects/{id}/<name>), the saved kind, the CLI's
    title: str  # in messages: "Invalid funnel spec: ..."
    summary: str  # one line for the OpenAPI document and the CLI's help
    spec: type[S]
    result: type[R]
    # Checks a spec and compiles its expressions, or raises a UserError naming the field:
    # all a run does before it scans.
    plan: Callable[[S], object]
    run: Callable[[ReportContext, S], R]
    # A small spec of this kind that runs, dates aside: the OpenAPI document shows it, the
    # tests run every kind with it.
    example: dict[str, Any]


REPORTS: dict[str, ReportKind[Any, Any]] = {
    kind.name: kind
    for kind in (
        ReportKind(
            "insights",
            "Insights",
            "Run an Insights report: metrics over time, by segment",
            InsightsSpec,
            InsightsResult,
            insights.plan,
            insights.run_insights,
            {"metrics": [{"event": "Purchase", "measure": "unique"}], "unit": "week"},
        ),
        ReportKind(
            "funnels",
            "funnel",
            "Run a funnel",
            FunnelSpec,
            FunnelResult,
            funnels.plan,
            funnels.run_funnel,
            {"steps": [{"event": "Signed up"}, {"event": "Purchase"}], "window": {"length": 7}},
        ),
        ReportKind(
            "retention",
            "retention",
            "Run a retention report",
            RetentionSpec,
            RetentionResult,
            retention.plan,
            retention.run_retention,
            {"born": {"event": "Signed up"}, "unit": "week", "periods": 4},
        ),
        ReportKind(
            "flows",
            "flows",
            "Run a flows report",
            FlowsSpec,
            FlowsResult,
            flows.plan,
            flows.run_flows,
            {"anchor": {"event": "Signed up"}, "steps": 3},
        ),
        ReportKind(
            "frequency",
            "frequency",
            "Run a frequency report",
            FrequencySpec,
            FrequencyResult,
            frequency.plan,
            frequency.run_frequency,
            {"event": "Purchase", "unit": "week"},
        ),
        ReportKind(
            "lifecycle",
            "lifecycle",
            "Run a lifecycle report",
            LifecycleSpec,
            LifecycleResult,
            lifecycle.plan,
            lifecycle.run_lifecycle,
            {"event": "Purchase", "unit": "week"},
        ),
    )
}
_BY_SPEC: dict[type[Any], ReportKind[Any, Any]] = {kind.spec: kind for kind in REPORTS.values()}
# Any day does to check a definition: the dates are given when it runs.
_ANY_DAY = date(2000, 1, 1)
_DATES = ("from_date", "to_date")


def report_kind(name: str) -> ReportKind[Any, Any]:
    found = REPORTS.get(name)
    if found is None:
        kinds = ", ".join(REPORTS)
        raise SpecError(f"Expected a report kind ({kinds}), got {name[:40]!r}", "$.kind")
    return found


def report_context(
    reader: EventReader, project: Project, group: str | None = None, now_ms: int = 0
) -> ReportContext:
    """What a report of ``project`` sees besides its rows: profiles and saved cohorts, of users
    or of the groups of ``group``, as of ``now_ms`` (0: when a cohort is first evaluated)."""
    return ReportContext(
        reader,
        project,
        group=group,
        now_ms=now_ms,
        make_profiles=ProfileTable.build,
        make_cohorts=CohortMembers,
    )


def run_report(reader: EventReader, project: Project, spec: Spec, now_ms: int = 0) -> Any:
    """The report ``spec`` asks for (its kind is its type) over ``project``'s events."""
    kind = _BY_SPEC[type(spec)]
    return kind.run(report_context(reader, project, spec.group, now_ms), spec)


@cache
def _decoder(spec: type[Any]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(spec)


def decode_spec(kind: ReportKind[S, Any], body: bytes) -> S:
    """A spec from JSON; a message naming the field when it does not decode."""
    try:
        spec: S = _decoder(kind.spec).decode(body)
    except msgspec.ValidationError as exc:
        raise SpecError(f"Invalid {kind.title} spec: {exc}") from None
    except msgspec.DecodeError as exc:
        raise SpecError(f"Expected a JSON {kind.title} spec: {exc}") from None
    return spec


def check_definition(kind: ReportKind[S, Any], definition: dict[str, Any], path: str) -> S:
    """A saved definition (a spec without its dates, at ``path`` in a request) as a spec, or
    the error the engine would give when it runs, with the paths of the request."""
    dated = [name for name in _DATES if name in definition]
    if dated:
        raise SpecError(
            f"Expected a {kind.title} definition without dates, got `{dated[0]}`: "
            f"the dates are given when the {kind.title} runs",
            path,
        )
    try:
        spec: S = msgspec.convert(
            {**definition, "from_date": _ANY_DAY, "to_date": _ANY_DAY}, kind.spec
        )
        kind.plan(spec)
        if spec.timezone is not None:
            zone(spec.timezone)
    except msgspec.ValidationError as exc:
        raise SpecError(f"Invalid {kind.title} definition: {_under(str(exc), path)}") from None
    except (SpecError, ExpressionError) as exc:
        raise SpecError(f"Invalid {kind.title} definition: {_under(exc.message, path)}") from None
    return spec


def _under(message: str, path: str) -> str:
    """``message`` with the JSON paths it names moved under ``path``."""
    return message.replace("`$.", f"`{path}.").replace("`$`", f"`{path}`")
