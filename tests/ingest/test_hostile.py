"""Hostile input: always a 4xx with a message, never a 500, and the server stays up."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest.asgi import Harness
from tests.live_server import make_project, running_server

CLIENT_ERRORS = {400, 401, 405, 413, 415, 429}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
PATHS = st.sampled_from(["/track", "/track/", "/engage", "/groups/", "/import"])
CONTENT_TYPES = st.sampled_from(
    [
        "",
        "application/x-www-form-urlencoded",
        "application/json",
        "application/x-ndjson",
        "text/plain",
    ]
)


def _check(status: int, body: bytes) -> None:
    assert status < 500, body
    if status >= 400 and body not in (b"0",) and not body.startswith(b"GIF"):
        assert json.loads(body)["error"], body


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=PATHS, content_type=CONTENT_TYPES, body=st.binary(max_size=300), gzip_it=st.booleans())
def test_random_bytes_never_cause_a_server_error(
    tmp_path: Path, path: str, content_type: str, body: bytes, gzip_it: bool
) -> None:
    h = Harness(tmp_path / "random")
    headers = {"content-type": content_type}
    if gzip_it:
        headers["content-encoding"] = "gzip"
    reply = h.request("POST", path, "verbose=1", body, headers)
    _check(reply.status, reply.body)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=PATHS, payload=JSON_VALUES, as_base64=st.booleans(), wrap=st.booleans())
def test_random_json_never_causes_a_server_error(
    tmp_path: Path, path: str, payload: Any, as_base64: bool, wrap: bool
) -> None:
    h = Harness(tmp_path / "json")
    if wrap:  # shaped like an event of the project, with random properties
        payload = [{"event": "e", "properties": {"token": h.a.token, "x": payload}}, payload]
    text = json.dumps(payload)
    data = base64.b64encode(text.encode()).decode() if as_base64 else text
    reply = h.request(
        "POST",
        path,
        "",
        ("data=" + quote(data)).encode(),
        {
            "content-type": "application/x-www-form-urlencoded",
            "authorization": "Basic " + base64.b64encode(f"{h.a.secret}:".encode()).decode(),
        },
    )
    _check(reply.status, reply.body)


def _send(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "message"),
    [
        pytest.param(
            "GET", "/track?verbose=1&data=%25%25%25", b"", {}, 400, b"base64", id="malformed base64"
        ),
        pytest.param(
            "GET",
            "/track?verbose=1&data=" + quote('{"event":'),
            b"",
            {},
            400,
            b"valid JSON",
            id="malformed JSON",
        ),
        pytest.param(
            "POST",
            "/track?verbose=1",
            b"\x1f\x8b\x08\x00garbage",
            {"Content-Encoding": "gzip"},
            400,
            b"gzip",
            id="malformed gzip",
        ),
        pytest.param(
            "POST",
            "/import",
            gzip.compress(b"[" + b" " * 12_000_000 + b"]"),
            {"Content-Encoding": "gzip"},
            413,
            b"exceeds",
            id="gzip bomb",
        ),
        pytest.param(
            "POST", "/import", b"[" + b" " * 25_000_000 + b"]", {}, 413, b"exceeds", id="huge body"
        ),
        pytest.param(
            "POST",
            "/track?verbose=1",
            DEEP,
            {"Content-Type": "application/json"},
            400,
            b"JSON",
            id="deep nesting",
        ),
        pytest.param(
            "POST",
            "/track?verbose=1",
            b"data=\xff\xfe\xfd",
            {"Content-Type": "application/x-www-form-urlencoded"},
            400,
            b"form",
            id="non-UTF-8 form",
        ),
        pytest.param(
            "POST",
            "/track?verbose=1",
            b'[{"event":"\xff"}]',
            {"Content-Type": "application/json"},
            400,
            b"JSON",
            id="non-UTF-8 JSON",
        ),
        pytest.param(
            "POST",
            "/import",
            b"[{}]",
            {"Authorization": "Basic !!!"},
            401,
            b"credentials",
            id="garbled auth",
        ),
        pytest.param(
            "POST",
            "/import",
            b"[{}]",
            {"Authorization": "Bearer abc"},
            401,
            b"credentials",
            id="wrong auth scheme",
        ),
        pytest.param("DELETE", "/track?verbose=1", b"", {}, 405, b"GET or POST", id="wrong method"),
        pytest.param("GET", "/nope", b"", {}, 404, b"/track", id="unknown path"),
    ],
)
def test_hostile_requests_against_a_live_server(
    tmp_path: Path,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    message: bytes,
) -> None:
    project = make_project(tmp_path)
    with running_server(tmp_path) as server:
        got_status, got_body = _send(server.port, method, path, body, headers)
        assert got_status == status, got_body[:300]
        assert message in got_body
        event = quote(json.dumps({"event": "still up", "properties": {"token": project.token}}))
        assert _send(server.port, "GET", f"/track?data={event}") == (200, b"1")
