"""Seeding a project's property names from what its tables hold (an upgraded data directory)."""

from __future__ import annotations

from pathlib import Path

from tests.storage.pipeline import LogFeed, event, profile_update
from trackway.log import LogRecord
from trackway.projects import ProjectCatalog
from trackway.property_names import FIXED_EVENT_PROPERTIES, PropertyNames
from trackway.settings import Settings
from trackway.storage.columns import PROMOTED
from trackway.storage.stored_names import seed_property_names, stored_names
from trackway.storage.worker import StorageWorker


def test_the_fixed_properties_are_the_promoted_ones() -> None:
    assert frozenset(PROMOTED) == FIXED_EVENT_PROPERTIES


def test_seeding_takes_every_table_once(tmp_path: Path) -> None:
    catalog = ProjectCatalog(tmp_path)
    project = catalog.create("old")
    other = catalog.create("empty")
    events = [
        event("E", "u1", 1_000, "i1", 1_000, plan="pro", Plan=1, price=2.5),
        event("E", "u2", 1_001, "i2", 1_000, **{"wéird name": [1, 2]}),
    ]
    users = [profile_update("u1", set={"email": "a@b"}, add={"logins": 1})]
    groups = [{"$group_key": "company", "$group_id": "acme", "$time": 1, "$set": {"size": 5}}]
    with LogFeed(tmp_path) as feed:
        feed.append(
            [
                LogRecord(project.id, "track", 1_000, events),
                LogRecord(project.id, "engage", 1_000, users),
                LogRecord(project.id, "groups", 1_000, groups),
            ]
        )
        StorageWorker(tmp_path, Settings()).run_once()
    assert stored_names(tmp_path, project.id) == {
        "events": {"plan", "Plan", "price", "wéird name"},
        "users": {"email", "logins"},
        "groups": {"size"},
    }
    assert seed_property_names(tmp_path, catalog.all()) == [project.id, other.id]
    names = PropertyNames(tmp_path)
    assert sorted(names.names(project.id, "events")) == ["Plan", "plan", "price", "wéird name"]
    assert names.names(project.id, "groups") == ["size"]
    assert names.names(other.id, "events") == []
    # Once seeded, never again: names admitted since are kept, nothing is added twice.
    names.admit(project.id, "events", [{"later"}], 10)
    assert seed_property_names(tmp_path, catalog.all()) == []
    assert names.names(project.id, "events")[-1] == "later"
