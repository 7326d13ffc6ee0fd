"""The floor: the least work an ingest server can do and still answer like trackway does.

A bare raw-ASGI app under the same uvicorn settings as ``trackway serve`` (uvloop, httptools,
no access log, one worker). For ``POST /track/`` it only decodes the body the way the
browser SDK encodes it (form field ``data``, url-unquote, base64, JSON) and appends the JSON
bytes through the same group commit (``DurableAppender`` over a ``LogWriter``), answering
after the fsync. No validation, no normalisation, no re-encoding: whatever trackway spends
beyond this is the price of its own code.

    python -m bench.floor --port 8001 --data-dir /tmp/floor-data
"""

from __future__ import annotations

import argparse
import binascii
import logging
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from trackway.log import DurableAppender, LogWriter, claim_writer_dir
from trackway.types import Receive, Scope, Send

logger = logging.getLogger(__name__)
# trackway's limit on a raw body: twice the 10 MB decoded limit (form and base64 inflate it).
MAX_BODY_BYTES = 2 * 10_000_000 + 65_536
_OK = b'{"status":1,"error":null}'
_OK_HEADERS: list[Any] = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_OK)).encode()),
]


class FloorServer:
    """Owns one log writer, like ``trackway.server.Server``, and serves only ``/track``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._appender: DurableAppender | None = None
        self._resources = ExitStack()

    def open(self) -> None:
        writer_dir, lock = claim_writer_dir(self.data_dir / "log")
        self._resources.callback(lock.close)
        writer = LogWriter(writer_dir)
        self._resources.callback(writer.close)
        self._appender = DurableAppender(writer)

    async def close(self) -> None:
        if self._appender is not None:
            await self._appender.close()
            self._appender = None
        self._resources.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST" or scope["path"].strip("/") != "track":
            await _respond(send, 404, b'{"status":0,"error":"not found"}')
            return
        try:
            payload = decode_track_body(await _read_body(receive))
        except ValueError as exc:
            await _respond(send, 400, orjson.dumps({"status": 0, "error": str(exc)}))
            return
        if self._appender is None:
            raise RuntimeError("the log is not open: the server has not started")
        await self._appender.append(payload)
        await send({"type": "http.response.start", "status": 200, "headers": _OK_HEADERS})
        await send({"type": "http.response.body", "body": _OK})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        for _ in range(2):  # startup, then shutdown
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.open()
                except Exception as exc:
                    logger.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def decode_track_body(body: bytes) -> bytes:
    """The JSON bytes in the ``data`` form field of a browser-SDK body, checked to be JSON.
    Raises ValueError (binascii.Error and orjson.JSONDecodeError are ValueErrors)."""
    for field in body.split(b"&"):
        if field.startswith(b"data="):
            raw = binascii.a2b_base64(unquote_to_bytes(field[5:]), strict_mode=True)
            orjson.loads(raw)
            return raw
    raise ValueError("Expected a `data` form field")


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
    raise ValueError(f"Expected a body of at most {MAX_BODY_BYTES} bytes")


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn  # noqa: PLC0415 - as in trackway.cli: only serving needs it

    parser = argparse.ArgumentParser(prog="bench.floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port to bind (default 8001)")
    parser.add_argument("--data-dir", type=Path, required=True, help="where the log goes")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    uvicorn.run(
        FloorServer(data_dir),
        host=args.host,
        port=args.port,
        workers=1,
        log_level=args.log_level,
        loop="uvloop",
        http="httptools",
        access_log=False,
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
