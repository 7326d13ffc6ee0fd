"""`trackway identity` and `trackway delete-users` over identity clusters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.query.store import event, new_project, reader, store
from trackway.cli import main
from trackway.projects import Project
from trackway.storage.export import export_events

DEVICE = {"$device_id": "d1"}


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, Project]:
    """A device's event committed, the event tying it to alice in the log tail."""
    project = new_project(tmp_path)
    merge = event("Sign in", "alice", 2_000, "s1", **DEVICE, **{"$user_id": "alice"})
    store(tmp_path, project, [[event("View", "$device:d1", 1_000, "v1", **DEVICE)]], [merge])
    return tmp_path, project


def run(stored: tuple[Path, Project], capsys: pytest.CaptureFixture[str], *args: str) -> str:
    data_dir, project = stored
    code = main([*args, "--project", str(project.id), "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_identity_prints_the_cluster(
    stored: tuple[Path, Project], capsys: pytest.CaptureFixture[str]
) -> None:
    assert json.loads(run(stored, capsys, "identity", "$device:d1", "--json")) == {
        "distinct_id": "$device:d1",
        "canonical_id": "alice",
        "cluster": ["alice", "$device:d1"],
        "id_merge": "simplified",
    }
    assert run(stored, capsys, "identity", "alice").splitlines() == [
        "distinct_id\talice",
        "canonical_id\talice",
        "id_merge\tsimplified",
        "cluster\talice",
        "cluster\t$device:d1",
    ]


def test_delete_users_deletes_the_cluster(
    stored: tuple[Path, Project], capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(stored, capsys, "delete-users", "alice")
    data_dir, project = stored
    assert out == f"deleted 2 distinct_ids from project {project.id}: alice, $device:d1\n"
    assert list(export_events(reader(data_dir), project, (0, 10_000))) == []
