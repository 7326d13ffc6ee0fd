"""GET /api/2.0/export: raw events as JSON lines, streamed, gzip when the client accepts it."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import orjson
from starlette.responses import StreamingResponse

from trackway.api import params as p
from trackway.api.context import ApiContext
from trackway.projects import Project
from trackway.query.table_filter import table_filter
from trackway.storage.export import export_events
from trackway.storage.scan import property_columns

MAX_LIMIT = 100_000


def export(
    context: ApiContext, project: Project, params: dict[str, str], accept_encoding: str
) -> StreamingResponse:
    time_range = p.day_range_ms(params)
    names = p.json_list(params, "event")
    limit = p.integer(params, "limit", None, 1, MAX_LIMIT)
    where = params.get("where")
    events = export_events(
        context.events,
        project,
        time_range,
        set(names) if names is not None else None,
        limit,
        p.as_of(params),
        time_in_ms=p.boolean(params, "time_in_ms"),
        row_filter=table_filter(where, property_columns(context.events, project))
        if where
        else None,
    )
    lines = (orjson.dumps(event) + b"\n" for event in events)
    if "gzip" in accept_encoding.lower():
        return StreamingResponse(
            _gzip(lines), media_type="text/plain", headers={"content-encoding": "gzip"}
        )
    return StreamingResponse(_batched(lines), media_type="text/plain")


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
