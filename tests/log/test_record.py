from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from trackway.log.record import RECORD_KINDS, LogRecord, decode_record, encode_record

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
items = st.lists(st.dictionaries(st.text(max_size=10), json_values, max_size=5), max_size=5)


def test_round_trip() -> None:
    record = LogRecord(
        project_id=7,
        kind="track",
        received_ms=1_700_000_000_123,
        items=[{"event": "Signed up", "properties": {"plan": ["pro", 3, 2.5, None, True]}}],
    )
    assert decode_record(encode_record(record)) == record


@given(
    project_id=st.integers(0, 2**63 - 1),
    kind=st.sampled_from(RECORD_KINDS),
    received_ms=st.integers(0, 2**62),
    items=items,
)
def test_any_json_items_round_trip(
    project_id: int, kind: str, received_ms: int, items: list[dict[str, Any]]
) -> None:
    record = LogRecord(project_id, kind, received_ms, items)
    assert decode_record(memoryview(encode_record(record))) == record
