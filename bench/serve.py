"""A ``trackway serve`` that a benchmark starts on a data directory, pins, asks over HTTP,
restarts and stops: the through-ingest modes of ``bench.insights``, ``bench.behaviour``
and ``bench.identity`` run on it.

``trackway serve`` is one HTTP process (uvicorn, one worker) and its storage worker, a
child made by ``multiprocessing``'s spawn start method. :class:`Served` can pin the HTTP
process to one core and the worker to another (every thread of each), widen both to every
core again for queries, pause the worker (``SIGSTOP``, so new events stay in the log tail)
and read each process's CPU-seconds and memory from ``/proc``. It knows when everything
sent has been committed (the worker's consumer offset reached each log's end) and when the
worker has nothing left to do (no shard over the compaction trigger either).
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

from bench.processes import (
    alive,
    cpu_seconds,
    descendants,
    free_port,
    memory_mb,
    pin,
    reap,
    spawned_child,
    stop,
    thread_cores,
    wait_listening,
)
from bench.storage import backlog, committed, log_end
from trackway.projects import ProjectCatalog
from trackway.settings import Settings
from trackway.storage.events_table import EventTable
from trackway.storage.layout import ProjectPaths

REPO = Path(__file__).resolve().parent.parent
# The rate limit would refuse a bulk import; the scan cache is the direct benches' (4 GiB),
# so both layouts are read with the same room for decoded columns.
SERVER_ENV = {
    "TRACKWAY_RATE_LIMIT_EVENTS_PER_MINUTE": "0",
    "TRACKWAY_SCAN_CACHE_BYTES": str(4 << 30),
}

QUIET_INTERVAL_S = 0.5
IDLE_CPU_S = 0.1  # of the worker over QUIET_INTERVAL_S: idle polling costs about 0.02
IDLE_CONNECTION_S = 3.0


def create_project(data_dir: Path, name: str, id_merge: str = "simplified") -> dict[str, Any]:
    """A project made with the CLI (``trackway project create --json``): id, token, secret."""
    command = [sys.executable, "-m", "trackway.cli", "project", "create", name]
    command += ["--id-merge", id_merge, "--data-dir", str(data_dir), "--json"]
    out = subprocess.run(command, cwd=REPO, check=True, capture_output=True, timeout=120)
    project: dict[str, Any] = orjson.loads(out.stdout)
    return project


class Served:
    """One ``trackway serve`` on ``data_dir`` at a free port of 127.0.0.1."""

    def __init__(self, data_dir: Path, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.env = {**SERVER_ENV, **(env or {})}
        self.settings = Settings.from_env(self.env)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.worker: int | None = None
        self._children: list[int] = []
        self._connection: HTTPConnection | None = None
        self._used = 0.0  # time.monotonic of the connection's last answer

    # --- Processes ------------------------------------------------------------------------

    def start(self, http_core: int | None = None, worker_core: int | None = None) -> float:
        """Start the server and its worker; seconds from the start to listening (the
        interpreter's start, imports, the app's start-up)."""
        command = [sys.executable, "-m", "trackway.cli", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--data-dir", str(self.data_dir)]
        command += ["--log-level", "warning"]
        started = time.monotonic()
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env={**os.environ, **self.env},
                stdout=log_file,
                stderr=log_file,
            )
        if http_core is not None:
            # At once, before it spawns the worker, which inherits the core until moved.
            pin(self.process.pid, {http_core})
        wait_listening(self.process, self.port, 120)
        listening = time.monotonic() - started
        deadline = time.monotonic() + 60
        while (worker := spawned_child(self.process.pid)) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("trackway serve started no storage worker within 60 s")
            time.sleep(0.05)
        self.worker = worker
        self._children = descendants(self.process.pid)
        if http_core is not None or worker_core is not None:
            self.pin(http_core, worker_core)
        return listening

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server is not running"
        return self.process.pid

    def pin(self, http_core: int | None, worker_core: int | None) -> None:
        """The HTTP process (and its other children) to ``http_core``, the worker to
        ``worker_core``; None leaves that process on every core."""
        every = os.sched_getaffinity(0)
        for pid in descendants(self.pid):
            if pid != self.worker:
                pin(pid, {http_core} if http_core is not None else every)
        if self.worker is not None:
            pin(self.worker, {worker_core} if worker_core is not None else every)

    def unpin(self) -> None:
        self.pin(None, None)

    def cores(self) -> dict[str, list[int]]:
        return {"http": thread_cores(self.pid), "worker": thread_cores(self.worker or 0)}

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self.process is not None:
            self.resume_worker()
            stop(self.process)  # SIGINT: uvicorn drains, serve waits for its worker
            reap(self._children, self.process.pid)
        self.process, self.worker = None, None

    def restart(self, http_core: int | None = None, worker_core: int | None = None) -> float:
        self.stop()
        return self.start(http_core, worker_core)

    def pause_worker(self) -> None:
        """SIGSTOP the worker, between passes: what is sent next stays in the log tail."""
        assert self.worker is not None
        self.wait_quiet()
        os.kill(self.worker, signal.SIGSTOP)

    def resume_worker(self) -> None:
        if self.worker is not None and alive(self.worker):
            os.kill(self.worker, signal.SIGCONT)

    def cpu(self) -> dict[str, float]:
        """CPU-seconds so far of the HTTP process and of the worker."""
        return {
            "http": cpu_seconds(self.pid, tree=False),
            "worker": cpu_seconds(self.worker, tree=False) if self.worker else 0.0,
        }

    def memory(self) -> dict[str, dict[str, float]]:
        return {"http": memory_mb(self.pid), "worker": memory_mb(self.worker or 0)}

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    # --- The worker's progress ----------------------------------------------------------

    def wait_stored(self, timeout_s: float = 3600) -> float:
        """Block until the worker has committed every record in the log now; the
        ``time.monotonic`` of that moment."""
        end = log_end(self.data_dir)
        deadline = time.monotonic() + timeout_s
        while backlog(end, committed(self.data_dir)) > 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the storage worker did not catch up within {timeout_s} s")
            time.sleep(0.01)
        return time.monotonic()

    def wait_quiet(self, timeout_s: float = 3600) -> float:
        """Block until the worker has nothing left to do: the log committed, no shard over
        the compaction trigger, the tables' versions unchanged and the worker near idle
        (under a fifth of a core) over half a second. Returns the moment."""
        deadline = time.monotonic() + timeout_s
        previous: tuple[int, ...] | None = None
        worker_cpu = self.cpu()["worker"]
        while True:
            self.wait_stored(max(1.0, deadline - time.monotonic()))
            state = self._versions()
            busy = self.cpu()["worker"] - worker_cpu
            if state is not None and state == previous and busy <= IDLE_CPU_S:
                return time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the storage worker did not settle within {timeout_s} s")
            previous = state
            worker_cpu = self.cpu()["worker"]
            time.sleep(QUIET_INTERVAL_S)

    def _versions(self) -> tuple[int, ...] | None:
        """Each project's table version, or None while a shard waits for compaction (the
        rule of ``storage.compaction.compact_project``)."""
        versions = []
        for project in ProjectCatalog(self.data_dir).all():
            snapshot = EventTable(ProjectPaths(self.data_dir, project.id).events).snapshot()
            if snapshot is None:
                versions.append(-1)
                continue
            by_shard: dict[int, list[int]] = {}
            for part in snapshot.parts():
                by_shard.setdefault(part.shard, []).append(part.size)
            target = self.settings.compaction_target_bytes
            for sizes in by_shard.values():
                small = sum(1 for size in sizes if size < target)
                if len(sizes) > self.settings.compaction_trigger_parts and small > 1:
                    return None
            versions.append(snapshot.version)
        return tuple(versions)

    def table_shape(self, project_id: int) -> dict[str, int]:
        snapshot = EventTable(ProjectPaths(self.data_dir, project_id).events).snapshot()
        if snapshot is None:
            return {"version": -1, "parts": 0, "rows": 0}
        parts = snapshot.parts()
        return {
            "version": snapshot.version,
            "parts": len(parts),
            "rows": sum(p.rows for p in parts),
        }

    # --- HTTP -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        secret: str,
        body: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """One request on a kept-alive connection, authenticated with ``secret``; the
        decoded JSON answer. A status other than 200 raises with the answer."""
        if params:
            path = f"{path}?{urlencode(params)}"
        token = base64.b64encode(f"{secret}:".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._connection is not None and time.monotonic() - self._used > IDLE_CONNECTION_S:
            # uvicorn closes a connection idle for 5 s: a new one rather than a failed send.
            self._connection.close()
            self._connection = None
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = HTTPConnection("127.0.0.1", self.port, timeout=3600)
            try:
                self._connection.request(method, path, body, headers)
                response = self._connection.getresponse()
                answer = response.read()
                self._used = time.monotonic()
                break
            except (ConnectionError, OSError):
                # A connection the server closed while idle: one new connection, once.
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {answer[:500]!r}")
        return orjson.loads(answer)
