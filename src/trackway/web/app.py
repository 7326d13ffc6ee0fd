"""The web app's files over HTTP: ``/`` is the page, ``/web/...`` its modules and styles, and
``/web/vendor/plotly.min.js`` the charting library, read from the installed ``plotly``
package (a pinned dependency) rather than kept in this repository.

Everything the app shows it fetches from the public API (docs/web.md); this serves files
only. Files are read once and kept in memory with an ETag; the large library is also kept
gzip-compressed for clients that accept it.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from trackway.errors import RouteError, error_body
from trackway.types import Receive, Scope, Send

PREFIX = "/web/"
VENDOR = {"vendor/plotly.min.js": ("plotly", "package_data/plotly.min.js")}
TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
}
_GZIP_MIN_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: bytes
    etag: bytes
    gzipped: bytes | None

    @classmethod
    def of(cls, name: str, body: bytes) -> Asset:
        suffix = name[name.rfind(".") :]
        etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
        gzipped = gzip.compress(body, 6, mtime=0) if len(body) >= _GZIP_MIN_BYTES else None
        return cls(body, TYPES.get(suffix, b"application/octet-stream"), etag, gzipped)


class WebApp:
    """A raw ASGI app for GET and HEAD of the app's files."""

    def __init__(self) -> None:
        self._static = resources.files("trackway.web") / "static"
        self._assets: dict[str, Asset] = {}

    @staticmethod
    def serves(path: str) -> bool:
        return path == "/" or path.startswith(PREFIX)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        name = "index.html" if path == "/" else path[len(PREFIX) :]
        if scope["method"] not in ("GET", "HEAD"):
            error = RouteError(f"Expected GET or HEAD, got {scope['method']} {path}", 405)
            await _send(send, error.status, error_body(error), b"application/json", [])
            return
        asset = self._asset(name)
        if asset is None:
            error = RouteError(f"Expected a file of the web app, got {path!r}", 404)
            await _send(send, 404, error_body(error), b"application/json", [])
            return
        headers = dict(scope.get("headers") or [])
        extra = [(b"etag", asset.etag), (b"cache-control", b"no-cache")]
        if headers.get(b"if-none-match") == asset.etag:
            await _send(send, 304, b"", asset.content_type, extra)
            return
        body = asset.body
        if asset.gzipped is not None and b"gzip" in headers.get(b"accept-encoding", b""):
            body = asset.gzipped
            extra += [(b"content-encoding", b"gzip"), (b"vary", b"accept-encoding")]
        extra.append((b"content-length", str(len(body)).encode()))
        if scope["method"] == "HEAD":
            body = b""
        await _send(send, 200, body, asset.content_type, extra)

    def _asset(self, name: str) -> Asset | None:
        found = self._assets.get(name)
        if found is None:
            body = self._read(name)
            if body is None:
                return None
            found = self._assets[name] = Asset.of(name, body)
        return found

    def _read(self, name: str) -> bytes | None:
        if name in VENDOR:
            package, inside = VENDOR[name]
            return _read_file(resources.files(package), inside)
        # Only plain names below static/: no "..", no hidden files, no empty segments.
        parts = name.split("/")
        if not all(part and not part.startswith(".") for part in parts):
            return None
        return _read_file(self._static, name)


def _read_file(root: Traversable, relative: str) -> bytes | None:
    node = root
    for part in relative.split("/"):
        node = node / part
    return node.read_bytes() if node.is_file() else None


async def _send(
    send: Send, status: int, body: bytes, content_type: bytes, headers: list[Any]
) -> None:
    all_headers = [(b"content-type", content_type), (b"x-content-type-options", b"nosniff")]
    if not any(name == b"content-length" for name, _ in headers):
        all_headers.append((b"content-length", str(len(body)).encode()))
    all_headers += headers
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})
