"""`trackway cohort create|list|show|update|delete|users`: the saved definitions and counts
the API gives, printed as text or JSON, and errors as the API words them."""

from __future__ import annotations

import csv
import io
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.query.store import event, new_project, store, write_profiles
from tests.reference.cohorts import Reference
from trackway.cli import main
from trackway.projects import Project

NOW = int(time.time() * 1000)
BUYERS = {"did": {"event": "Buy", "at_least": 2}}


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, Project, Reference]:
    project = new_project(tmp_path)
    rng = random.Random(8)
    events = [
        event(rng.choice(["View", "Buy"]), f"u{rng.randrange(12):02d}", NOW - i * 60_000, f"e{i}")
        for i in range(1, 80)
    ]
    store(tmp_path, project, [events], [])
    profiles = {"u00": {"plan": "pro"}, "u01": {"plan": "free"}, "solo": {"plan": "pro"}}
    updates = [{"$distinct_id": u, "$time": 1000, "$set": p} for u, p in profiles.items()]
    write_profiles(tmp_path, project, "engage", updates)
    return tmp_path, project, Reference(events, profiles, {}, NOW + 60_000, "UTC")


def run(
    stored: tuple[Path, Project, Reference], capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    data_dir, project, _ = stored
    code = main([*args, "--project", str(project.id), "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    return code, out, err


def json_run(
    stored: tuple[Path, Project, Reference], capsys: pytest.CaptureFixture[str], *args: str
) -> Any:
    code, out, err = run(stored, capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_create_show_update_list_delete(
    stored: tuple[Path, Project, Reference], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, reference = stored
    reference.definitions[1] = BUYERS
    buyers = reference.members(1)
    code, out, _ = run(
        stored, capsys, "cohort", "create", "--name", "Buyers", "--condition", json.dumps(BUYERS)
    )
    assert (code, out) == (0, "1\tBuyers\n")
    shown = json_run(stored, capsys, "cohort", "show", "1")
    assert (shown["name"], shown["condition"], shown["count"]) == ("Buyers", BUYERS, len(buyers))
    code, out, _ = run(stored, capsys, "cohort", "show", "1")
    assert f"count: {len(buyers)}\n" in out and "group: users\n" in out
    updated = json_run(stored, capsys, "cohort", "update", "1", "--description", "two buys")
    assert (updated["description"], updated["condition"]) == ("two buys", BUYERS)
    code, out, _ = run(stored, capsys, "cohort", "list")
    assert out == f"1\tBuyers\t{len(buyers)}\n"
    lines = run(stored, capsys, "cohort", "list", "--json")[1].splitlines()
    (listed,) = [json.loads(line) for line in lines]
    assert (listed["cohort_id"], listed["count"], listed["description"]) == (
        1,
        len(buyers),
        "two buys",
    )
    assert json_run(stored, capsys, "cohort", "delete", "1") == {"cohort_id": 1, "deleted": True}
    code, _, err = run(stored, capsys, "cohort", "show", "1")
    assert code == 2 and "saved cohort of this project, got 1" in err


def test_definition_file_and_users(
    stored: tuple[Path, Project, Reference], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, _, reference = stored
    condition = {"any": [BUYERS, {"profile": 'user["plan"] == "pro"'}]}
    reference.definitions[1] = condition
    expected = sorted(reference.members(1))
    assert "solo" in expected
    path = tmp_path / "definition.json"
    path.write_text(json.dumps({"name": "Either", "condition": condition}))
    assert run(stored, capsys, "cohort", "create", "--definition", str(path))[0] == 0
    code, out, _ = run(stored, capsys, "cohort", "users", "1")
    assert (code, out.split()) == (0, expected)
    lines = run(stored, capsys, "cohort", "users", "1", "--json", "--limit", "2")[1].splitlines()
    assert [json.loads(line)["distinct_id"] for line in lines] == expected[:2]
    exported = run(stored, capsys, "cohort", "users", "1", "--csv")[1]
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["distinct_id"] for r in rows] == expected
    assert next(r for r in rows if r["distinct_id"] == "solo")["plan"] == "pro"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(["create", "--name", "x"], "Expected --condition", id="no condition"),
        pytest.param(["create", "--name", "x", "--condition", "{"], "--condition to hold a JSON object", id="bad json"),
        pytest.param(["create", "--name", "x", "--condition", '{"did": {"at_least": -2}}'], "at `$.condition.did.at_least`", id="bad field"),
        pytest.param(["create", "--definition", "/nonexistent/x.json"], "readable file", id="no file"),
        pytest.param(["update", "7", "--name", "x"], "got 7", id="unknown id"),
        pytest.param(["users", "7"], "got 7", id="users of unknown id"),
    ],
)  # fmt: skip
def test_errors(
    stored: tuple[Path, Project, Reference],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    fragment: str,
) -> None:
    code, _, err = run(stored, capsys, "cohort", *args)
    assert code == 2
    assert fragment in err, err
