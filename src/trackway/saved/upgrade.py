"""From the files earlier versions kept (``cohorts.json``, ``reports.json`` and
``saved_funnels.json`` in the project's directory) to the one saved document.

Cohorts, reports and dashboards keep their ids. A saved funnel becomes a report of kind
``funnels`` whose definition is the funnel; it keeps its id unless a report has it already,
and then takes the next free one. The old files are renamed ``*.upgraded`` once the document
is written, never deleted; merging is idempotent, so a crash in between, or two processes
upgrading at once, merge nothing twice.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import msgspec

from trackway.files import JsonFile
from trackway.saved.document import Saved
from trackway.saved.objects import Dashboard, SavedCohort, SavedReport

logger = logging.getLogger(__name__)


class _Cohorts(msgspec.Struct):
    next_id: int = 1
    cohorts: list[SavedCohort] = []


class _Reports(msgspec.Struct):
    next_report_id: int = 1
    next_dashboard_id: int = 1
    reports: list[SavedReport] = []
    dashboards: list[Dashboard] = []


class _Funnel(msgspec.Struct):
    funnel_id: int
    name: str
    funnel: dict[str, Any]
    created_ms: int


class _Funnels(msgspec.Struct):
    next_id: int = 1
    funnels: list[_Funnel] = []


OLD_FILES = ("cohorts.json", "reports.json", "saved_funnels.json")


def upgrade(root: Path, path: Path) -> None:
    """Merge any old file in ``root`` into the document at ``path``; nothing when none."""
    if not any((root / name).exists() for name in OLD_FILES):
        return
    JsonFile(path, Saved).update(lambda saved: _merge(root, saved))
    for name in OLD_FILES:
        if (root / name).exists():
            (root / name).rename(root / f"{name}.upgraded")


def _merge(root: Path, saved: Saved) -> None:
    cohorts = _old(root / "cohorts.json", _Cohorts)
    if cohorts is not None:
        _add_new(saved.cohorts.items, cohorts.cohorts)
        saved.cohorts.next_id = max(saved.cohorts.next_id, cohorts.next_id)
    reports = _old(root / "reports.json", _Reports)
    if reports is not None:
        _add_new(saved.reports.items, reports.reports)
        saved.reports.next_id = max(saved.reports.next_id, reports.next_report_id)
        _add_new(saved.dashboards.items, reports.dashboards)
        saved.dashboards.next_id = max(saved.dashboards.next_id, reports.next_dashboard_id)
    funnels = _old(root / "saved_funnels.json", _Funnels)
    if funnels is not None:
        saved.reports.next_id = max(saved.reports.next_id, funnels.next_id)
        for funnel in funnels.funnels:
            _add_funnel(root, saved, funnel)


def _add_new(items: list[Any], old: list[Any]) -> None:
    """The old items whose id is not taken yet (by an earlier merge of the same file)."""
    taken = {item.id for item in items}
    items += [item for item in old if item.id not in taken]


def _add_funnel(root: Path, saved: Saved, funnel: _Funnel) -> None:
    if any(_same(report, funnel) for report in saved.reports.items):
        return  # merged before
    report_id = funnel.funnel_id
    if any(report.id == report_id for report in saved.reports.items):
        report_id = saved.reports.next_id
        logger.warning("saved funnel %d of %s is now report %d", funnel.funnel_id, root, report_id)
    saved.reports.next_id = max(saved.reports.next_id, report_id + 1)
    saved.reports.items.append(
        SavedReport(
            report_id,
            funnel.name,
            "funnels",
            {},
            funnel.created_ms,
            funnel.created_ms,
            definition=funnel.funnel,
        )
    )


def _same(report: SavedReport, funnel: _Funnel) -> bool:
    return (report.kind, report.name, report.created_ms, report.definition) == (
        "funnels",
        funnel.name,
        funnel.created_ms,
        funnel.funnel,
    )


def _old(path: Path, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(path.read_bytes(), type=kind)
    except FileNotFoundError:
        return None
