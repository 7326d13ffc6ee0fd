"""Identity events under original ID merge as ingest takes them (docs/identity.md)."""

from __future__ import annotations

from typing import Any

import pytest

from trackway.ingest.events import EventContext, normalise_event
from trackway.ingest.failures import RecordRejectedError
from trackway.settings import Settings

NOW_MS = 1_780_000_000_000
TRACK = EventContext(False, NOW_MS, Settings(), strict=False, simplified_id_merge=False)
IMPORT = EventContext(True, NOW_MS, Settings(), strict=True, simplified_id_merge=False)
SIMPLIFIED = EventContext(False, NOW_MS, Settings(), strict=False, simplified_id_merge=True)
IMPORTED = {"time": NOW_MS // 1000, "$insert_id": "x1"}


def item(name: str, **props: Any) -> dict[str, Any]:
    return {"event": name, "properties": {"token": "t", **props}}


@pytest.mark.parametrize(
    ("raw", "ctx", "distinct_id"),
    [
        pytest.param(
            item("$identify", **{"$identified_id": "bob", "$anon_id": "a"}),
            TRACK,
            "bob",
            id="identify without distinct_id: the identified id",
        ),
        pytest.param(
            item("$identify", distinct_id="x", **{"$identified_id": "bob", "$anon_id": "a"}),
            TRACK,
            "x",
            id="identify keeps the distinct_id it was sent with",
        ),
        pytest.param(
            item("$merge", **IMPORTED, **{"$distinct_ids": ["a", "b"]}),
            IMPORT,
            "a",
            id="merge without distinct_id on /import: the first id",
        ),
        pytest.param(
            item("$create_alias", distinct_id="bob", alias="b@x"),
            TRACK,
            "bob",
            id="create_alias with distinct_id",
        ),
        pytest.param(
            item("$merge", distinct_id="z", **{"$distinct_ids": ["a", "b"]}),
            SIMPLIFIED,
            "z",
            id="simplified merge: $merge on /track is an ordinary event",
        ),
    ],
)
def test_identity_events_take_their_distinct_id(
    raw: dict[str, Any], ctx: EventContext, distinct_id: str
) -> None:
    assert normalise_event(raw, 0, ctx)["properties"]["distinct_id"] == distinct_id


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        pytest.param(
            item("$create_alias", alias="b@x"),
            "properties.distinct_id",
            "Expected `distinct_id` (the id `alias` joins) on `$create_alias`, it is missing "
            "- at `$[0].properties.distinct_id`",
            id="create_alias without distinct_id",
        ),
        pytest.param(
            item("$merge", distinct_id="a", **{"$distinct_ids": ["a", "b"]}),
            "event",
            "Expected `$merge` only on the authenticated /import, got it on /track - at `$[0].event`",
            id="merge on /track",
        ),
        pytest.param(
            item("$identify", **{"$identified_id": "null", "$anon_id": "a"}),
            "properties.$identified_id",
            "placeholder",
            id="identify with a placeholder id",
        ),
    ],
)
def test_identity_events_refused(raw: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(RecordRejectedError) as caught:
        normalise_event(raw, 0, TRACK)
    assert caught.value.field == field
    assert message in caught.value.message
