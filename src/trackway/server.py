"""The composition root of ``trackway serve``: one ASGI app routing to each layer's app,
and the lifespan that opens and closes the write-ahead log."""

from __future__ import annotations

import gc
import logging
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from trackway.api.app import create_api
from trackway.errors import NotFoundError, error_body
from trackway.ingest.app import IngestApp
from trackway.log import DurableAppender, LogWriter, claim_writer_dir
from trackway.projects import ProjectCatalog
from trackway.property_names import PropertyNames
from trackway.services.context import Services
from trackway.settings import Settings
from trackway.types import Receive, Scope, Send
from trackway.web.app import WebApp

DATA_DIR_ENV = "TRACKWAY_DATA_DIR"
logger = logging.getLogger(__name__)


class Server:
    """Routes requests and owns this process's log writer."""

    def __init__(self, data_dir: Path, settings: Settings) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.catalog = ProjectCatalog(data_dir)
        self._appender: DurableAppender | None = None
        self._resources = ExitStack()
        self.ingest = IngestApp(self.catalog, settings, self._append, PropertyNames(data_dir))
        self.api = create_api(Services.open(data_dir, settings, self.catalog))
        self.web = WebApp()

    async def _append(self, payload: bytes) -> int:
        if self._appender is None:
            raise RuntimeError("the log is not open: the server has not started")
        return await self._appender.append(payload)

    def open(self) -> None:
        # Requests allocate many short-lived dicts and no cycles worth chasing: collect the
        # young generation rarely, and leave everything loaded at start-up out of it.
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        writer_dir, lock = claim_writer_dir(self.data_dir / "log")
        self._resources.callback(lock.close)
        writer = LogWriter(writer_dir, segment_bytes=self.settings.log_segment_bytes)
        self._resources.callback(writer.close)
        self._appender = DurableAppender(writer)
        logger.info("writing the log in %s", writer_dir)

    async def close(self) -> None:
        if self._appender is not None:
            await self._appender.close()
            self._appender = None
        self._resources.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if IngestApp.endpoint_of(scope["path"]) is not None:
                await self.ingest(scope, receive, send)
            elif scope["path"].startswith("/api/"):
                await self.api(scope, receive, send)
            elif WebApp.serves(scope["path"]):
                await self.web(scope, receive, send)
            else:
                await _not_found(scope, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
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


async def _not_found(scope: Scope, send: Send) -> None:
    body = error_body(
        NotFoundError(
            f"Expected /, /web/..., /track, /engage, /groups, /import or /api/..., "
            f"got {scope['path']!r}"
        )
    )
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app() -> Server:
    """The factory uvicorn calls in each worker process (configured through the environment)."""
    return Server(Path(os.environ[DATA_DIR_ENV]), Settings.from_env())
