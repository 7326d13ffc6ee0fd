"""Drive an ASGI app in-process, without sockets, for fast endpoint tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from trackway.ingest.app import IngestApp
from trackway.log import LogRecord, decode_record
from trackway.projects import ProjectCatalog
from trackway.property_names import PropertyNames
from trackway.settings import Settings


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Harness:
    """An IngestApp whose log is a list, plus a catalog with two projects."""

    def __init__(
        self,
        tmp_path: Any,
        settings: Settings | None = None,
        now_s: float = 1_780_000_000.0,
        beside: Harness | None = None,
    ) -> None:
        """``beside`` another harness: the same data directory and projects, seen by an app
        of its own, as another server process (or a restarted one) would see them."""
        self.catalog = ProjectCatalog(tmp_path)
        if beside is None:
            self.a = self.catalog.create("A")
            self.b = self.catalog.create("B")
        else:
            self.a, self.b = beside.a, beside.b
        self.payloads: list[bytes] = []
        self.now_s = now_s
        self.names = PropertyNames(tmp_path)
        self.app = IngestApp(
            self.catalog,
            settings or Settings(),
            self._append,
            self.names,
            clock=lambda: self.now_s,
        )

    async def _append(self, payload: bytes) -> int:
        self.payloads.append(payload)
        return len(self.payloads)

    @property
    def records(self) -> list[LogRecord]:
        return [decode_record(p) for p in self.payloads]

    def events(self) -> list[dict[str, Any]]:
        return [item for record in self.records for item in record.items]

    def request(
        self,
        method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        return asyncio.run(self._request(method, path, query, body, headers or {}))

    async def _request(
        self, method: str, path: str, query: str, body: bytes, headers: dict[str, str]
    ) -> Reply:
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("203.0.113.7", 5555),
        }
        chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start, body_message = sent
        return Reply(
            start["status"],
            {k.decode(): v.decode() for k, v in start["headers"]},
            body_message["body"],
        )
