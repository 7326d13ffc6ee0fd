from __future__ import annotations

from typing import Any

import pytest

from trackway.ingest.events import EventContext, normalise_event, to_epoch_ms
from trackway.ingest.failures import RecordRejectedError
from trackway.settings import Settings

NOW_MS = 1_780_000_000_000
TRACK = EventContext(False, NOW_MS, Settings(), strict=False, simplified_id_merge=True)
IMPORT = EventContext(True, NOW_MS, Settings(), strict=True, simplified_id_merge=True)


def event(**props: Any) -> dict[str, Any]:
    return {"event": "Signed up", "properties": {"token": "t", **props}}


@pytest.mark.parametrize(
    ("raw", "ms"),
    [
        pytest.param(1_780_000_000, 1_780_000_000_000, id="int seconds"),
        pytest.param(1_780_000_000.1234, 1_780_000_000_123, id="float seconds"),
        pytest.param(1_780_000_000_123, 1_780_000_000_123, id="int ms"),
        pytest.param(1_780_000_000_123.0, 1_780_000_000_123, id="float ms"),
        pytest.param(99_999_999_999, 99_999_999_999_000, id="just below the threshold is seconds"),
        pytest.param(100_000_000_000, 100_000_000_000, id="the threshold is ms"),
    ],
)
def test_time_in_seconds_or_ms_becomes_ms(raw: float, ms: int) -> None:
    assert to_epoch_ms(raw) == ms


def test_track_normal_form() -> None:
    out = normalise_event(event(distinct_id="u1", time=NOW_MS / 1000 - 60, plan="pro"), 0, TRACK)
    props = out["properties"]
    assert out["event"] == "Signed up"
    assert "token" not in props
    assert props["time"] == NOW_MS - 60_000
    assert props["distinct_id"] == "u1"
    assert props["plan"] == "pro"
    assert props["mp_processing_time_ms"] == NOW_MS
    assert len(props["$insert_id"]) <= 36
    assert "$import" not in props


def test_missing_time_is_the_receive_time_and_insert_ids_are_generated_uniquely() -> None:
    a = normalise_event(event(distinct_id="u1"), 0, TRACK)["properties"]
    b = normalise_event(event(distinct_id="u1"), 1, TRACK)["properties"]
    assert a["time"] == NOW_MS
    assert a["$insert_id"] != b["$insert_id"]


def test_import_marks_events() -> None:
    props = normalise_event(
        event(distinct_id="u1", time=1_600_000_000, **{"$insert_id": "x-1"}), 0, IMPORT
    )
    assert props["properties"]["$import"] is True


@pytest.mark.parametrize(
    ("props", "distinct_id"),
    [
        pytest.param(
            {"$user_id": "alice", "$device_id": "d1", "distinct_id": "x"},
            "alice",
            id="user id wins",
        ),
        pytest.param({"$device_id": "d1"}, "$device:d1", id="device only"),
        pytest.param(
            {"$device_id": "d1", "distinct_id": "$device:d1"}, "$device:d1", id="browser SDK shape"
        ),
        pytest.param({"distinct_id": 42}, "42", id="numeric id"),
        pytest.param({}, "", id="no user"),
    ],
)
def test_simplified_id_merge_derives_distinct_id(props: dict[str, Any], distinct_id: str) -> None:
    assert normalise_event(event(**props), 0, TRACK)["properties"]["distinct_id"] == distinct_id


def test_long_strings_and_names_are_truncated() -> None:
    props = normalise_event(event(distinct_id="u", **{"k" * 300: "v" * 300}), 0, TRACK)[
        "properties"
    ]
    assert props["k" * 255] == "v" * 255


@pytest.mark.parametrize(
    ("item", "ctx", "field", "message"),
    [
        pytest.param(
            [1], TRACK, "", "Expected an event object, got array - at `$[0]`", id="not an object"
        ),
        pytest.param({"properties": {}}, TRACK, "event", "non-empty string", id="no event name"),
        pytest.param(
            {"event": "a", "properties": []}, TRACK, "properties", "object", id="list properties"
        ),
        pytest.param(
            event(time="yesterday"),
            TRACK,
            "properties.time",
            "Expected `number` (unix seconds or ms), got `string` - at `$[0].properties.time`",
            id="string time",
        ),
        pytest.param(
            event(time=NOW_MS - 6 * 86_400_000),
            TRACK,
            "properties.time",
            "/import",
            id="old on track",
        ),
        pytest.param(
            event(distinct_id="u", **{"$insert_id": "a"}),
            IMPORT,
            "properties.time",
            "missing",
            id="import needs time",
        ),
        pytest.param(
            event(distinct_id="u", time=10), IMPORT, "properties.time", "1971", id="before 1971"
        ),
        pytest.param(
            event(distinct_id="u", time=NOW_MS + 2 * 3_600_000, **{"$insert_id": "a"}),
            IMPORT,
            "properties.time",
            "future",
            id="too far in the future",
        ),
        pytest.param(
            event(time=1_700_000_000, **{"$insert_id": "a"}),
            IMPORT,
            "properties.distinct_id",
            "missing",
            id="import needs a user",
        ),
        pytest.param(
            event(distinct_id="u", time=1_700_000_000),
            IMPORT,
            "properties.$insert_id",
            "missing",
            id="strict needs insert id",
        ),
        pytest.param(
            event(distinct_id="undefined"),
            TRACK,
            "properties.distinct_id",
            "placeholder",
            id="placeholder id",
        ),
        pytest.param(
            event(distinct_id=["u"]), TRACK, "properties.distinct_id", "`array`", id="list id"
        ),
        pytest.param(
            event(**{"$insert_id": "x" * 37}),
            TRACK,
            "properties.$insert_id",
            "1 to 36",
            id="long insert id",
        ),
        pytest.param(
            event(**{"$insert_id": "a_b"}),
            TRACK,
            "properties.$insert_id",
            "A-Za-z0-9-",
            id="bad insert id",
        ),
        pytest.param(
            event(**{f"p{i}": i for i in range(255)}),
            TRACK,
            "$[0].properties",
            "at most 254 properties",
            id="too many properties",
        ),
        pytest.param(
            event(deep={"a": {"b": {"c": {"d": 1}}}}),
            TRACK,
            "$[0].properties.deep.a.b.c",
            "nesting depth",
            id="too deep",
        ),
        pytest.param(
            event(items=list(range(300))),
            TRACK,
            "$[0].properties.items",
            "at most 254 items",
            id="long list",
        ),
    ],
)
def test_invalid_events_name_the_field_and_the_problem(
    item: Any, ctx: EventContext, field: str, message: str
) -> None:
    with pytest.raises(RecordRejectedError) as info:
        normalise_event(item, 0, ctx)
    assert info.value.field == field
    assert message in info.value.message


def test_nesting_up_to_three_levels_is_kept() -> None:
    nested = {"a": {"b": [1, "x"]}}
    assert normalise_event(event(n=nested), 0, TRACK)["properties"]["n"] == nested
