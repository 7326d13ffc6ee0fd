"""The report registry: every kind decodes, checks and runs through it the same way; its
errors name the field; a saved definition is checked as a run would be."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.query.store import event, new_project, reader, store
from trackway.query.errors import SpecError
from trackway.query.expr import ExpressionError
from trackway.query.reports import (
    REPORTS,
    ReportKind,
    check_definition,
    decode_spec,
    report_kind,
    run_report,
)

DATES = {"from_date": "2026-11-02", "to_date": "2026-11-29"}
KINDS = [pytest.param(kind, id=name) for name, kind in REPORTS.items()]


def _spec(kind: ReportKind[Any, Any], **fields: Any) -> Any:
    return decode_spec(kind, json.dumps({**DATES, **kind.example, **fields}).encode())


@pytest.mark.parametrize("kind", KINDS)
def test_every_spec_has_days_a_time_zone_and_a_unit_to_count(kind: ReportKind[Any, Any]) -> None:
    names = {field.name for field in msgspec.structs.fields(kind.spec)}
    assert {"from_date", "to_date", "timezone", "group"} <= names


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_runs_its_example_and_answers_its_result(
    kind: ReportKind[Any, Any], tmp_path: Path
) -> None:
    project = new_project(tmp_path)
    start = int(datetime(2026, 11, 3, tzinfo=UTC).timestamp() * 1000)
    events = [
        event(name, f"u{i % 5}", start + i * 3_600_000, f"e{i}")
        for i, name in enumerate(["Signed up", "Purchase"] * 20)
    ]
    store(tmp_path, project, [events[:20]], events[20:])
    result = run_report(reader(tmp_path), project, _spec(kind))
    assert type(result) is kind.result
    # What the API sends: a JSON object of plain values (no numpy scalar slipped through).
    assert isinstance(json.loads(msgspec.json.encode(result)), dict)
    kind.plan(_spec(kind))


@pytest.mark.parametrize("kind", KINDS)
def test_a_spec_that_does_not_decode_names_the_field(kind: ReportKind[Any, Any]) -> None:
    with pytest.raises(SpecError) as caught:
        _spec(kind, colour=1)
    assert caught.value.code == "invalid_spec"
    assert "`colour`" in caught.value.message
    with pytest.raises(SpecError, match=r"- at `\$.from_date`"):
        decode_spec(kind, json.dumps({**kind.example, **DATES, "from_date": 3}).encode())
    with pytest.raises(SpecError, match="Expected a JSON"):
        decode_spec(kind, b"{not json")


@pytest.mark.parametrize("kind", KINDS)
def test_a_spec_the_engine_refuses_says_where(kind: ReportKind[Any, Any]) -> None:
    with pytest.raises(SpecError) as caught:
        kind.plan(_spec(kind, from_date="2026-12-01"))  # after to_date
    assert caught.value.path in ("$.to_date", "$.from_date")
    assert caught.value.message.endswith(f"- at `{caught.value.path}`")
    with pytest.raises(ExpressionError, match=r"Invalid expression at `\$.where`"):
        kind.plan(_spec(kind, where='properties["a"] =='))


def test_an_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(SpecError, match="insights, funnels") as caught:
        report_kind("pathz")
    assert caught.value.path == "$.kind"


def test_a_definition_is_a_spec_without_dates_checked_under_its_path() -> None:
    funnels = REPORTS["funnels"]
    steps = [{"event": "A"}, {"event": "B", "where": "properties['x'] > 1"}]
    spec = check_definition(funnels, {"steps": steps}, "$.funnel")
    assert [s.event for s in spec.steps] == ["A", "B"]
    with pytest.raises(SpecError, match="without dates, got `from_date`"):
        check_definition(funnels, {"steps": steps, "from_date": "2026-01-01"}, "$.funnel")
    with pytest.raises(SpecError, match=r"`\$.funnel.steps\[0\].event`"):
        check_definition(funnels, {"steps": [{"event": 1}, {}]}, "$.funnel")
    with pytest.raises(SpecError, match=r"2 to 64 steps, got 1 - at `\$.funnel.steps`"):
        check_definition(funnels, {"steps": steps[:1]}, "$.funnel")
    with pytest.raises(SpecError, match=r"at `\$.definition.steps\[1\].where`: Expected"):
        check_definition(funnels, {"steps": [{}, {"where": "1 =="}]}, "$.definition")
    with pytest.raises(SpecError, match="time zone"):
        check_definition(funnels, {"steps": steps, "timezone": "Mars/Base"}, "$.funnel")
