"""Raw events in Mixpanel's shapes: ``/export`` (JSON lines, streamed, gzip when the client
accepts it) and ``/stream/query`` (the activity feed of some users)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from trackway.api import params as p
from trackway.api.endpoints import Endpoint, Params, json
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.services import events
from trackway.services.context import Services

MAX_EXPORT_LIMIT = 100_000
MAX_STREAM_IDS = 100
MAX_STREAM_LIMIT = 100_000


def export(services: Services, project: Project, params: Params, request: Request) -> Response:
    found = events.export(
        services,
        project,
        events.utc_days(*p.dates(params)),
        p.json_list(params, "event"),
        p.integer(params, "limit", None, 1, MAX_EXPORT_LIMIT),
        p.as_of(params),
        time_in_ms=p.boolean(params, "time_in_ms"),
        where=params.get("where"),
    )
    lines = (orjson.dumps(event) + b"\n" for event in found)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return StreamingResponse(
            _gzip(lines), media_type="text/plain", headers={"content-encoding": "gzip"}
        )
    return StreamingResponse(_batched(lines), media_type="text/plain")


def stream_query(services: Services, project: Project, params: Params, _: Request) -> Response:
    """The events of users' whole identity clusters (asking for a device id also answers the
    events of the user it merged into), oldest first; Mixpanel does not document an order."""
    asked = p.json_list(params, "distinct_ids")
    if asked is None or not 1 <= len(asked) <= MAX_STREAM_IDS:
        found = "nothing" if asked is None else f"{len(asked)} ids"
        raise PayloadError(
            f"Expected `distinct_ids`: a JSON array of 1 to {MAX_STREAM_IDS} ids, got {found}"
        )
    days = p.dates(params)
    limit = p.integer(params, "limit", MAX_STREAM_LIMIT, 1, MAX_STREAM_LIMIT) or MAX_STREAM_LIMIT
    latest = events.activity(services, project, asked, days, limit)
    return json({"status": "ok", "results": {"events": latest}})


def _batched(lines: Iterator[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    buffer: list[bytes] = []
    held = 0
    for line in lines:
        buffer.append(line)
        held += len(line)
        if held >= size:
            yield b"".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield b"".join(buffer)


def _gzip(lines: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in _batched(lines):
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


_DATES = ("from_date", "to_date")
ROUTES = [
    Endpoint(
        "GET",
        "/export",
        export,
        "Raw events as JSON lines",
        _DATES,
        ("event", "limit", "time_in_ms", "where", "as_of_version", "as_of_timestamp"),
    ),
    Endpoint(
        "GET",
        "/stream/query",
        stream_query,
        "Activity feed: the events of users' whole identity clusters, oldest first",
        ("distinct_ids", *_DATES),
        ("limit",),
        strict=True,
    ),
]
