"""`trackway funnel`, `retention`, `flows`, `frequency` and `lifecycle`: the flags and
`--spec` build the spec the engine gets, `--json` prints the engine's result, and the tables
show its numbers."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.query.answers import answer_json
from tests.query.store import event, new_project, reader, store
from trackway.cli import main
from trackway.cli.reports import length
from trackway.errors import PayloadError
from trackway.projects import Project

START_MS = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)
DATES = {"from_date": "2026-03-02", "to_date": "2026-03-15"}
DATE_FLAGS = ["--from-date", DATES["from_date"], "--to-date", DATES["to_date"]]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Project]:
    data_dir = tmp_path_factory.mktemp("cli-behaviour")
    project = new_project(data_dir)
    rng = random.Random(5)
    events = [
        event(
            rng.choice(["View", "View", "Cart", "Buy"]),
            f"u{rng.randrange(30)}",
            START_MS + rng.randrange(14 * 86_400_000),
            f"e{i}",
            browser=rng.choice(["Chrome", "Safari"]),
        )
        for i in range(500)
    ]
    store(data_dir, project, [events[:250]], events[250:])
    return data_dir, project


def run(
    stored: tuple[Path, Project], capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    data_dir, project = stored
    code = main([*args, "--project", str(project.id), "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    return code, out, err


def engine(stored: tuple[Path, Project], kind: str, spec: dict[str, Any]) -> Any:
    data_dir, project = stored
    return answer_json(reader(data_dir), project, kind, spec)


CASES = [
    pytest.param(
        ["funnel", "--step", "View", "--step", "Cart", "--step", "Buy", "--window", "2d"],
        "funnels",
        {
            "steps": [{"event": "View"}, {"event": "Cart"}, {"event": "Buy"}],
            "window": {"length": 2, "unit": "day"},
        },
        id="funnel",
    ),
    pytest.param(
        [
            *("funnel", "--step", "View", "--step", "Buy", "--order", "strict"),
            *("--counting", "totals", "--breakdown", "browser", "--unit", "week"),
            *("--where", 'properties["browser"] != "x"'),
        ],
        "funnels",
        {
            "steps": [{"event": "View"}, {"event": "Buy"}],
            "order": "strict",
            "counting": "totals",
            "breakdowns": [{"property": "browser"}],
            "unit": "week",
            "where": 'properties["browser"] != "x"',
        },
        id="funnel with options",
    ),
    pytest.param(
        ["retention", "--born", "View", "--returning", "Buy", "--unit", "week", "--periods", "2"],
        "retention",
        {"born": {"event": "View"}, "returning": {"event": "Buy"}, "unit": "week", "periods": 2},
        id="retention",
    ),
    pytest.param(
        ["flows", "--anchor", "Cart", "--steps", "3", "--hide", "View", "--collapse-repeats"],
        "flows",
        {"anchor": {"event": "Cart"}, "steps": 3, "hide": ["View"], "collapse_repeats": True},
        id="flows",
    ),
    pytest.param(
        ["frequency", "--event", "View", "--event", "Buy", "--addiction-unit", "hour"],
        "frequency",
        {"event": ["View", "Buy"], "addiction_unit": "hour"},
        id="frequency",
    ),
    pytest.param(
        ["lifecycle", "--event", "Buy", "--unit", "day"],
        "lifecycle",
        {"event": "Buy", "unit": "day"},
        id="lifecycle",
    ),
]


@pytest.mark.parametrize(("args", "kind", "spec"), CASES)
def test_json_is_the_engine_result(
    stored: tuple[Path, Project],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    kind: str,
    spec: dict[str, Any],
) -> None:
    code, out, err = run(stored, capsys, *args, *DATE_FLAGS, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == engine(stored, kind, {**DATES, **spec})


@pytest.mark.parametrize(("args", "kind", "spec"), CASES)
def test_tables_show_the_numbers(
    stored: tuple[Path, Project],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    kind: str,
    spec: dict[str, Any],
) -> None:
    code, out, _ = run(stored, capsys, *args, *DATE_FLAGS)
    assert code == 0
    result = engine(stored, kind, {**DATES, **spec})
    rows = [line.split() for line in out.splitlines() if line.strip()]
    if kind == "funnels":
        for step in result["steps"]:
            row = next(r for r in rows if r[:2] == [str(step["step"]), step["label"]])
            assert int(row[2]) == step["count"]
    elif kind == "retention":
        for cohort in [*result["cohorts"], {"cohort": "total", **result["total"]}]:
            row = next(r for r in rows if r[0] == cohort["cohort"])
            assert [int(v) for v in row[1:]] == [cohort["size"], *cohort["counts"]]
    elif kind == "flows":
        assert rows[0][0] == str(result["total"])
        for node in result["nodes"]:
            assert [str(node["step"]), node["event"], str(node["count"])] in rows
    elif kind == "frequency":
        for bucket, at_least in zip(result["buckets"], result["at_least"], strict=True):
            assert [bucket, *map(str, at_least)] in rows
    else:
        for i, bucket in enumerate(result["buckets"]):
            kinds = ("new", "returning", "resurrecting", "dormant")
            assert [bucket, *(str(result[k][i]) for k in kinds)] in rows


def test_spec_file_with_flags_on_top(
    stored: tuple[Path, Project], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = {
        "from_date": "2026-03-01",
        "to_date": "2026-03-05",
        "steps": [{"event": "View"}, {"event": "Buy"}],
        "exclusions": [{"event": "Cart"}],
        "counting": "first",
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    code, out, _ = run(
        stored, capsys, "funnel", "--spec", str(path), "--to-date", "2026-03-09", "--json"
    )
    assert code == 0
    assert json.loads(out) == engine(stored, "funnels", {**spec, "to_date": "2026-03-09"})
    code, out, _ = run(stored, capsys, "funnel", "--spec", str(path), "--counting", "uniques")
    assert code == 0
    assert "View" in out


def test_funnel_per_period_table(
    stored: tuple[Path, Project], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = {
        **DATES,
        "steps": [{"event": "View"}, {"event": "Buy"}],
        "per_period": {"unit": "day", "every": 2},
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    code, out, _ = run(stored, capsys, "funnel", "--spec", str(path))
    assert code == 0
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert rows[0] == ["period", "step", "1", "step", "2"]
    periods = engine(stored, "funnels", spec)["periods"]
    assert rows[-len(periods) :] == [
        [p["period"], *(str(s["count"]) for s in p["steps"])] for p in periods
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["funnel", "--step", "View"], "--from-date", id="no dates"),
        pytest.param(["funnel", "--step", "View", *DATE_FLAGS], "2 to 64 steps", id="one step"),
        pytest.param(
            ["funnel", "--step", "A", "--step", "B", "--window", "soon", *DATE_FLAGS],
            "like 90s",
            id="bad window",
        ),
        pytest.param(["flows", *DATE_FLAGS], "`anchor`", id="flows without anchor"),
        pytest.param(
            ["retention", "--periods", "-1", *DATE_FLAGS], "periods", id="negative periods"
        ),
        pytest.param(["lifecycle", "--spec", "/nonexistent/spec.json"], "spec.json", id="no file"),
    ],
)
def test_bad_options_exit_2_with_a_message(
    stored: tuple[Path, Project], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(stored, capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("trackway: ")
    assert message in err


def test_a_spec_field_of_the_wrong_type_is_named(
    stored: tuple[Path, Project], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({**DATES, "steps": [{"event": 1}, {"event": "B"}]}))
    code, _, err = run(stored, capsys, "funnel", "--spec", str(path))
    assert code == 2
    assert "$.steps[0].event" in err
    path.write_text("[1, 2]")
    code, _, err = run(stored, capsys, "funnel", "--spec", str(path))
    assert (code, "JSON object" in err) == (2, True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", {"length": 90, "unit": "second"}),
        ("30m", {"length": 30, "unit": "minute"}),
        ("2h", {"length": 2, "unit": "hour"}),
        ("7d", {"length": 7, "unit": "day"}),
        ("1w", {"length": 1, "unit": "week"}),
    ],
)
def test_lengths(text: str, expected: dict[str, Any]) -> None:
    assert length(text) == expected


def test_unknown_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lifecycle", "--project", "9", "--data-dir", str(tmp_path), *DATE_FLAGS])
    assert code == 2
    assert "project id" in capsys.readouterr().err


def test_length_refuses_other_units() -> None:
    with pytest.raises(PayloadError, match="like 90s"):
        length("3y")
