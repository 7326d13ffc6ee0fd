"""Start a real ``trackway serve`` process on 127.0.0.1 and a free port, and stop it."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import Any
from urllib.parse import quote

import orjson

from trackway.log import decode_record, replay
from trackway.projects import Project, ProjectCatalog


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """kill -9 of the server and its worker processes: no shutdown handler runs."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        _wait_for_group(self.process.pid)


def start_server(data_dir: Path, workers: int = 1, env: dict[str, str] | None = None) -> LiveServer:
    port = free_port()
    command = [sys.executable, "-m", "trackway.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--data-dir", str(data_dir), "--workers", str(workers)]
    command += ["--log-level", "warning"]
    process = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return LiveServer(f"http://127.0.0.1:{port}", port, data_dir, process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("server did not start within 30 s")


def stop_server(server: LiveServer) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            # Longer than serve's own wait for its storage worker to finish a pass.
            server.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)
    _wait_for_group(server.process.pid)
    if server.process.stderr:
        server.process.stderr.close()


def _wait_for_group(group: int, timeout_s: float = 45.0) -> None:
    """Until no process of the server's group (its storage worker included) is left."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    os.killpg(group, signal.SIGKILL)


@contextmanager
def running_server(
    data_dir: Path, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    server = start_server(data_dir, workers, env)
    try:
        yield server
    finally:
        stop_server(server)


def make_project(data_dir: Path, name: str = "test") -> Project:
    return ProjectCatalog(data_dir).create(name)


def logged_items(data_dir: Path) -> list[tuple[int, str, dict[str, Any]]]:
    """Every (project_id, kind, item) in the write-ahead log, in log order per writer."""
    out = []
    for _, entry in replay(data_dir / "log"):
        record = decode_record(entry.record_payload)
        out.extend((record.project_id, record.kind, item) for item in record.items)
    return out


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def send_load(
    port: int,
    token: str,
    name: str,
    acked: list[str],
    stop: Event,
    batch: int = 20,
    max_batches: int = 400,
    users: Sequence[str] = tuple(f"u{i}" for i in range(20)),
) -> None:
    """A client thread: acknowledged batches of uniquely named events until ``stop`` or the
    server dies; ``acked`` collects the $insert_ids the server acknowledged."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for number in range(max_batches):
            if stop.is_set():
                return
            ids = [f"{name}-b{number}-e{i}" for i in range(batch)]
            events = [
                {
                    "event": "Load",
                    "properties": {
                        "token": token,
                        "distinct_id": users[(number + i) % len(users)],
                        "$insert_id": ident,
                        "plan": "pro",
                    },
                }
                for i, ident in enumerate(ids)
            ]
            connection.request(
                "POST",
                "/track?verbose=1",
                "data=" + quote(dumps(events)),
                {"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = connection.getresponse()
            if response.status == 200 and b'"status":1' in response.read():
                acked.extend(ids)
    except (OSError, http.client.HTTPException):
        return  # the server died under us: what was acknowledged so far is what counts
    finally:
        connection.close()
