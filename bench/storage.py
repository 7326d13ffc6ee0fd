"""Storage: ingest to queryable throughput, freshness, bytes on disk, and column reads.

    .venv/bin/python -m bench.storage                        # all of it, about 5 minutes
    .venv/bin/python -m bench.storage --read-events 1000000  # a quick run
    .venv/bin/python -m bench.storage --phases ingest        # only 1 and 2

1. **Ingest -> stored.** ``trackway serve`` (HTTP process plus storage worker, pinned to one
   core) takes closed-loop ``/track`` load from a generator process on another core for
   ``--duration`` seconds; then the bench waits until the storage worker has committed the
   whole log to the Delta table (its consumer offset reaches the log's end, checked against
   the table's row count). Reported: events/s acknowledged, events/s from the first request
   to the last event stored, and the server's CPU-seconds per million events.
2. **Freshness.** During the load a probe sends single marked events and times, from the
   acknowledgement, until ``EventReader.scan`` returns the event (it reads the log tail) and
   until the event is committed to the table.
3. **Bytes on disk** of a generated dataset (``--read-events``, 10M by default) written to a
   project's events table in 1M-event commits, then compacted and vacuumed, next to the same
   events as JSON lines and as plain zstd Parquet files.
4. **Reads** of (user_hash, time, event) of that dataset through the scan API and through
   deltalake, DuckDB and Polars: cold (a fresh process; the OS page cache is warm) and warm
   (later calls in the same process).

Results go to bench/results/storage.json. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from http.client import HTTPConnection
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote_from_bytes

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

from bench.datagen import Users, check_equivalence, time_slices, with_sdk_fields
from bench.processes import cpu_seconds, descendants, free_port, reap, stop, wait_listening
from trackway.datagen import generate
from trackway.log import LogReader, writer_dirs
from trackway.log.segments import list_segments
from trackway.projects import ProjectCatalog
from trackway.settings import Settings
from trackway.storage.compaction import compact_project
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import EventTable
from trackway.storage.layout import CONSUMER, ProjectPaths
from trackway.storage.scan import EventReader
from trackway.storage.sharding import shard_of, user_hash

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "storage.json"
DAY_MS = 86_400_000
READ_COLUMNS = ("user_hash", "time", "event")
SERVER_ENV = {"TRACKWAY_RATE_LIMIT_EVENTS_PER_MINUTE": "0"}
OK_MARK = b'"status":1'
# Changes whenever the generated dataset would differ: a kept dataset is reused only if equal.
# 2: parts in the scan's layout (events_table.py), compacted ones marked deduplicated
DATASET_FORMAT = "trackway.datagen+sdk-fields/2"


@dataclass(frozen=True, slots=True)
class Options:
    phases: frozenset[str]
    duration_s: float
    connections: int
    batch_events: int
    pool_batches: int
    probes: int
    probe_interval_s: float
    read_events: int
    chunk_events: int
    days: int
    cold_runs: int
    warm_runs: int
    engines: tuple[str, ...]
    seed: int
    server_core: int | None
    generator_core: int | None
    data_root: Path
    drain_timeout_s: float


# ---------------------------------------------------------------- the load generator process


@dataclass(frozen=True, slots=True)
class LoadConfig:
    port: int
    token: str
    connections: int
    duration_s: float
    batch_events: int
    pool_batches: int
    seed: int
    core: int | None


@dataclass(frozen=True, slots=True)
class Template:
    request: bytes  # a whole POST /track request
    id_offsets: tuple[int, ...]  # where each event's 32-character $insert_id sits
    cycle_offsets: tuple[int, ...]  # where each distinct_id's 3-hex-digit cycle number sits


def build_requests(config: LoadConfig, now_ms: int) -> list[Template]:
    """A pool of browser-style requests: ``data=<urlencoded JSON array>`` form bodies, each
    a run of one or two users' events (datagen orders them by user and time), from the day
    before ``now_ms``."""
    count = config.pool_batches * config.batch_events
    users = max(1000, count // 10)
    base = generate(count, users, days=1, start_ms=now_ms - DAY_MS, seed=config.seed)
    events = with_sdk_fields(base, Users(users), config.seed).track_events(config.token)
    for event in events:
        # Rewritten per pass over the pool, so a reused body brings other users' events and
        # not ties on (user, time), which real traffic rarely has and scans pay for.
        event["properties"]["distinct_id"] = "c000-" + event["properties"]["distinct_id"]
    cycle_mark = quote_from_bytes(b'"distinct_id":"c', safe="").encode()
    pool = []
    for start in range(0, count, config.batch_events):
        batch = events[start : start + config.batch_events]
        body = b"data=" + quote_from_bytes(orjson.dumps(batch), safe="").encode()
        head = (
            f"POST /track?verbose=1&ip=1&_={now_ms} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{config.port}\r\n"
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Origin: https://shop.example.com\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n"
        ).encode()
        request = head + body
        # Hex ids pass url-encoding unchanged, so each sits verbatim in the body.
        offsets = tuple(request.index(e["properties"]["$insert_id"].encode()) for e in batch)
        cycles = tuple(m.end() for m in re.finditer(re.escape(cycle_mark), request))
        pool.append(Template(request, offsets, cycles))
    return pool


@dataclass(slots=True)
class LoadState:
    pool: list[Template]
    stop_at: float
    prefix: bytes  # 8 hex digits, unique to this run
    sent: int = 0
    ok: int = 0
    failed: int = 0
    connection_errors: int = 0
    failures: list[str] = field(default_factory=list)
    open_connections: int = 0
    last_ack: float = 0.0
    closed: asyncio.Future[None] | None = None

    def next_request(self) -> bytes:
        template = self.pool[self.sent % len(self.pool)]
        base = self.prefix + b"%022x" % self.sent
        cycle = b"%03x" % (self.sent // len(self.pool) % 4096)
        self.sent += 1
        request = bytearray(template.request)
        for index, offset in enumerate(template.id_offsets):
            request[offset : offset + 32] = base + b"%02x" % index
        for offset in template.cycle_offsets:
            request[offset : offset + 3] = cycle
        return bytes(request)


class LoadClient(asyncio.Protocol):
    """One keep-alive connection: send, read the whole answer, send the next."""

    def __init__(self, state: LoadState) -> None:
        self.state = state
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.need = -1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.state.open_connections += 1
        self.transport.write(self.state.next_request())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need < 0:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            at = head.find(b"content-length:")
            length = 0
            if at >= 0:
                end = head.find(b"\r\n", at)
                length = int(head[at + 15 : end if end >= 0 else len(head)])
            self.need = head_end + 4 + length
        if len(self.buffer) < self.need:
            return
        state, answer = self.state, self.buffer[: self.need]
        self.buffer, self.need = b"", -1
        if answer.startswith(b"HTTP/1.1 200") and OK_MARK in answer:
            state.ok += 1
            state.last_ack = time.monotonic()
        else:
            state.failed += 1
            if len(state.failures) < 5:
                state.failures.append(answer[:300].decode(errors="replace"))
        assert self.transport is not None
        if time.monotonic() < state.stop_at:
            self.transport.write(state.next_request())
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        state = self.state
        if self.need >= 0 or self.buffer or exc is not None:
            state.connection_errors += 1
        state.open_connections -= 1
        if state.open_connections == 0 and state.closed is not None and not state.closed.done():
            state.closed.set_result(None)


async def drive(config: LoadConfig, pool: list[Template], start_at: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    state = LoadState(pool, start_at + config.duration_s, os.urandom(4).hex().encode())
    state.closed = loop.create_future()
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    cpu_start = time.process_time()
    for _ in range(config.connections):
        await loop.create_connection(lambda: LoadClient(state), "127.0.0.1", config.port)
    await asyncio.sleep(max(0.0, state.stop_at - time.monotonic()))
    with contextlib.suppress(TimeoutError):  # each connection finishes its request in flight
        await asyncio.wait_for(asyncio.shield(state.closed), 30)
    return {
        "requests_sent": state.sent,
        "requests_ok": state.ok,
        "events_ok": state.ok * config.batch_events,
        "failed": state.failed,
        "failures": state.failures,
        "connection_errors": state.connection_errors,
        "unsettled_connections": state.open_connections,
        "last_ack": state.last_ack,
        "cpu_s": time.process_time() - cpu_start,
    }


def run_load(config: LoadConfig, pipe: Connection) -> None:
    """The generator process: pin, build the pool, say ready, wait for the start, report."""
    import uvloop  # noqa: PLC0415 - only this process needs it

    if config.core is not None:
        os.sched_setaffinity(0, {config.core})
    pool = build_requests(config, int(time.time() * 1000))
    pipe.send(("ready", len(pool)))
    if not pipe.poll(120):
        return
    start_at = pipe.recv()
    try:
        pipe.send(("report", uvloop.run(drive(config, pool, start_at))))
    except Exception as exc:
        pipe.send(("error", repr(exc)))


# ---------------------------------------------------------------- log positions


def log_end(data_dir: Path) -> dict[str, int]:
    """Per writer, the offset just past the last byte written to its log."""
    ends = {}
    for directory in writer_dirs(data_dir / "log"):
        for _ in range(10):  # a consumer may delete a segment between listing and stat
            segments = list_segments(directory)
            if not segments:
                break
            try:
                ends[directory.name] = segments[-1].base + segments[-1].path.stat().st_size
                break
            except FileNotFoundError:
                continue
    return ends


def committed(data_dir: Path) -> dict[str, int]:
    """Per writer, how far the storage worker has committed (its tables hold all before)."""
    return {
        d.name: LogReader(d, CONSUMER).committed_offset() for d in writer_dirs(data_dir / "log")
    }


def backlog(end: dict[str, int], done: dict[str, int]) -> int:
    return sum(max(0, offset - done.get(writer, 0)) for writer, offset in end.items())


class CommitWatcher(threading.Thread):
    """Polls the storage worker's log position: when each probe got committed, and how far
    behind the log the worker ran."""

    def __init__(self, data_dir: Path, deadline: float) -> None:
        super().__init__(daemon=True)
        self.data_dir = data_dir
        self.deadline = deadline
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.pending: dict[int, tuple[float, dict[str, int]]] = {}
        self.lags: dict[int, float] = {}
        self.max_backlog = 0
        self.samples: list[tuple[float, int]] = []

    def add(self, probe: int, acked_at: float, end: dict[str, int]) -> None:
        with self.lock:
            self.pending[probe] = (acked_at, end)

    def run(self) -> None:
        last_sample = 0.0
        while not self.halt.is_set() and time.monotonic() < self.deadline:
            done = committed(self.data_dir)
            now = time.monotonic()
            with self.lock:
                for probe, (acked_at, end) in list(self.pending.items()):
                    if backlog(end, done) == 0:
                        self.lags[probe] = now - acked_at
                        del self.pending[probe]
            if now - last_sample >= 0.25:
                behind = backlog(log_end(self.data_dir), done)
                self.max_backlog = max(self.max_backlog, behind)
                self.samples.append((now, behind))
                last_sample = now
            self.halt.wait(0.01)


class Prober(threading.Thread):
    """Sends single marked events and times ack -> returned by ``EventReader.scan``."""

    def __init__(
        self,
        data_dir: Path,
        project_id: int,
        token: str,
        port: int,
        watcher: CommitWatcher,
        start_at: float,
        stop_at: float,
        options: Options,
    ) -> None:
        super().__init__(daemon=True)
        self.data_dir, self.token, self.port, self.watcher = data_dir, token, port, watcher
        project = ProjectCatalog(data_dir).by_id(project_id)
        assert project is not None
        self.project = project
        self.start_at, self.stop_at = start_at, stop_at
        self.count = options.probes
        # Spread over the load; never more often than the interval.
        self.interval = max(options.probe_interval_s, (stop_at - start_at) / max(1, self.count))
        self.run_id = os.urandom(4).hex()
        self.visible: dict[int, float] = {}
        self.scans: list[float] = []
        self.ack_ms: list[float] = []
        self.errors: list[str] = []
        self.sent = 0

    def run(self) -> None:
        reader = EventReader(self.data_dir, Settings.from_env().scan_cache_bytes)
        connection = HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            for probe in range(self.count):
                time.sleep(max(0.0, self.start_at + probe * self.interval - time.monotonic()))
                if time.monotonic() >= self.stop_at:
                    break
                self._probe(probe, reader, connection)
        except Exception as exc:
            self.errors.append(repr(exc))
        finally:
            connection.close()

    def _probe(self, probe: int, reader: EventReader, connection: HTTPConnection) -> None:
        distinct_id = f"probe-{self.run_id}-{probe}"
        insert_id = f"probe-{self.run_id}-{probe:06d}"
        event = {
            "event": "Bench Probe",
            "properties": {
                "token": self.token,
                "distinct_id": distinct_id,
                "time": time.time(),
                "$insert_id": insert_id,
            },
        }
        body = b"data=" + quote_from_bytes(orjson.dumps([event]), safe="").encode()
        sent = time.monotonic()
        connection.request(
            "POST",
            "/track?verbose=1",
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        answer = response.read()
        acked = time.monotonic()
        self.sent += 1
        if response.status != 200 or OK_MARK not in answer:
            self.errors.append(f"probe {probe}: {response.status} {answer[:200]!r}")
            return
        self.ack_ms.append((acked - sent) * 1000)
        self.watcher.add(probe, acked, log_end(self.data_dir))
        shard = int(shard_of(np.array([user_hash(distinct_id)], np.int64), self.project.shards)[0])
        deadline = acked + 10
        while time.monotonic() < deadline:
            began = time.monotonic()
            scans = reader.scan(self.project, ["insert_id"], shards=[shard])
            ended = time.monotonic()
            self.scans.append(ended - began)
            if any(pc.any(pc.equal(s.columns["insert_id"], insert_id)).as_py() for s in scans):
                self.visible[probe] = ended - acked
                return
        self.errors.append(f"probe {probe}: not returned by a scan within 10 s")


# ---------------------------------------------------------------- 1 and 2: ingest -> stored


def create_project(data_dir: Path) -> dict[str, Any]:
    command = ["-m", "trackway.cli", "project", "create", "bench", "--data-dir", str(data_dir)]
    out = subprocess.run(
        [sys.executable, *command, "--json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    project: dict[str, Any] = orjson.loads(out.stdout)
    return project


def ingest_phase(options: Options) -> dict[str, Any]:
    data_dir = options.data_root / "ingest"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    project = create_project(data_dir)
    port = free_port()
    server_log = options.data_root / "ingest.server.log"
    command = ["-m", "trackway.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--log-level", "warning"]
    with server_log.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env={**os.environ, **SERVER_ENV},
            stdout=log_file,
            stderr=log_file,
        )
    children: list[int] = []
    own_cores = os.sched_getaffinity(0)
    try:
        if options.server_core is not None:
            # Before it starts its worker process and threads: they inherit the core.
            os.sched_setaffinity(server.pid, {options.server_core})
        wait_listening(server, port, 60)
        time.sleep(1.0)  # let the storage worker process come up
        children = descendants(server.pid)
        if options.generator_core is not None:
            os.sched_setaffinity(0, {options.generator_core})  # probes stay off the server core
        result = measure_ingest(options, data_dir, project, port, server.pid)
    except BaseException:
        tail = server_log.read_text(errors="replace")[-3000:]
        print(f"the ingest phase failed; the server's output ends:\n{tail}", file=sys.stderr)
        raise
    finally:
        os.sched_setaffinity(0, own_cores)
        stop(server)  # SIGINT: the worker finishes its pass; then SIGKILL if need be
        reap(children, server.pid)
    result["server_exit_code"] = server.returncode
    result["server_log_tail"] = server_log.read_text(errors="replace")[-2000:]
    result["bytes"] = http_table_bytes(data_dir, int(project["id"]), result["stored_rows"])
    return result


def measure_ingest(
    options: Options,
    data_dir: Path,
    project: dict[str, Any],
    port: int,
    server_pid: int,
) -> dict[str, Any]:
    config = LoadConfig(
        port=port,
        token=project["token"],
        connections=options.connections,
        duration_s=options.duration_s,
        batch_events=options.batch_events,
        pool_batches=options.pool_batches,
        seed=options.seed,
        core=options.generator_core,
    )
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    generator = ctx.Process(target=run_load, args=(config, theirs), daemon=True)
    generator.start()
    try:
        if not ours.poll(180):
            raise RuntimeError("the load generator did not get ready within 180 s")
        ours.recv()
        start_at = time.monotonic() + 0.5
        stop_at = start_at + options.duration_s
        hard_deadline = stop_at + options.drain_timeout_s + 60
        watcher = CommitWatcher(data_dir, hard_deadline)
        prober = Prober(
            data_dir, project["id"], project["token"], port, watcher, start_at + 1, stop_at, options
        )
        ours.send(start_at)
        time.sleep(max(0.0, start_at - time.monotonic()))
        cpu_start = cpu_seconds(server_pid), cpu_seconds(server_pid, tree=False)
        watcher.start()
        prober.start()
        if not ours.poll(options.duration_s + 90):
            raise RuntimeError("the load generator did not report in time")
        kind, report = ours.recv()
        if kind != "report":
            raise RuntimeError(f"the load generator failed: {report}")
        prober.join(30)
        # Every acknowledged event is in the log by now; wait until the worker stored it all.
        end = log_end(data_dir)
        stored_at = None
        deadline = time.monotonic() + options.drain_timeout_s
        while time.monotonic() < deadline:
            if backlog(end, committed(data_dir)) == 0:
                stored_at = time.monotonic()
                break
            time.sleep(0.01)
        cpu_end = cpu_seconds(server_pid), cpu_seconds(server_pid, tree=False)
        # Probes still uncommitted get until the drain deadline too.
        while watcher.pending and time.monotonic() < deadline:
            time.sleep(0.05)
        watcher.halt.set()
        watcher.join(5)
    finally:
        generator.join(10)
        if generator.is_alive():
            generator.kill()
    if stored_at is None:
        raise RuntimeError(f"the worker did not store the log within {options.drain_timeout_s} s")
    table = DeltaTable(str(ProjectPaths(data_dir, project["id"]).events))
    insert_ids = table.to_pyarrow_table(columns=["insert_id"]).column("insert_id")
    probes_ok = len(prober.ack_ms)
    total_cpu = cpu_end[0] - cpu_start[0]
    http_cpu = cpu_end[1] - cpu_start[1]
    events = report["events_ok"]
    elapsed = stored_at - start_at
    cores = 1 if options.server_core is not None else os.cpu_count() or 1
    return {
        "load": report,
        "acked_events": events,
        "load_s": report["last_ack"] - start_at,
        "acked_per_s": events / (report["last_ack"] - start_at),
        "stored_after_s": elapsed,
        "drain_after_load_s": stored_at - report["last_ack"],
        "stored_per_s": events / elapsed,
        "server_cores": cores,
        "stored_per_s_per_core": events / elapsed / cores,
        "server_cpu_s": total_cpu,
        "http_cpu_s": http_cpu,
        "worker_cpu_s": total_cpu - http_cpu,
        "cpu_s_per_million": total_cpu / events * 1e6,
        "http_cpu_s_per_million": http_cpu / events * 1e6,
        "worker_cpu_s_per_million": (total_cpu - http_cpu) / events * 1e6,
        "server_core_share": total_cpu / elapsed / cores,
        "max_backlog_bytes": watcher.max_backlog,
        "stored_rows": len(insert_ids),
        "distinct_insert_ids": pc.count_distinct(insert_ids).as_py(),
        "expected_rows": events + probes_ok,
        "table_version": table.version(),
        "probes": {
            "sent": prober.sent,
            "acked": probes_ok,
            "interval_s": prober.interval,
            "ack_ms": summary(prober.ack_ms),
            "visible_s": summary(list(prober.visible.values())),
            "committed_s": summary(list(watcher.lags.values())),
            "scan_s": summary(prober.scans),
            "scans_per_probe": len(prober.scans) / max(1, len(prober.visible)),
            "errors": prober.errors[:10],
        },
    }


def summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)],
        "max": ordered[-1],
    }


def http_table_bytes(data_dir: Path, project_id: int, rows: int) -> dict[str, Any]:
    """The HTTP-ingested table as the worker left it, then compacted and vacuumed."""
    paths = ProjectPaths(data_dir, project_id)
    before = table_bytes(paths.events)
    compact(paths)
    return {"rows": rows, "as_left": before, "compacted": table_bytes(paths.events)}


# ---------------------------------------------------------------- 3: the dataset, bytes on disk


def table_bytes(root: Path) -> dict[str, int]:
    """Files and bytes under a Delta table's directory: data files and the _delta_log."""
    out = {"data_files": 0, "data_bytes": 0, "log_bytes": 0}
    for directory, _, files in os.walk(root):
        in_log = "_delta_log" in Path(directory).relative_to(root).parts
        for name in files:
            size = (Path(directory) / name).stat().st_size
            if in_log:
                out["log_bytes"] += size
            elif name.endswith(".parquet"):
                out["data_files"] += 1
                out["data_bytes"] += size
    out["total_bytes"] = out["data_bytes"] + out["log_bytes"]
    return out


