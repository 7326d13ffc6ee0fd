"""The saved document: ids that count up and are never reused, references kept whole, and the
files of earlier versions merged in once, whatever happens in between."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trackway.errors import NotFoundError
from trackway.saved.objects import Dashboard, SavedCohort, SavedReport
from trackway.saved.store import SavedStore


def _report(report_id: int, kind: str = "insights") -> SavedReport:
    return SavedReport(report_id, f"r{report_id}", kind, {}, 1, 1)


def test_ids_count_up_and_are_never_reused(tmp_path: Path) -> None:
    store = SavedStore.of(tmp_path, 1)
    first = store.update(lambda saved: saved.reports.add(_report))
    second = store.update(lambda saved: saved.reports.add(_report))
    assert (first.id, second.id) == (1, 2)
    store.update(lambda saved: saved.remove_report(2, 5))
    assert store.update(lambda saved: saved.reports.add(_report)).id == 3
    assert [r.id for r in store.read().reports.items] == [1, 3]
    with pytest.raises(NotFoundError, match="saved report of this project, got 2"):
        store.read().reports.get(2, "report")


def test_deleting_a_report_takes_it_off_every_dashboard(tmp_path: Path) -> None:
    store = SavedStore.of(tmp_path, 1)
    for _ in range(2):
        store.update(lambda saved: saved.reports.add(_report))
    store.update(lambda saved: saved.dashboards.add(lambda i: Dashboard(i, "d", [2, 1], 1, 1)))
    store.update(lambda saved: saved.remove_report(2, 9))
    (dashboard,) = store.read().dashboards.items
    assert (dashboard.report_ids, dashboard.updated_ms) == ([1], 9)


def test_a_failed_change_leaves_the_document_as_it_was(tmp_path: Path) -> None:
    store = SavedStore.of(tmp_path, 1)
    store.update(lambda saved: saved.reports.add(_report))

    def half(saved: Any) -> None:
        saved.reports.add(_report)
        raise NotFoundError("stop")

    with pytest.raises(NotFoundError):
        store.update(half)
    assert [r.id for r in store.read().reports.items] == [1]


def _write(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


COHORT = {"cohort_id": 4, "name": "c", "description": "", "group": None}
COHORT |= {"condition": {"did": {}}, "created_ms": 1, "updated_ms": 2}
OLD_REPORTS = {
    "next_report_id": 3,
    "next_dashboard_id": 2,
    "reports": [
        {"report_id": 1, "name": "a", "kind": "insights", "state": {"x": 1}},
        {"report_id": 2, "name": "b", "kind": "retention", "state": {}},
    ],
    "dashboards": [{"dashboard_id": 1, "name": "d", "report_ids": [2, 1]}],
}
for _item in [*OLD_REPORTS["reports"], *OLD_REPORTS["dashboards"]]:  # type: ignore[attr-defined]
    _item |= {"created_ms": 1, "updated_ms": 1}
FUNNEL = {"steps": [{"event": "A"}, {"event": "B"}]}


def test_files_of_earlier_versions_are_merged_once(tmp_path: Path) -> None:
    root = tmp_path / "projects" / "1"
    _write(root / "cohorts.json", {"next_id": 5, "cohorts": [COHORT]})
    _write(root / "reports.json", OLD_REPORTS)
    funnels = [
        {"funnel_id": 2, "name": "taken", "funnel": FUNNEL, "created_ms": 7},
        {"funnel_id": 5, "name": "free", "funnel": FUNNEL, "created_ms": 8},
    ]
    _write(root / "saved_funnels.json", {"next_id": 6, "funnels": funnels})

    saved = SavedStore.of(tmp_path, 1).read()
    assert [(c.id, c.condition) for c in saved.cohorts.items] == [(4, {"did": {}})]
    assert saved.cohorts.next_id == 5
    assert [(d.id, d.report_ids) for d in saved.dashboards.items] == [(1, [2, 1])]
    by_id = {r.id: r for r in saved.reports.items}
    # Report 2 holds its id; the funnel that had it takes the next free one.
    assert (by_id[1].state, by_id[2].kind) == ({"x": 1}, "retention")
    assert (by_id[5].name, by_id[5].kind, by_id[5].definition) == ("free", "funnels", FUNNEL)
    assert (by_id[6].name, by_id[6].definition, by_id[6].created_ms) == ("taken", FUNNEL, 7)
    assert saved.reports.next_id == 7
    assert sorted(p.name for p in root.iterdir() if p.name.endswith(".upgraded")) == [
        "cohorts.json.upgraded",
        "reports.json.upgraded",
        "saved_funnels.json.upgraded",
    ]
    assert SavedStore.of(tmp_path, 1).read() == saved


def test_merging_again_adds_nothing(tmp_path: Path) -> None:
    """As after a crash between writing the document and renaming the old files."""
    root = tmp_path / "projects" / "1"
    _write(root / "cohorts.json", {"next_id": 5, "cohorts": [COHORT]})
    funnels = [{"funnel_id": 1, "name": "f", "funnel": FUNNEL, "created_ms": 7}]
    _write(root / "saved_funnels.json", {"next_id": 2, "funnels": funnels})
    first = SavedStore.of(tmp_path, 1).read()
    for name in ("cohorts.json", "saved_funnels.json"):
        (root / f"{name}.upgraded").rename(root / name)
    assert SavedStore.of(tmp_path, 1).read() == first
    assert [type(c) for c in first.cohorts.items] == [SavedCohort]
    assert len(first.reports.items) == 1
