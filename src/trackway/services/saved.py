"""Saved reports and dashboards, and saved funnels, which are saved reports of kind
``funnels`` with a definition (what Mixpanel's ``/funnels/list`` and ``?funnel_id=`` name).

A report is checked as the engine would check it when it runs: its kind is a kind of the
report registry, and its definition, when it has one, is that kind's spec without dates.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from trackway.errors import NotFoundError, PayloadError
from trackway.projects import Project
from trackway.query.behaviour.spec import FunnelSpec
from trackway.query.errors import SpecError
from trackway.query.reports import check_definition, report_kind
from trackway.saved.document import Saved
from trackway.saved.objects import Dashboard, SavedReport
from trackway.saved.store import SavedStore
from trackway.services.context import Services

MAX_NAME = 200
MAX_STATE_BYTES = 64 * 1024
MAX_DASHBOARD_REPORTS = 50
FUNNELS = "funnels"


class ReportRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    kind: str  # a kind of the report registry (query/reports.py)
    state: dict[str, Any] = {}  # the client's own description of the report
    definition: dict[str, Any] | None = None  # the kind's spec without from_date and to_date


class DashboardRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    report_ids: list[int] = []


class FunnelRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    funnel: dict[str, Any]  # FunnelSpec's fields but the dates


def store(services: Services, project: Project) -> SavedStore:
    return SavedStore.of(services.data_dir, project.id)


# --- reports ---


def reports(services: Services, project: Project) -> list[SavedReport]:
    return store(services, project).read().reports.items


def report(services: Services, project: Project, report_id: int) -> SavedReport:
    return store(services, project).read().reports.get(report_id, "report")


def add_report(
    services: Services, project: Project, request: ReportRequest, now_ms: int
) -> SavedReport:
    return _add_report(services, project, request, now_ms, "$.definition")


def _add_report(
    services: Services, project: Project, request: ReportRequest, now_ms: int, path: str
) -> SavedReport:
    """``path``: where the request holds the definition, for errors."""
    _check_report(request, path)

    def add(saved: Saved) -> SavedReport:
        return saved.reports.add(lambda report_id: _report(report_id, request, now_ms, now_ms))

    return store(services, project).update(add)


def replace_report(
    services: Services, project: Project, report_id: int, request: ReportRequest, now_ms: int
) -> SavedReport:
    _check_report(request, "$.definition")

    def replace(saved: Saved) -> SavedReport:
        old = saved.reports.get(report_id, "report")
        return saved.reports.replace(_report(report_id, request, old.created_ms, now_ms), "report")

    return store(services, project).update(replace)


def remove_report(services: Services, project: Project, report_id: int, now_ms: int) -> None:
    store(services, project).update(lambda saved: saved.remove_report(report_id, now_ms))


def _report(report_id: int, request: ReportRequest, created_ms: int, now_ms: int) -> SavedReport:
    return SavedReport(
        report_id,
        request.name,
        request.kind,
        request.state,
        created_ms,
        now_ms,
        definition=request.definition,
    )


def _check_report(request: ReportRequest, definition_path: str) -> None:
    _check_name(request.name)
    kind = report_kind(request.kind)
    size = len(msgspec.json.encode(request.state))
    if size > MAX_STATE_BYTES:
        raise PayloadError(
            f"Expected a `state` of at most {MAX_STATE_BYTES} bytes as JSON, got {size}"
            " - at `$.state`"
        )
    if request.definition is not None:
        check_definition(kind, request.definition, definition_path)


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > MAX_NAME:
        raise PayloadError(
            f"Expected a non-empty `name` of at most {MAX_NAME} characters, "
            f"got {len(name)} characters - at `$.name`"
        )


# --- dashboards ---


def dashboards(services: Services, project: Project) -> list[Dashboard]:
    return store(services, project).read().dashboards.items


def dashboard(services: Services, project: Project, dashboard_id: int) -> Dashboard:
    return store(services, project).read().dashboards.get(dashboard_id, "dashboard")


def add_dashboard(
    services: Services, project: Project, request: DashboardRequest, now_ms: int
) -> Dashboard:
    def add(saved: Saved) -> Dashboard:
        _check_dashboard(request, saved)
        return saved.dashboards.add(
            lambda dashboard_id: Dashboard(
                dashboard_id, request.name, request.report_ids, now_ms, now_ms
            )
        )

    return store(services, project).update(add)


def replace_dashboard(
    services: Services, project: Project, dashboard_id: int, request: DashboardRequest, now_ms: int
) -> Dashboard:
    def replace(saved: Saved) -> Dashboard:
        old = saved.dashboards.get(dashboard_id, "dashboard")
        _check_dashboard(request, saved)
        new = Dashboard(dashboard_id, request.name, request.report_ids, old.created_ms, now_ms)
        return saved.dashboards.replace(new, "dashboard")

    return store(services, project).update(replace)


def remove_dashboard(services: Services, project: Project, dashboard_id: int) -> None:
    store(services, project).update(
        lambda saved: saved.dashboards.remove(dashboard_id, "dashboard")
    )


def _check_dashboard(request: DashboardRequest, saved: Saved) -> None:
    _check_name(request.name)
    if len(request.report_ids) > MAX_DASHBOARD_REPORTS:
        raise PayloadError(
            f"Expected at most {MAX_DASHBOARD_REPORTS} reports, got {len(request.report_ids)}"
            " - at `$.report_ids`"
        )
    known = {r.id for r in saved.reports.items}
    for i, report_id in enumerate(request.report_ids):
        if report_id in request.report_ids[:i]:
            raise PayloadError(
                f"Expected each report once, got {report_id} twice - at `$.report_ids[{i}]`"
            )
        if report_id not in known:
            raise PayloadError(
                f"Expected the id of a saved report of this project, got {report_id}"
                f" - at `$.report_ids[{i}]`"
            )


# --- saved funnels: reports of kind funnels with a definition ---


def funnels(services: Services, project: Project) -> list[SavedReport]:
    return [r for r in reports(services, project) if _is_funnel(r)]


def funnel(services: Services, project: Project, funnel_id: int) -> SavedReport:
    found = [r for r in funnels(services, project) if r.id == funnel_id]
    if not found:
        raise NotFoundError(f"Expected the id of a saved funnel of this project, got {funnel_id}")
    return found[0]


def add_funnel(
    services: Services, project: Project, request: FunnelRequest, now_ms: int
) -> SavedReport:
    as_report = ReportRequest(request.name, FUNNELS, definition=request.funnel)
    return _add_report(services, project, as_report, now_ms, "$.funnel")


def remove_funnel(services: Services, project: Project, funnel_id: int, now_ms: int) -> None:
    def remove(saved: Saved) -> None:
        if not _is_funnel(saved.reports.get(funnel_id, "funnel")):
            raise NotFoundError(
                f"Expected the id of a saved funnel of this project, got {funnel_id}"
            )
        saved.remove_report(funnel_id, now_ms)

    store(services, project).update(remove)


def funnel_spec(saved: SavedReport, from_date: date, to_date: date) -> FunnelSpec:
    """A saved funnel's definition as a spec over the given days."""
    assert saved.definition is not None  # checked when saved; the run checks it again
    body = {**saved.definition, "from_date": from_date, "to_date": to_date}
    try:
        return msgspec.convert(body, FunnelSpec)
    except msgspec.ValidationError as exc:  # saved by a version whose spec differed
        raise SpecError(f"Saved funnel {saved.id}: {exc}") from None


def _is_funnel(report: SavedReport) -> bool:
    return report.kind == FUNNELS and report.definition is not None
