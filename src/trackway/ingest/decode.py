"""Turn one HTTP request into parameters and a list of JSON items, whatever the encoding.

Real clients send ``data`` in the query string (GET), in a form body as url-encoded JSON
(Python SDK), as url-encoded base64 (browser SDK), or as base64 whose ``+`` arrived
unescaped and so reads as a space (node SDK); a JSON or NDJSON body is also accepted, and
the body may be gzip-compressed.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from trackway.errors import PayloadError, TooLargeError, UnsupportedEncodingError
from trackway.settings import Settings

_FORM = "application/x-www-form-urlencoded"
_NDJSON = ("application/x-ndjson", "application/ndjson", "application/jsonl")
_MAX_FIELDS = 64


@dataclass(frozen=True, slots=True)
class Decoded:
    params: dict[str, str]
    items: list[Any]
    payload_bytes: int
    # False when the raw JSON shows that no record holds a string or name over the length
    # limit nor a nested value: records then skip the per-value checks.
    needs_cleaning: bool = True
    # NDJSON lines that are not JSON, by record index (their slot in ``items`` holds None):
    # reported per record while the other lines are kept.
    bad_lines: dict[int, str] = field(default_factory=dict)


def parse_params(query: bytes) -> dict[str, str]:
    return _parse_form(query, "the query string")


def decode_request(
    params: dict[str, str],
    content_type: str,
    content_encoding: str,
    body: bytes,
    settings: Settings,
) -> Decoded:
    body = _decompress(body, content_encoding, settings)
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == _FORM or (not media_type and body.startswith(b"data=")):
        form = _parse_form(body, "the form body")
        params = {**params, **form}
    elif body.strip():
        return _decode_json_body(params, body, media_type in _NDJSON, settings)
    data = params.get("data")
    if data is None:
        raise PayloadError("Expected a `data` parameter (query string or form body) or a JSON body")
    raw = _data_bytes(data)
    items = _load_json(raw, "`data`", settings)
    return Decoded(params, items, len(raw), _needs_cleaning(raw, items, settings))


def _decompress(body: bytes, content_encoding: str, settings: Settings) -> bytes:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise UnsupportedEncodingError(f"Expected Content-Encoding gzip or none, got {encoding!r}")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, settings.max_request_bytes + 1)
    except zlib.error as exc:
        raise PayloadError(
            f"Expected a gzip-compressed body (Content-Encoding: gzip): {exc}"
        ) from None
    if len(out) > settings.max_request_bytes or inflater.unconsumed_tail:
        raise TooLargeError(
            f"request exceeds max limit of {settings.max_request_bytes} bytes once decompressed"
        )
    if not inflater.eof:
        raise PayloadError("Expected a complete gzip stream, got a truncated one")
    return out


def _needs_cleaning(raw: bytes, items: list[Any], settings: Settings) -> bool:
    """Whether some record may hold a string (or property name) over the length limit or a
    nested value, judged on the JSON text at C speed; a false "yes" only costs the slow path.

    Long strings: some run between two quote characters is longer than the limit. Escapes
    are first replaced by two letters, so an escaped quote does not end a run and lengths
    stay the same; bytes are never fewer than characters. Nesting: each record is an object
    with a ``properties`` object, so more braces or brackets than that mean nested values (or
    braces inside strings)."""
    brackets = 1 if raw.lstrip()[:1] == b"[" else 0
    if raw.count(b"{") > 2 * len(items) or raw.count(b"[") > brackets:
        return True
    flat = raw.replace(b"\\\\", b"xx").replace(b'\\"', b"xx")
    limit = min(settings.max_string_length, settings.max_property_name_length)
    return max(map(len, flat.split(b'"'))) > limit


def _parse_form(raw: bytes, where: str) -> dict[str, str]:
    fast = _base64_form(raw)
    if fast is not None:
        return fast
    try:
        text = raw.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"Expected a url-encoded form in {where}: {exc}") from None
    return dict(pairs)


_JSON_STARTS = (b"%7b", b"%7B", b"%5b", b"%5B", b"{", b"[")


def _base64_form(raw: bytes) -> dict[str, str] | None:
    """The browser SDK's body ``data=<url-encoded base64>`` without a general form parser.
    None when the body is anything else."""
    if not raw.startswith(b"data=") or b"&" in raw:
        return None
    value = raw[5:]
    if value.startswith(_JSON_STARTS) or b"=" in value:
        return None
    # Percent-escapes read as quoted-printable's "=XX": one C pass undoes them all.
    decoded = binascii.a2b_qp(value.replace(b"%", b"="))
    try:
        return {"data": decoded.decode("ascii")}
    except UnicodeDecodeError:
        return None


def _data_bytes(data: str) -> bytes:
    stripped = data.strip()
    if stripped[:1] in ("{", "["):
        return stripped.encode()
    # Base64: a form parser turns an unescaped "+" into a space, so spaces map back to "+".
    text = stripped.replace(" ", "+").replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if decoded.lstrip()[:1] not in (b"{", b"["):
        raise PayloadError(
            "Expected `data` as a JSON object or array, raw or base64-encoded; got neither"
        )
    return decoded


def _load_json(raw: bytes, what: str, settings: Settings) -> list[Any]:
    if len(raw) > settings.max_request_bytes:
        raise TooLargeError(f"request exceeds max limit of {settings.max_request_bytes} bytes")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"Expected valid JSON in {what}: {exc}") from None
    return _as_items(value, what)


def _as_items(value: Any, what: str) -> list[Any]:
    if type(value) is list:
        return value
    if type(value) is dict:
        return [value]
    raise PayloadError(
        f"Expected a JSON object or an array of objects in {what}, got {type(value).__name__}"
    )


def _decode_json_body(
    params: dict[str, str], body: bytes, ndjson: bool, settings: Settings
) -> Decoded:
    if len(body) > settings.max_request_bytes:
        raise TooLargeError(f"request exceeds max limit of {settings.max_request_bytes} bytes")
    if not ndjson:
        try:
            whole = _as_items(orjson.loads(body), "the body")
            return Decoded(params, whole, len(body), _needs_cleaning(body, whole, settings))
        except orjson.JSONDecodeError as exc:
            if b"\n" not in body.strip():
                raise PayloadError(f"Expected valid JSON in the body: {exc}") from None
    items: list[Any] = []
    bad_lines: dict[int, str] = {}
    for line_no, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            bad_lines[len(items)] = f"Expected a JSON object on line {line_no}: {exc}"
            items.append(None)
    return Decoded(params, items, len(body), _needs_cleaning(body, items, settings), bad_lines)