def compact(paths: ProjectPaths) -> float:
    """Force compaction of every shard with more than one part, then drop the removed files."""
    began = time.perf_counter()
    settings = Settings(compaction_trigger_parts=1)
    compact_project(EventTable(paths.events), DeletionList(paths.deletions), settings)
    seconds = time.perf_counter() - began
    DeltaTable(str(paths.events)).vacuum(
        retention_hours=0, dry_run=False, enforce_retention_duration=False
    )
    return seconds


def dataset_phase(options: Options) -> dict[str, Any]:
    """Writes ``read_events`` generated events (or reuses a complete earlier copy)."""
    n = options.read_events
    data_dir = options.data_root / f"read-{n}-seed{options.seed}"
    marker = data_dir / "bench-dataset.json"
    if marker.exists():
        found: dict[str, Any] = orjson.loads(marker.read_bytes())
        if found.get("format") == DATASET_FORMAT:
            print(f"  reusing the dataset in {data_dir}", file=sys.stderr)
            return found | {"reused": True}
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    project = ProjectCatalog(data_dir).create("read")
    paths = ProjectPaths(data_dir, project.id)
    table = EventTable(paths.events)
    # The vectorised tables must equal what the storage worker would make of the same events.
    check_equivalence(project.shards, options.seed)
    end_ms = int(time.time() * 1000)
    users = max(1, n // 10)
    began = time.perf_counter()
    everything = generate(
        n, users, days=options.days, start_ms=end_ms - options.days * DAY_MS, seed=options.seed
    )
    chunks = max(1, math.ceil(n / options.chunk_events))
    # Each commit is a time slice, as a day's arrivals or a backfill's batches would be.
    slices = time_slices(everything, chunks)
    del everything
    known = Users(users)
    timings = {"generate_s": time.perf_counter() - began, "delta_write_s": 0.0}
    timings["plain_write_s"] = 0.0
    plain = {
        "arrival": data_dir / "plain-arrival-order.zstd.parquet",
        "trackway": data_dir / "plain-trackway-order.zstd.parquet",
    }
    writers: dict[str, pq.ParquetWriter] = {}
    json_bytes = written = 0
    for k, piece in enumerate(slices):
        began = time.perf_counter()
        sdk = with_sdk_fields(piece, known, options.seed * 1000 + k)
        events = sdk.table(project.shards)
        json_bytes += sdk.json_lines_bytes()
        generated = time.perf_counter()
        table.append(events, {})
        appended = time.perf_counter()
        flat = events.drop_columns(["shard"])
        for name, rows in (("arrival", flat.sort_by("time")), ("trackway", flat)):
            if name not in writers:
                writers[name] = pq.ParquetWriter(
                    plain[name], rows.schema, compression="zstd", compression_level=3
                )
            writers[name].write_table(conform(rows, writers[name].schema))
        timings["generate_s"] += generated - began
        timings["delta_write_s"] += appended - generated
        timings["plain_write_s"] += time.perf_counter() - appended
        written += len(sdk)
        print(f"  wrote {written:,} of {n:,} events", file=sys.stderr)
    for writer in writers.values():
        writer.close()
    before = table_bytes(paths.events)
    timings["compact_s"] = compact(paths)
    result = {
        "format": DATASET_FORMAT,
        "events": n,
        "users": users,
        "chunks": chunks,
        "data_dir": str(data_dir),
        "project_id": project.id,
        "json_lines_bytes": json_bytes,
        "plain_parquet_bytes": {name: path.stat().st_size for name, path in plain.items()},
        "table_before_compaction": before,
        "table_compacted": table_bytes(paths.events),
        "timings": timings,
    }
    marker.write_bytes(orjson.dumps(result))
    return result | {"reused": False}


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns (nulls for those it lacks), in its order."""
    columns = [
        table.column(f.name) if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in schema
    ]
    return pa.table(columns, schema=schema)


# ---------------------------------------------------------------- 4: reads, one process each


def _trackway(data_dir: Path, project_id: int) -> Callable[[], int]:
    reader = EventReader(data_dir, Settings.from_env().scan_cache_bytes)
    project = ProjectCatalog(data_dir).by_id(project_id)
    assert project is not None
    return lambda: sum(s.rows for s in reader.scan(project, READ_COLUMNS))


def _deltalake(data_dir: Path, project_id: int) -> Callable[[], int]:
    path = str(ProjectPaths(data_dir, project_id).events)
    return lambda: DeltaTable(path).to_pyarrow_table(columns=list(READ_COLUMNS)).num_rows


def _duckdb_dataset(data_dir: Path, project_id: int) -> Callable[[], int]:
    import duckdb  # noqa: PLC0415 - only this engine's process needs it

    path = str(ProjectPaths(data_dir, project_id).events)
    connection = duckdb.connect(config={"autoinstall_known_extensions": False})

    def read() -> int:
        connection.register("events", DeltaTable(path).to_pyarrow_dataset())
        return int(
            connection.sql("SELECT user_hash, time, event FROM events").to_arrow_table().num_rows
        )

    return read


def _duckdb_parquet(data_dir: Path, project_id: int) -> Callable[[], int]:
    """DuckDB's own Parquet reader over the files of the table's current version."""
    import duckdb  # noqa: PLC0415 - only this engine's process needs it

    path = str(ProjectPaths(data_dir, project_id).events)
    connection = duckdb.connect(config={"autoinstall_known_extensions": False})

    def read() -> int:
        files = DeltaTable(path).file_uris()
        query = "SELECT user_hash, time, event FROM read_parquet($files)"
        table = connection.execute(query, {"files": files}).to_arrow_table()
        assert table is not None
        return int(table.num_rows)

    return read


def _polars(data_dir: Path, project_id: int) -> Callable[[], int]:
    import polars as pl  # noqa: PLC0415 - only this engine's process needs it

    path = str(ProjectPaths(data_dir, project_id).events)
    return lambda: pl.read_delta(path, columns=list(READ_COLUMNS)).height


ENGINES: dict[str, tuple[str, Callable[[Path, int], Callable[[], int]]]] = {
    "trackway": ("trackway EventReader.scan", _trackway),
    "deltalake": ("deltalake to_pyarrow_table", _deltalake),
    "duckdb": ("duckdb over deltalake dataset", _duckdb_dataset),
    "duckdb-parquet": ("duckdb read_parquet(live files)", _duckdb_parquet),
    "polars": ("polars read_delta", _polars),
}


def read_child(engine: str, data_dir: Path, project_id: int, warm_runs: int) -> None:
    """Runs in a fresh process: one cold read, then ``warm_runs`` warm ones; prints JSON."""
    read = ENGINES[engine][1](data_dir, project_id)
    began, cpu = time.perf_counter(), time.process_time()
    rows = read()
    cold_s, cold_cpu = time.perf_counter() - began, time.process_time() - cpu
    warm = []
    for _ in range(warm_runs):
        began = time.perf_counter()
        if read() != rows:
            raise RuntimeError(f"{engine} returned a different row count on a warm read")
        warm.append(time.perf_counter() - began)
    report = {
        "rows": rows,
        "cold_s": cold_s,
        "cold_cpu_s": cold_cpu,
        "warm_s": warm,
        "max_rss_mb": peak_rss_mb(),
    }
    sys.stdout.buffer.write(orjson.dumps(report) + b"\n")
    sys.stdout.flush()
    # Skip interpreter teardown: deltalake's and Arrow's thread pools can abort the process
    # there ("terminate called without an active exception", delta-io/delta-rs#2184,
    # pola-rs/polars#24169) after the work is done and reported.
    os._exit(0)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss, not inherited over exec)."""
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def duckdb_delta_extension() -> str:
    """Whether DuckDB's delta extension loads without a download (installing needs network)."""
    import duckdb  # noqa: PLC0415 - only this check needs it

    connection = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        connection.execute("LOAD delta")
    except duckdb.Error as exc:
        return f"unavailable offline ({str(exc).splitlines()[0][:90]})"
    return "loads"


def warm_page_cache(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            with open(Path(directory) / name, "rb") as file:
                while file.read(1 << 24):
                    pass


def read_phase(options: Options, dataset: dict[str, Any]) -> dict[str, Any]:
    data_dir = Path(dataset["data_dir"])
    warm_page_cache(ProjectPaths(data_dir, dataset["project_id"]).events)
    runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in options.engines}
    errors: dict[str, str] = {}
    for run in range(options.cold_runs):
        for engine in options.engines:  # interleaved, so drift hits every engine alike
            if engine in errors:
                continue
            command = [sys.executable, "-m", "bench.storage", "_read", engine, str(data_dir)]
            command += [str(dataset["project_id"]), str(options.warm_runs)]
            out = subprocess.run(command, cwd=ROOT, capture_output=True, timeout=600, check=False)
            if out.returncode != 0:
                errors[engine] = out.stderr.decode(errors="replace")[-1500:]
                continue
            runs[engine].append(orjson.loads(out.stdout.splitlines()[-1]))
            print(f"  read run {run + 1}: {engine} done", file=sys.stderr)
    results = {}
    for engine, reports in runs.items():
        if not reports:
            continue
        warm = [s for r in reports for s in r["warm_s"]]
        results[engine] = {
            "label": ENGINES[engine][0],
            "rows": reports[0]["rows"],
            "cold_s": statistics.median(r["cold_s"] for r in reports),
            "cold_cpu_s": statistics.median(r["cold_cpu_s"] for r in reports),
            "warm_s": statistics.median(warm) if warm else None,
            "max_rss_mb": max(r["max_rss_mb"] for r in reports),
            "runs": reports,
        }
    return {
        "engines": results,
        "errors": errors,
        "duckdb_delta_extension": duckdb_delta_extension(),
    }


# ---------------------------------------------------------------- the report


def print_report(options: Options, results: dict[str, Any]) -> None:
    ingest = results.get("ingest")
    if ingest is not None:
        pinned = (
            f"pinned to core {options.server_core}"
            if options.server_core is not None
            else f"on {ingest['server_cores']} cores"
        )
        load = ingest["load"]
        print(
            f"\n1. ingest -> stored: trackway serve (HTTP + storage worker) {pinned}; "
            f"{options.duration_s:g} s of load, {options.connections} connections, "
            f"{options.batch_events}-event batches"
        )
        rows: list[tuple[str, ...]] = [
            ("events acknowledged", f"{ingest['acked_events']:,}", f"{load['failed']} failed"),
            ("acked events/s", f"{ingest['acked_per_s']:,.0f}", f"over {ingest['load_s']:.1f} s"),
            (
                "all stored after",
                f"{ingest['stored_after_s']:.1f} s",
                f"{ingest['drain_after_load_s']:.2f} s after the last ack",
            ),
            (
                "ack -> stored events/s",
                f"{ingest['stored_per_s']:,.0f}",
                f"{ingest['stored_per_s_per_core']:,.0f} per core",
            ),
            (
                "server CPU-s per 1M events",
                f"{ingest['cpu_s_per_million']:.1f}",
                f"HTTP {ingest['http_cpu_s_per_million']:.1f} + worker "
                f"{ingest['worker_cpu_s_per_million']:.1f}; core busy "
                f"{ingest['server_core_share']:.0%}",
            ),
            (
                "worker backlog, max",
                f"{ingest['max_backlog_bytes'] / 1e6:.1f} MB",
                "of log not yet committed to the table",
            ),
            (
                "rows in the Delta table",
                f"{ingest['stored_rows']:,}",
                f"expected {ingest['expected_rows']:,}; {ingest['distinct_insert_ids']:,} "
                f"distinct insert_ids; version {ingest['table_version']}",
            ),
        ]
        _table(("", "value", "note"), rows)
        probes = ingest["probes"]
        print(
            f"\n2. freshness: {probes['acked']} probes, one every {probes['interval_s']:.2f} s "
            "during the load"
        )
        _table(
            ("from the ack until", "p50 s", "p99 s", "max s", "n"),
            [
                ("returned by EventReader.scan", *_pcts(probes["visible_s"])),
                ("committed to the Delta table", *_pcts(probes["committed_s"])),
                ("(one scan of one shard)", *_pcts(probes["scan_s"])),
            ],
        )
        if probes["errors"]:
            print(f"probe errors: {probes['errors'][:3]}")
    dataset = results.get("dataset")
    if dataset is not None:
        n = dataset["events"]
        json_bytes = dataset["json_lines_bytes"]
        before, after = dataset["table_before_compaction"], dataset["table_compacted"]
        plain = dataset["plain_parquet_bytes"]
        print(
            f"\n3. bytes on disk: {n:,} generated events ({dataset['users']:,} users), "
            f"written in {dataset['chunks']} commits"
        )

        def size_row(label: str, size: int, files: str) -> tuple[str, ...]:
            return (
                label,
                f"{size / 1e6:,.1f}",
                f"{size / n:.1f}",
                f"{json_bytes / size:.1f}x",
                files,
            )

        rows = [
            size_row("JSON lines (normal form)", json_bytes, "1"),
            size_row("plain Parquet zstd, arrival order", plain["arrival"], "1"),
            size_row("plain Parquet zstd, trackway order", plain["trackway"], "1"),
            size_row("Delta table as written", before["total_bytes"], str(before["data_files"])),
            size_row(
                "Delta table compacted+vacuumed", after["total_bytes"], str(after["data_files"])
            ),
        ]
        if ingest is not None:
            http = ingest["bytes"]
            m = http["rows"]
            for label, sizes in (("as left", http["as_left"]), ("compacted", http["compacted"])):
                size = sizes["total_bytes"]
                rows.append(
                    (
                        f"HTTP-ingested table {label} *",
                        f"{size / 1e6:,.1f}",
                        f"{size / m:.1f}",
                        "",
                        str(sizes["data_files"]),
                    )
                )
        _table(("", "MB", "bytes/event", "JSON/x", "files"), rows)
        if ingest is not None:
            print(
                f"* the {ingest['bytes']['rows']:,} events of part 1: {options.pool_batches} "
                "request bodies reused with fresh $insert_ids, so they compress better than real data"
            )
        timings = dataset["timings"]
        if not dataset["reused"]:
            print(
                f"generate {timings['generate_s']:.1f} s, Delta appends {timings['delta_write_s']:.1f} s "
                f"({n / timings['delta_write_s']:,.0f} ev/s), compaction {timings['compact_s']:.1f} s "
                f"({n / timings['compact_s']:,.0f} ev/s)"
            )
    reads = results.get("reads")
    if reads is not None and dataset is not None:
        print(
            f"\n4. read {', '.join(READ_COLUMNS)} of {dataset['events']:,} events: median of "
            f"{options.cold_runs} fresh processes (cold; OS cache warm) and of their "
            f"{options.warm_runs} later calls (warm)"
        )
        rows = []
        for engine in reads["engines"].values():
            warm = engine["warm_s"]
            rows.append(
                (
                    engine["label"],
                    f"{engine['cold_s']:.2f}",
                    "-" if warm is None else f"{warm:.2f}",
                    f"{engine['cold_cpu_s'] / engine['cold_s']:.1f}",
                    f"{engine['max_rss_mb']:,.0f}",
                    f"{engine['rows']:,}",
                )
            )
        _table(("", "cold s", "warm s", "cores", "max RSS MB", "rows"), rows)
        print(f"duckdb delta extension: {reads['duckdb_delta_extension']}")
        for engine, error in reads["errors"].items():
            print(f"{engine} failed: {error.strip().splitlines()[-1] if error.strip() else '?'}")


def _pcts(values: dict[str, Any]) -> tuple[str, ...]:
    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    return (fmt(values["p50"]), fmt(values["p99"]), fmt(values["max"]), str(values["n"]))


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """Aligned columns: the first (and a trailing "note") left, numbers right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    left = {0, len(header) - 1} if header[-1] == "note" else {0}
    for row in [header, *rows]:
        cells = [
            cell.ljust(widths[i]) if i in left else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        print("  ".join(cells).rstrip())


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str]) -> tuple[Options, argparse.Namespace]:
    cores = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(
        prog="python -m bench.storage", description=__doc__.split("\n")[0]
    )
    add = parser.add_argument
    add("--phases", default="ingest,read", help="ingest (1, 2) and/or read (3, 4)")
    add("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    add("--connections", type=int, default=64, help="keep-alive connections (default 64)")
    add("--batch", type=int, default=50, help="events per request (default 50)")
    add("--pool", type=int, default=1000, help="distinct request bodies (default 1000)")
    add("--probes", type=int, default=100, help="freshness probes at most (default 100)")
    add("--probe-interval", type=float, default=0.1, help="seconds between probes, at least")
    add("--read-events", "--events", type=int, default=10_000_000, help="dataset size (10M)")
    add("--chunk", type=int, default=1_000_000, help="events per Delta commit (default 1M)")
    add("--days", type=int, default=30, help="days the dataset spans (default 30)")
    add("--cold-runs", type=int, default=3, help="fresh processes per engine (default 3)")
    add("--warm-runs", type=int, default=2, help="warm reads per process (default 2)")
    add("--engines", default=",".join(ENGINES), help=f"read engines (default {','.join(ENGINES)})")
    add("--seed", type=int, default=42)
    add("--server-core", type=int, default=cores[0], help="-1: do not pin the server")
    add("--generator-core", type=int, default=cores[-1], help="-1: do not pin the load")
    add("--data-root", type=Path, help="keep data here and reuse the dataset (default: temp)")
    add("--drain-timeout", type=float, default=300.0, help="seconds to wait for the worker")
    add("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    engines = tuple(e for e in args.engines.split(",") if e)
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engines {unknown}; choose from {list(ENGINES)}")
    options = Options(
        phases=frozenset(args.phases.split(",")),
        duration_s=args.duration,
        connections=args.connections,
        batch_events=args.batch,
        pool_batches=args.pool,
        probes=args.probes,
        probe_interval_s=args.probe_interval,
        read_events=args.read_events,
        chunk_events=args.chunk,
        days=args.days,
        cold_runs=args.cold_runs,
        warm_runs=args.warm_runs,
        engines=engines,
        seed=args.seed,
        server_core=None if args.server_core < 0 else args.server_core,
        generator_core=None if args.generator_core < 0 else args.generator_core,
        data_root=args.data_root or Path(tempfile.mkdtemp(prefix="trackway-storage-bench-")),
        drain_timeout_s=args.drain_timeout,
    )
    return options, args


def source_state() -> dict[str, str]:
    """The commit measured and whether src/ had uncommitted changes (others edit it)."""

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, timeout=30, check=False)
        return out.stdout.decode(errors="replace").strip()

    return {"commit": git("rev-parse", "HEAD"), "src_changes": git("status", "--short", "src")}


def main(argv: list[str]) -> int:
    if argv[:1] == ["_read"]:
        read_child(argv[1], Path(argv[2]), int(argv[3]), int(argv[4]))
        return 0
    options, args = parse_args(argv)
    options.data_root.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"load_average": {"start": os.getloadavg()}}
    began = time.monotonic()
    try:
        if "ingest" in options.phases:
            print("1-2. ingest -> stored, with freshness probes ...", file=sys.stderr)
            results["ingest"] = ingest_phase(options)
            results["load_average"]["after_ingest"] = os.getloadavg()
        if "read" in options.phases:
            print(f"3. writing {options.read_events:,} events ...", file=sys.stderr)
            results["dataset"] = dataset_phase(options)
            print("4. reads ...", file=sys.stderr)
            results["reads"] = read_phase(options, results["dataset"])
            results["load_average"]["after_reads"] = os.getloadavg()
    finally:
        if args.data_root is None:
            shutil.rmtree(options.data_root, ignore_errors=True)
    results["total_s"] = time.monotonic() - began
    results["source"] = source_state()
    print_report(options, results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    options_json = asdict(options) | {
        "phases": sorted(options.phases),
        "data_root": str(options.data_root),
    }
    args.out.write_bytes(
        orjson.dumps({"options": options_json, "results": results}, option=orjson.OPT_INDENT_2)
    )
    loads = ", ".join(f"{k} {v[0]:.1f}" for k, v in results["load_average"].items())
    print(f"\nload average (1 min; {os.cpu_count()} cores): {loads}")
    print(f"total {results['total_s']:.0f} s; results in {args.out}")
    ingest = results.get("ingest")
    if ingest is not None and (
        ingest["load"]["failed"] or ingest["stored_rows"] != ingest["expected_rows"]
    ):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
