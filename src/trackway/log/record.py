"""The record each accepted ingest request leaves in the log, and its msgpack encoding."""

from __future__ import annotations

from typing import Any

import msgspec

RECORD_KINDS = ("track", "import", "engage", "groups")


class LogRecord(msgspec.Struct, frozen=True):
    project_id: int
    kind: str  # one of RECORD_KINDS: the endpoint that accepted the items
    received_ms: int
    items: list[dict[str, Any]]  # normalised events or profile updates


# Built once: the ingest hot path encodes a record per request.
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(LogRecord)


def encode_record(record: LogRecord) -> bytes:
    return _encoder.encode(record)


def decode_record(payload: bytes | memoryview) -> LogRecord:
    return _decoder.decode(payload)
