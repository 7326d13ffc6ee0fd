"""The ingestion endpoints as a raw ASGI app: the hot path skips framework routing.

A request is answered only after the log has fsynced the records it carried (group commit),
so a success answer means the events survive a crash.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from trackway.errors import (
    MethodNotAllowedError,
    PayloadError,
    RateLimitedError,
    TooLargeError,
    UserError,
)
from trackway.ingest.auth import authenticate_import
from trackway.ingest.decode import decode_request, parse_params
from trackway.ingest.intake import ENDPOINTS, prepare
from trackway.ingest.names import admit
from trackway.ingest.rate_limit import RateLimiter
from trackway.ingest.responses import Response, check_callback, failure, success
from trackway.log import encode_record
from trackway.projects import ProjectCatalog
from trackway.property_names import PropertyNames
from trackway.settings import Settings
from trackway.types import Receive, Scope, Send

Append = Callable[[bytes], Awaitable[int]]

logger = logging.getLogger(__name__)
_RATE_LIMITED = "Project exceeded rate limits. Please retry the request with exponential backoff."
_PREFLIGHT_METHODS = b"GET, POST, OPTIONS"


class IngestApp:
    def __init__(
        self,
        catalog: ProjectCatalog,
        settings: Settings,
        append: Append,
        names: PropertyNames,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._catalog = catalog
        self._settings = settings
        self._append = append
        self._names = names
        self._clock = clock
        self._limiter = RateLimiter(settings.rate_limit_events_per_minute)
        # Form and base64 encodings inflate a payload; the decoded size is checked later.
        self._max_raw_body = 2 * settings.max_request_bytes + 65_536

    @staticmethod
    def endpoint_of(path: str) -> str | None:
        endpoint = path.strip("/")
        return endpoint if endpoint in ENDPOINTS else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoint_of(scope["path"]) or ""
        headers = {name: value for name, value in scope["headers"]}
        method = scope["method"]
        cors = _cors_headers(headers)
        if method == "OPTIONS":
            await _send(send, Response(204, b"", b"text/plain", _preflight_headers(headers)), cors)
            return
        params: dict[str, str] = {}
        try:
            params = parse_params(scope["query_string"])
            if method not in ("GET", "POST"):
                raise MethodNotAllowedError(f"Expected GET or POST on /{endpoint}, got {method}")
            body = await self._read_body(headers, receive)
            response = await self._handle(endpoint, params, headers, body, scope)
        except UserError as exc:
            response = failure(endpoint, params, exc)
        except Exception:
            logger.exception("ingest failed on /%s", endpoint)
            response = Response(
                500,
                b'{"code":500,"error":"internal error; nothing was stored, retry the request",'
                b'"status":"Internal Server Error","error_code":"internal"}',
                b"application/json",
            )
        await _send(send, response, cors)

    async def _handle(
        self,
        endpoint: str,
        params: dict[str, str],
        headers: dict[bytes, bytes],
        body: bytes,
        scope: Scope,
    ) -> Response:
        check_callback(params)
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        import_project = None
        if endpoint == "import" and (authorization or "api_key" in params):
            # Refuse a stranger before decoding a body of up to 10 MB.
            import_project = authenticate_import(authorization, params, self._catalog)
        decoded = decode_request(
            params,
            headers.get(b"content-type", b"").decode("latin-1"),
            headers.get(b"content-encoding", b"").decode("latin-1"),
            body,
            self._settings,
        )
        if endpoint == "import" and import_project is None:
            import_project = authenticate_import(authorization, decoded.params, self._catalog)
        now = self._clock()
        client = scope.get("client")
        draft = prepare(
            endpoint,
            decoded,
            import_project,
            client[0] if client else None,
            int(now * 1000),
            self._catalog,
            self._settings,
            self._names,
        )
        # New property names take the names file's lock (and an fsync when they are added) on
        # the event loop: from here to the appends nothing awaits, so requests reach the log
        # in the order they arrived. Rare: a set gains each name once, and stops at its cap.
        refused = admit(self._names, self._settings, endpoint, draft.unknown)
        prepared = draft.finish(refused)
        for record in prepared.records:
            retry_after = self._limiter.take(record.project_id, len(record.items), now)
            if retry_after is not None:
                raise RateLimitedError(_RATE_LIMITED, retry_after)
        for record in prepared.records:
            await self._append(encode_record(record))
        return success(endpoint, decoded.params, prepared)

    async def _read_body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes:
        limit = self._max_raw_body
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise TooLargeError(f"request exceeds max limit of {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise PayloadError("Expected a complete request body, the client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise TooLargeError(f"request exceeds max limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _cors_headers(headers: dict[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    # mixpanel-browser sends credentials, so "*" would be refused: echo the page's origin.
    origin = headers.get(b"origin")
    if origin is None:
        return []
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]


def _preflight_headers(headers: dict[bytes, bytes]) -> tuple[tuple[bytes, bytes], ...]:
    requested = headers.get(b"access-control-request-headers", b"content-type")
    return (
        (b"access-control-allow-methods", _PREFLIGHT_METHODS),
        (b"access-control-allow-headers", requested),
        (b"access-control-max-age", b"86400"),
    )


async def _send(send: Send, response: Response, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [
        (b"content-type", response.content_type),
        (b"content-length", str(len(response.body)).encode()),
        *response.headers,
        *extra,
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
