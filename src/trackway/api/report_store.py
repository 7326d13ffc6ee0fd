"""Saved reports and dashboards: one project's, kept in its directory as ``reports.json``.

A saved report is a name, a kind (the native report it runs: ``insights``, ``funnels``, ...)
and a state: the client's JSON object describing the report (the web app keeps there exactly
what its URL holds). A dashboard is a name and a list of saved report ids. Both live in one
file so a dashboard never names a report that is gone: deleting a report takes it off every
dashboard in the same atomic replacement. Ids count up per project and are never reused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

from trackway.errors import NotFoundError, PayloadError
from trackway.files import atomic_write, exclusive_lock
from trackway.storage.layout import ProjectPaths

FILE_NAME = "reports.json"
ReportKind = Literal["insights", "funnels", "retention", "flows", "frequency", "lifecycle"]
MAX_NAME = 200
MAX_STATE_BYTES = 64 * 1024
MAX_DASHBOARD_REPORTS = 50


class SavedReport(msgspec.Struct, frozen=True):
    report_id: int
    name: str
    kind: ReportKind
    state: dict[str, Any]
    created_ms: int
    updated_ms: int


class Dashboard(msgspec.Struct, frozen=True):
    dashboard_id: int
    name: str
    report_ids: list[int]
    created_ms: int
    updated_ms: int


class ReportRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    kind: ReportKind
    state: dict[str, Any]


class DashboardRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    report_ids: list[int] = []


class _File(msgspec.Struct):
    next_report_id: int = 1
    next_dashboard_id: int = 1
    reports: list[SavedReport] = []
    dashboards: list[Dashboard] = []


_file_decoder = msgspec.json.Decoder(_File)
_T = TypeVar("_T")


class ReportStore:
    """Several server processes share the file: writers take an exclusive lock and replace
    it atomically; readers read it whole (it is small)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @classmethod
    def of(cls, data_dir: Path, project_id: int) -> ReportStore:
        return cls(ProjectPaths(data_dir, project_id).root / FILE_NAME)

    # --- reports ---

    def reports(self) -> list[SavedReport]:
        return self._read().reports

    def report(self, report_id: int) -> SavedReport:
        return _find(self._read().reports, lambda r: r.report_id == report_id, "report", report_id)

    def add_report(self, request: ReportRequest, now_ms: int) -> SavedReport:
        _check_report(request)

        def change(current: _File) -> SavedReport:
            saved = SavedReport(
                current.next_report_id, request.name, request.kind, request.state, now_ms, now_ms
            )
            current.reports.append(saved)
            current.next_report_id += 1
            return saved

        return self._write(change)

    def replace_report(self, report_id: int, request: ReportRequest, now_ms: int) -> SavedReport:
        _check_report(request)

        def change(current: _File) -> SavedReport:
            old = _find(current.reports, lambda r: r.report_id == report_id, "report", report_id)
            new = SavedReport(
                report_id, request.name, request.kind, request.state, old.created_ms, now_ms
            )
            current.reports = [new if r is old else r for r in current.reports]
            return new

        return self._write(change)

    def remove_report(self, report_id: int, now_ms: int) -> None:
        def change(current: _File) -> None:
            _find(current.reports, lambda r: r.report_id == report_id, "report", report_id)
            current.reports = [r for r in current.reports if r.report_id != report_id]
            current.dashboards = [
                msgspec.structs.replace(
                    d, report_ids=[i for i in d.report_ids if i != report_id], updated_ms=now_ms
                )
                if report_id in d.report_ids
                else d
                for d in current.dashboards
            ]

        self._write(change)

    # --- dashboards ---

    def dashboards(self) -> list[Dashboard]:
        return self._read().dashboards

    def dashboard(self, dashboard_id: int) -> Dashboard:
        return _find(
            self._read().dashboards,
            lambda d: d.dashboard_id == dashboard_id,
            "dashboard",
            dashboard_id,
        )

    def add_dashboard(self, request: DashboardRequest, now_ms: int) -> Dashboard:
        def change(current: _File) -> Dashboard:
            _check_dashboard(request, current)
            saved = Dashboard(
                current.next_dashboard_id, request.name, request.report_ids, now_ms, now_ms
            )
            current.dashboards.append(saved)
            current.next_dashboard_id += 1
            return saved

        return self._write(change)

    def replace_dashboard(
        self, dashboard_id: int, request: DashboardRequest, now_ms: int
    ) -> Dashboard:
        def change(current: _File) -> Dashboard:
            old = _find(
                current.dashboards,
                lambda d: d.dashboard_id == dashboard_id,
                "dashboard",
                dashboard_id,
            )
            _check_dashboard(request, current)
            new = Dashboard(dashboard_id, request.name, request.report_ids, old.created_ms, now_ms)
            current.dashboards = [new if d is old else d for d in current.dashboards]
            return new

        return self._write(change)

    def remove_dashboard(self, dashboard_id: int) -> None:
        def change(current: _File) -> None:
            _find(
                current.dashboards,
                lambda d: d.dashboard_id == dashboard_id,
                "dashboard",
                dashboard_id,
            )
            current.dashboards = [d for d in current.dashboards if d.dashboard_id != dashboard_id]

        self._write(change)

    # --- the file ---

    def _write(self, change: Callable[[_File], _T]) -> _T:
        with exclusive_lock(self._path.with_suffix(".lock")):
            current = self._read()
            result = change(current)
            atomic_write(self._path, msgspec.json.encode(current))
        return result

    def _read(self) -> _File:
        try:
            return _file_decoder.decode(self._path.read_bytes())
        except FileNotFoundError:
            return _File()


def _find(items: list[_T], match: Callable[[_T], bool], what: str, wanted: int) -> _T:
    for item in items:
        if match(item):
            return item
    raise NotFoundError(f"Expected the id of a saved {what} of this project, got {wanted}")


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > MAX_NAME:
        raise PayloadError(
            f"Expected a non-empty `name` of at most {MAX_NAME} characters, "
            f"got {len(name)} characters - at `$.name`"
        )


def _check_report(request: ReportRequest) -> None:
    _check_name(request.name)
    size = len(msgspec.json.encode(request.state))
    if size > MAX_STATE_BYTES:
        raise PayloadError(
            f"Expected a `state` of at most {MAX_STATE_BYTES} bytes as JSON, got {size}"
            " - at `$.state`"
        )


def _check_dashboard(request: DashboardRequest, current: _File) -> None:
    _check_name(request.name)
    if len(request.report_ids) > MAX_DASHBOARD_REPORTS:
        raise PayloadError(
            f"Expected at most {MAX_DASHBOARD_REPORTS} reports, got {len(request.report_ids)}"
            " - at `$.report_ids`"
        )
    known = {r.report_id for r in current.reports}
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
