"""Mixpanel's response bodies for the ingestion endpoints, byte for byte.

/track, /engage and /groups answer ``1``/``0``, or with ``verbose=1``
``{"status":1,"error":null}``; ``img=1`` answers a 1x1 GIF and ``callback=fn`` JSONP.
/import answers ``{"code":200,"num_records_imported":N,"status":"OK"}`` and, when records
fail, HTTP 400 with ``failed_records``; ``strict=1`` asks the same of the other endpoints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from trackway.errors import PayloadError, RateLimitedError, UserError, error_body
from trackway.ingest.intake import Prepared, flag

# The smallest transparent GIF: what pixel-tracking clients (img=1) expect back.
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
_CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*")
_JSON = b"application/json"
_TEXT = b"text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()


def success(endpoint: str, params: dict[str, str], prepared: Prepared) -> Response:
    failures = prepared.failures
    import_style = endpoint == "import" or (flag(params, "strict") and bool(failures))
    if import_style and not flag(params, "verbose"):
        return _import_style(prepared)
    # verbose=1 wins on /import too: the Python SDK sends it and then requires `status == 1`.
    if failures and (import_style or prepared.accepted == 0):
        first = failures[0].message
        error = first if len(failures) == 1 else f"{len(failures)} records failed; first: {first}"
        details = {
            "num_records_imported": prepared.accepted,
            "failed_records": [failed.to_wire() for failed in failures],
        }
        return _simple(params, 400, ok=False, error=error, details=details)
    return _simple(params, 200, ok=True, error=None)


def failure(endpoint: str, params: dict[str, str], exc: UserError) -> Response:
    headers: tuple[tuple[bytes, bytes], ...] = ()
    if isinstance(exc, RateLimitedError):
        headers = ((b"retry-after", str(exc.retry_after_s).encode()),)
    if endpoint == "import" or exc.status in (413, 429):
        body = error_body(exc)
        return Response(exc.status, body, _JSON, headers)
    response = _simple(
        params, exc.status, ok=False, error=exc.message, details={"error_code": exc.code}
    )
    return Response(response.status, response.body, response.content_type, headers)


def check_callback(params: dict[str, str]) -> None:
    callback = params.get("callback")
    if callback is not None and not _CALLBACK.fullmatch(callback):
        raise PayloadError(
            "Expected `callback` to be a JavaScript function name like `cb` or `mp.cb`"
        )


def _simple(
    params: dict[str, str],
    status: int,
    *,
    ok: bool,
    error: str | None,
    details: dict[str, Any] | None = None,
) -> Response:
    if flag(params, "img"):
        return Response(status, PIXEL_GIF, b"image/gif")
    if flag(params, "verbose"):
        payload: dict[str, Any] = {"status": 1 if ok else 0, "error": error, **(details or {})}
        body, content_type = orjson.dumps(payload), _JSON
    else:
        body, content_type = (b"1" if ok else b"0"), _TEXT
    callback = params.get("callback")
    if callback and _CALLBACK.fullmatch(callback):  # never echo an unchecked name into a script
        # JSONP runs only from a 200 response; the outcome is in the payload.
        return Response(200, callback.encode() + b"(" + body + b");", b"text/javascript")
    return Response(status, body, content_type)


def _import_style(prepared: Prepared) -> Response:
    accepted = prepared.accepted
    if not prepared.failures:
        body = orjson.dumps({"code": 200, "num_records_imported": accepted, "status": "OK"})
        return Response(200, body, _JSON)
    body = orjson.dumps(
        {
            "code": 400,
            "error": "some data points in the request failed validation",
            "status": "Bad Request",
            "num_records_imported": accepted,
            "failed_records": [failed.to_wire() for failed in prepared.failures],
        }
    )
    return Response(400, body, _JSON)
