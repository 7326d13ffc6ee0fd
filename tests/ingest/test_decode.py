from __future__ import annotations

import base64
import gzip
import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackway.errors import PayloadError, TooLargeError, UnsupportedEncodingError
from trackway.ingest.decode import decode_request, parse_params
from trackway.settings import Settings

SETTINGS = Settings()
EVENTS = [{"event": "a+b/c?", "properties": {"n": i, "s": "~~~>>>???"}} for i in range(40)]
TEXT = json.dumps(EVENTS, separators=(",", ":"))
B64 = base64.b64encode(TEXT.encode()).decode()
FORM = "application/x-www-form-urlencoded"


def decode(query: str = "", body: bytes = b"", content_type: str = "", encoding: str = "") -> Any:
    return decode_request(parse_params(query.encode()), content_type, encoding, body, SETTINGS)


@pytest.mark.parametrize(
    ("query", "body", "content_type"),
    [
        pytest.param("data=" + quote(TEXT), b"", "", id="GET raw JSON"),
        pytest.param("data=" + quote(B64, safe=""), b"", "", id="GET base64"),
        pytest.param("verbose=1", urlencode({"data": TEXT}).encode(), FORM, id="form raw JSON"),
        pytest.param("", urlencode({"data": B64}).encode(), FORM, id="form escaped base64"),
        pytest.param("", b"data=" + B64.encode(), FORM, id="form unescaped base64 (node)"),
        pytest.param("", TEXT.encode(), "application/json", id="JSON body"),
        pytest.param("", TEXT.encode(), "", id="JSON body, no content type"),
        pytest.param(
            "",
            "\n".join(json.dumps(e) for e in EVENTS).encode(),
            "application/x-ndjson",
            id="NDJSON body",
        ),
    ],
)
def test_every_encoding_decodes_to_the_same_events(
    query: str, body: bytes, content_type: str
) -> None:
    assert "+" in B64, "the payload must contain '+' to test unescaped base64"
    assert decode(query, body, content_type).items == EVENTS


def test_a_single_object_is_a_batch_of_one() -> None:
    assert decode("data=" + quote(json.dumps(EVENTS[0]))).items == [EVENTS[0]]


def test_form_fields_join_the_query_parameters() -> None:
    decoded = decode("ip=1", urlencode({"data": TEXT, "verbose": "1"}).encode(), FORM)
    assert decoded.params["verbose"] == "1"
    assert decoded.params["ip"] == "1"


def test_gzip_body() -> None:
    assert decode("", gzip.compress(TEXT.encode()), "application/json", "gzip").items == EVENTS


def test_ndjson_keeps_good_lines_and_reports_bad_ones() -> None:
    body = b'{"event":"a"}\nnot json\n{"event":"b"}\n'
    decoded = decode("", body, "application/x-ndjson")
    assert decoded.items == [{"event": "a"}, None, {"event": "b"}]
    assert "line 2" in decoded.bad_lines[1]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        pytest.param({"query": "data=%%%%"}, PayloadError, "base64-encoded", id="bad base64"),
        pytest.param(
            {"query": "data=" + quote("{nope")}, PayloadError, "valid JSON", id="bad JSON"
        ),
        pytest.param(
            {"query": "data=" + quote("42")}, PayloadError, "object or array", id="scalar"
        ),
        pytest.param({"query": "x=1"}, PayloadError, "`data`", id="no data"),
        pytest.param(
            {"body": b"\x1f\x8b\x08garbage", "encoding": "gzip"},
            PayloadError,
            "gzip",
            id="bad gzip",
        ),
        pytest.param(
            {"body": b"xx", "encoding": "br"}, UnsupportedEncodingError, "gzip", id="brotli"
        ),
        pytest.param(
            {"body": b"data=\xff\xfe", "content_type": FORM},
            PayloadError,
            "form",
            id="non-ASCII form",
        ),
        pytest.param(
            {"body": b'["\xff"]', "content_type": "application/json"},
            PayloadError,
            "JSON",
            id="non-UTF-8 JSON",
        ),
    ],
)
def test_malformed_requests_say_what_was_expected(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        decode(**kwargs)


def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b"[" + b" " * (SETTINGS.max_request_bytes + 10) + b"]")
    with pytest.raises(TooLargeError):
        decode("", bomb, "application/json", "gzip")


def test_an_oversized_payload_is_too_large() -> None:
    body = b"[" + b" " * SETTINGS.max_request_bytes + b"]"
    with pytest.raises(TooLargeError):
        decode("", body, "application/json")


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=300),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=300)
@given(st.lists(st.dictionaries(st.text(max_size=300), VALUES, max_size=4), min_size=1, max_size=4))
def test_the_fast_path_is_taken_only_for_flat_short_records(props: list[dict[str, Any]]) -> None:
    """Deciding on the raw JSON may say "clean" too often, never too rarely."""
    events = [{"event": "e", "properties": p} for p in props]
    decoded = decode("", json.dumps(events, ensure_ascii=False).encode(), "application/json")
    values = [v for p in props for v in p.values()]
    nested = any(isinstance(v, list | dict) for v in values)
    long = any(isinstance(v, str) and len(v) > 255 for v in values) or any(
        len(k) > 255 for p in props for k in p
    )
    if nested or long:
        assert decoded.needs_cleaning
