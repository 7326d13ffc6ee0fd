"""The ingestion endpoints through the ASGI app, in-process: encodings, responses, auth, limits."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.ingest.asgi import Harness
from trackway.ingest.responses import PIXEL_GIF
from trackway.settings import Settings

NOW = 1_780_000_000.0
FORM = {"content-type": "application/x-www-form-urlencoded"}


def track_event(token: str, i: int = 0, **props: Any) -> dict[str, Any]:
    return {
        "event": "Viewed",
        "properties": {
            "token": token,
            "distinct_id": f"u{i}",
            "time": NOW - 10,
            "$insert_id": f"id-{i}",
            **props,
        },
    }


def b64(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def basic(user: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:".encode()).decode()}


@pytest.mark.parametrize("path", ["/track", "/track/"])
def test_track_get_base64_answers_1(tmp_path: Path, path: str) -> None:
    h = Harness(tmp_path, now_s=NOW)
    reply = h.request("GET", path, "ip=0&verbose=0&data=" + quote(b64(track_event(h.a.token))))
    assert (reply.status, reply.body) == (200, b"1")
    assert [r.project_id for r in h.records] == [h.a.id]
    assert h.events()[0]["properties"]["distinct_id"] == "u0"


def test_verbose_from_the_form_body(tmp_path: Path) -> None:
    h = Harness(tmp_path, now_s=NOW)
    body = urlencode({"data": json.dumps([track_event(h.a.token)]), "verbose": "1", "ip": "0"})
    reply = h.request("POST", "/track", body=body.encode(), headers=FORM)
    assert (reply.status, json.loads(reply.body)) == (200, {"status": 1, "error": None})
    assert reply.headers["content-type"] == "application/json"


def test_pixel_and_jsonp(tmp_path: Path) -> None:
    h = Harness(tmp_path, now_s=NOW)
    data = quote(b64(track_event(h.a.token)))
    pixel = h.request("GET", "/track/", f"img=1&data={data}")
    assert (pixel.status, pixel.body, pixel.headers["content-type"]) == (
        200,
        PIXEL_GIF,
        "image/gif",
    )
    jsonp = h.request("GET", "/track/", f"callback=mp.cb_1&verbose=1&data={data}")
    assert jsonp.body == b'mp.cb_1({"status":1,"error":null});'
    assert jsonp.headers["content-type"] == "text/javascript"
    hostile = h.request("GET", "/track/", f"callback={quote('alert(1)//')}&data={data}")
    assert hostile.status == 400
    assert len(h.records) == 2


def test_cors_echoes_the_origin_and_allows_credentials(tmp_path: Path) -> None:
    h = Harness(tmp_path, now_s=NOW)
    origin = {"origin": "https://shop.example"}
    preflight = h.request(
        "OPTIONS", "/track/", headers={**origin, "access-control-request-headers": "content-type"}
    )
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    reply = h.request("GET", "/track", "data=" + quote(b64(track_event(h.a.token))), headers=origin)
    assert reply.headers["access-control-allow-origin"] == "https://shop.example"


def test_engage_and_groups(tmp_path: Path) -> None:
    h = Harness(tmp_path, now_s=NOW)
    people = [{"$token": h.a.token, "$distinct_id": "u1", "$set": {"plan": "pro"}}]
    groups = [
        {"$token": h.a.token, "$group_key": "company", "$group_id": "acme", "$set": {"size": 3}}
    ]
    assert (
        h.request("POST", "/engage/", body=b"data=" + b64(people).encode(), headers=FORM).body
        == b"1"
    )
    assert h.request("GET", "/groups", "data=" + quote(b64(groups))).body == b"1"
    assert [r.kind for r in h.records] == ["engage", "groups"]


def test_import_with_the_secret_token_or_api_key(tmp_path: Path) -> None:
    h = Harness(tmp_path, now_s=NOW)
    body = json.dumps([track_event(h.a.token, i) for i in range(3)]).encode()
    json_body = {"content-type": "application/json"}
    for query, headers in [
        ("", basic(h.a.secret)),
        (f"project_id={h.a.id}", basic(h.a.secret)),
        ("", basic(h.a.token)),
        (f"api_key={h.a.secret}", {}),
    ]:
        reply = h.request("POST", "/import", query, body, {**json_body, **headers})
        assert reply.status == 200, reply.body
        assert json.loads(reply.body) == {"code": 200, "num_records_imported": 3, "status": "OK"}
    assert all(e["properties"]["$import"] is True for e in h.events())
    assert len(h.events()) == 12


@pytest.mark.parametrize(
    ("query", "auth"),
    [
        pytest.param("", {}, id="no credentials"),
        pytest.param("", {"authorization": "Basic bm9wZTo="}, id="unknown secret"),
        pytest.param("project_id=2", "a-secret", id="another project's id"),
        pytest.param("api_key=nope", {}, id="bad api_key"),
    ],
)
def test_import_rejects_bad_credentials(tmp_path: Path, query: str, auth: Any) -> None:
    h = Harness(tmp_path, now_s=NOW)
    headers = basic(h.a.secret) if auth == "a-secret" else auth
    reply = h.request(
        "POST", "/import", query, json.dumps([track_event(h.a.token)]).encode(), headers
    )
    assert reply.status == 401
    body = json.loads(reply.body)
    assert body["code"] == 401
    assert body["status"] == "Unauthorized"
    assert "credentials" in body["error"]
    assert h.records == []


def test_import_reports_failed_records_and_keeps_the_valid_ones(tmp_path: Path) -> None:
    h = Harness(tmp_path, now_s=NOW)
    batch = [
        track_event(h.a.token, 0),
        track_event(h.a.token, 1, time="soon"),
        track_event(h.a.token, 2),
    ]
    reply = h.request("POST", "/import", body=json.dumps(batch).encode(), headers=basic(h.a.secret))
    assert reply.status == 400
    body = json.loads(reply.body)
    assert body["num_records_imported"] == 2
    assert body["failed_records"] == [
        {
            "index": 1,
            "$insert_id": "id-1",
            "field": "properties.time",
            "message": "Expected `number` (unix seconds or ms), got `string` - at `$[1].properties.time`",
        }
    ]
    assert [e["properties"]["$insert_id"] for e in h.events()] == ["id-0", "id-2"]


def test_track_keeps_valid_events_of_a_partly_bad_batch(tmp_path: Path) -> None:
    h = Harness(tmp_path, now_s=NOW)
    batch = [track_event(h.a.token, 0), track_event(h.a.token, 1, distinct_id="null")]
    reply = h.request("POST", "/track", "verbose=1", ("data=" + quote(b64(batch))).encode(), FORM)
    assert json.loads(reply.body) == {"status": 1, "error": None}
    assert len(h.events()) == 1
    strict = h.request(
        "POST", "/track", "verbose=1&strict=1", ("data=" + quote(b64(batch))).encode(), FORM
    )
    assert strict.status == 400
    assert json.loads(strict.body)["failed_records"][0]["index"] == 1
    all_bad = h.request(
        "POST", "/track", "verbose=1", ("data=" + quote(b64(batch[1:]))).encode(), FORM
    )
    assert all_bad.status == 400
    assert "placeholder" in json.loads(all_bad.body)["error"]


def test_tokens_route_events_to_their_own_project(tmp_path: Path) -> None:
    h = Harness(tmp_path, now_s=NOW)
    batch = [track_event(h.a.token, 0), track_event(h.b.token, 1), track_event("bogus", 2)]
    reply = h.request("POST", "/track", "verbose=1", ("data=" + quote(b64(batch))).encode(), FORM)
    assert reply.status == 200
    assert sorted((r.project_id, len(r.items)) for r in h.records) == [(h.a.id, 1), (h.b.id, 1)]
    only_bad = h.request("GET", "/track", "verbose=1&data=" + quote(b64(track_event("bogus"))))
    assert only_bad.status == 401


def test_limits_answer_413_and_429(tmp_path: Path) -> None:
    h = Harness(tmp_path, Settings(rate_limit_events_per_minute=60), now_s=NOW)
    too_many = [track_event(h.a.token, i) for i in range(2001)]
    reply = h.request(
        "POST", "/import", body=json.dumps(too_many).encode(), headers=basic(h.a.secret)
    )
    assert reply.status == 413
    assert json.loads(reply.body)["status"] == "Request Entity Too Large"
    sixty = [track_event(h.a.token, i) for i in range(60)]
    assert h.request("POST", "/track", body=json.dumps(sixty).encode()).status == 200
    limited = h.request("POST", "/track", body=json.dumps(sixty[:5]).encode())
    assert limited.status == 429
    assert limited.headers["retry-after"] == "5"
    assert len(h.events()) == 60


def test_ip_derives_a_distinct_id_when_none_is_given(tmp_path: Path) -> None:
    h = Harness(tmp_path, now_s=NOW)
    event = {"event": "Viewed", "properties": {"token": h.a.token}}
    h.request("GET", "/track", "ip=1&data=" + quote(b64(event)))
    h.request("GET", "/track", "ip=0&data=" + quote(b64(event)))
    first, second = (e["properties"]["distinct_id"] for e in h.events())
    assert first.startswith("$ip:")
    assert second == ""


def test_unknown_method_and_empty_batch(tmp_path: Path) -> None:
    h = Harness(tmp_path, now_s=NOW)
    assert h.request("PUT", "/track").status == 405
    empty = h.request("POST", "/track", "verbose=1", b"[]", {"content-type": "application/json"})
    assert empty.status == 400
    assert "at least one record" in json.loads(empty.body)["error"]
