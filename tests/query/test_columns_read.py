"""A report reads only the property columns it references (in `where` filters, metrics,
breakdowns, steps, cohort conditions), however many properties the project has."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.query.answers import answer_json
from tests.query.store import SavedCohorts, event, new_project, reader, store
from trackway.query.cohorts.spec import CohortDefinition
from trackway.storage.columns import FIXED, parse_property_column
from trackway.storage.events_table import Part
from trackway.storage.scan import EventReader

DATES = {"from_date": "2026-03-02", "to_date": "2026-03-05"}
START_MS = 1_772_409_600_000  # 2026-03-02T00:00:00Z
NOISE = 60  # properties no report names
# What identity resolution reads (simplified ID merge), whatever the report.
IDENTITY = {"$device_id", "$user_id"}
COHORT = {"did": {"event": "Buy", "where": 'properties["price"] > 5'}}


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, int]:
    data_dir = tmp_path_factory.mktemp("wide")
    project = new_project(data_dir)
    rng = random.Random(3)
    events = [
        event(
            rng.choice(["View", "Cart", "Buy"]),
            f"u{rng.randrange(30)}",
            START_MS + rng.randrange(3 * 86_400_000),
            f"e{i}",
            browser=rng.choice(["Chrome", "Safari"]),
            plan=rng.choice(["free", "pro"]),
            price=rng.randrange(10),
            **{f"noise{j}": rng.randrange(3) for j in range(NOISE)},
        )
        for i in range(300)
    ]
    store(data_dir, project, [events[:150], events[150:250]], events[250:])
    cohort = SavedCohorts(data_dir, project).add(CohortDefinition("buyers", COHORT), 1)
    return data_dir, project, cohort.id


REPORTS = [
    pytest.param(
        "insights",
        {
            "metrics": [
                {
                    "event": "View",
                    "measure": "unique",
                    "where": 'properties["browser"] == "Chrome"',
                },
                {"event": "Buy", "measure": "sum", "property": "price"},
            ],
            "breakdowns": [{"property": "plan"}],
        },
        {"browser", "price", "plan"},
        id="insights",
    ),
    pytest.param(
        "insights",
        {"metrics": [{"event": "View"}], "where": "@"},
        {"price"},
        id="insights in a cohort",
    ),
    pytest.param(
        "funnels",
        {
            "steps": [{"event": "View", "where": 'properties["plan"] == "pro"'}, {"event": "Buy"}],
            "breakdowns": [{"property": "browser"}],
        },
        {"plan", "browser"},
        id="funnel",
    ),
    pytest.param(
        "retention",
        {"born": {"event": "View"}, "returning": {"event": "Buy"}, "periods": 2, "where": "@"},
        {"price"},
        id="retention in a cohort",
    ),
    pytest.param("flows", {"anchor": {"event": "Cart"}, "steps": 2}, set(), id="flows"),
]


@pytest.mark.parametrize(("kind", "spec", "referenced"), REPORTS)
def test_reports_read_only_the_columns_they_reference(
    wide: tuple[Path, Any, int],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    spec: dict[str, Any],
    referenced: set[str],
) -> None:
    data_dir, project, cohort_id = wide
    asked: set[str] = set()
    original = EventReader.part_columns

    def recorded(
        self: EventReader, root: Path, part: Part, columns: Sequence[str]
    ) -> dict[str, pa.Array]:
        asked.update(columns)
        return original(self, root, part, columns)

    monkeypatch.setattr(EventReader, "part_columns", recorded)
    fields = {**DATES, **spec}
    if fields.get("where") == "@":
        fields["where"] = f"cohort({cohort_id})"
    answer_json(reader(data_dir), project, kind, fields)
    properties = set()
    for column in asked - set(FIXED):
        parsed = parse_property_column(column)
        assert parsed is not None, column
        properties.add(parsed[0])
    assert properties - IDENTITY == referenced
