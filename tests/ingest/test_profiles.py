from __future__ import annotations

from typing import Any

import pytest

from trackway.ingest.failures import RecordRejectedError
from trackway.ingest.profiles import ProfileContext, normalise_update
from trackway.settings import Settings

NOW_MS = 1_780_000_000_000
USERS = ProfileContext(False, NOW_MS, Settings())
GROUPS = ProfileContext(True, NOW_MS, Settings())


def test_operations_keep_their_order_and_modifiers_are_normalised() -> None:
    update = {
        "$token": "t",
        "$distinct_id": "u1",
        "$time": 1_700_000_000.5,
        "$unset": ["old"],
        "$set": {"plan": "pro"},
        "$add": {"logins": 1},
        "$ip": "0",
    }
    out = normalise_update(update, 0, USERS)
    assert out == {
        "$distinct_id": "u1",
        "$time": 1_700_000_000_500,
        "$ignore_time": False,
        "$unset": ["old"],
        "$set": {"plan": "pro"},
        "$add": {"logins": 1},
    }
    assert [k for k in out if k in ("$unset", "$set", "$add")] == ["$unset", "$set", "$add"]


def test_union_of_a_scalar_becomes_a_list_and_delete_ignores_its_value() -> None:
    out = normalise_update(
        {"$distinct_id": "u", "$union": {"tags": "a"}, "$delete": None}, 0, USERS
    )
    assert out["$union"] == {"tags": ["a"]}
    assert out["$delete"] == ""
    assert out["$time"] == NOW_MS


def test_group_updates_name_the_group() -> None:
    out = normalise_update(
        {"$group_key": "company", "$group_id": "acme", "$set": {"size": 5}}, 0, GROUPS
    )
    assert (out["$group_key"], out["$group_id"]) == ("company", "acme")


@pytest.mark.parametrize(
    ("update", "ctx", "message"),
    [
        pytest.param({"$set": {"a": 1}}, USERS, "`$distinct_id`", id="no distinct id"),
        pytest.param({"$distinct_id": "u"}, USERS, "at least one operation", id="no operation"),
        pytest.param(
            {"$distinct_id": "u", "$sett": {}}, USERS, "got '$sett'", id="unknown operation"
        ),
        pytest.param(
            {"$distinct_id": "u", "$add": {"n": "1"}}, USERS, "`number`", id="add a string"
        ),
        pytest.param({"$distinct_id": "u", "$set": [1]}, USERS, "object", id="set a list"),
        pytest.param(
            {"$distinct_id": "u", "$unset": "a"},
            USERS,
            "array of property names",
            id="unset a string",
        ),
        pytest.param(
            {"$group_key": "c", "$group_id": "g", "$add": {"n": 1}},
            GROUPS,
            "/groups",
            id="add on a group",
        ),
        pytest.param({"$group_key": "c", "$set": {}}, GROUPS, "`$group_id`", id="no group id"),
    ],
)
def test_invalid_updates_say_what_was_expected(
    update: dict[str, Any], ctx: ProfileContext, message: str
) -> None:
    with pytest.raises(RecordRejectedError, match=message.replace("$", r"\$")):
        normalise_update(update, 0, ctx)
