"""Files under sustained load: data files, Delta log entries and parts per shard over time.

    .venv/bin/python -m bench.files                                  # 30 minutes
    .venv/bin/python -m bench.files --duration 300 --retention 120   # a 5-minute look

``trackway serve`` (pinned to ``--server-core``) takes closed-loop ``/track`` load from
bench/loadgen.py's generator (pinned to ``--generator-core``) and a steady trickle of
``/engage`` updates for ``--duration`` seconds, with a short retention window
(``--retention``, ``--vacuum-interval``) so that the window passes several times within the
run. Every ``--sample`` seconds the bench counts, per table of the project (events, users):
data files on disk, the parts the latest version reads (and the most on one shard), log
entries (commits and checkpoints), and times one ``GET /versions`` (a reader reopening the
table). Bounded means the counts stop growing once the window has passed. The curve, the
storage worker's maintenance runs (from the server's log) and the options go to
bench/results/files.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import orjson
from deltalake import DeltaTable

from bench.loadgen import GeneratorConfig, run_generator
from bench.processes import descendants, free_port, reap, stop, wait_listening
from trackway.storage.events_table import parts_of
from trackway.storage.retention import log_entries

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "files.json"
CLI = (sys.executable, "-m", "trackway.cli")
TABLES = ("events", "users")
# The storage worker's line for each table it tidied (retention.py).
TIDIED = re.compile(r"tidied \S+/projects/\d+/(\w+) in ([0-9.]+) s")


@dataclass(frozen=True, slots=True)
class Options:
    duration_s: float
    sample_s: float
    retention_s: int
    vacuum_interval_s: int
    checkpoint_interval: int
    connections: int
    events: int
    engage_rps: float
    seed: int
    server_core: int
    generator_core: int
    data_root: Path


@dataclass(frozen=True, slots=True)
class Server:
    process: subprocess.Popen[bytes]
    port: int
    token: str
    secret: str
    data_dir: Path
    log: Path


def start_server(options: Options) -> Server:
    data_dir = options.data_root / "data"
    data_dir.mkdir(parents=True)
    created = subprocess.run(
        [*CLI, "project", "create", "bench", "--data-dir", str(data_dir), "--json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    project = orjson.loads(created.stdout)
    port = free_port()
    env = {
        **os.environ,
        "TRACKWAY_RATE_LIMIT_EVENTS_PER_MINUTE": "0",
        "TRACKWAY_RETENTION_MS": str(options.retention_s * 1000),
        "TRACKWAY_VACUUM_INTERVAL_MS": str(options.vacuum_interval_s * 1000),
        "TRACKWAY_CHECKPOINT_INTERVAL_COMMITS": str(options.checkpoint_interval),
    }
    log = options.data_root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
    # Pinned before it starts its event loop and its storage worker: they inherit it.
    os.sched_setaffinity(process.pid, {options.server_core})
    wait_listening(process, port, 30)
    return Server(process, port, project["token"], project["secret"], data_dir, log)


# ---------------------------------------------------------------- what is on disk


def table_counts(root: Path) -> dict[str, Any]:
    if not DeltaTable.is_deltatable(str(root)):
        return {"data_files": 0, "parts": 0, "parts_max_shard": 0, "log_entries": 0}
    data = [p for p in root.rglob("*.parquet") if "_delta_log" not in p.parts]
    table = DeltaTable(str(root))
    per_shard = Counter(part.shard for part in parts_of(table))
    return {
        "data_files": len(data),
        "data_bytes": sum(p.stat().st_size for p in data if p.exists()),
        "parts": sum(per_shard.values()),
        "parts_max_shard": max(per_shard.values(), default=0),
        "log_entries": log_entries(root),
        "checkpoints": len(list((root / "_delta_log").glob("*.checkpoint*.parquet"))),
        "version": table.version(),
    }


def reader_probe(server: Server) -> float | None:
    """Seconds for ``GET /versions``: the server's reader reopens the events table."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    auth = base64.b64encode(f"{server.secret}:".encode()).decode()
    try:
        connection.request(
            "GET", "/api/v1/projects/1/versions", None, {"Authorization": f"Basic {auth}"}
        )
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    return time.perf_counter() - started if response.status == 200 else None


def sample(server: Server, started: float) -> dict[str, Any]:
    project = server.data_dir / "projects" / "1"
    row: dict[str, Any] = {"t_s": round(time.monotonic() - started, 1)}
    for name in TABLES:
        row[name] = table_counts(project / name)
    row["versions_s"] = reader_probe(server)
    return row


# ---------------------------------------------------------------- profile updates


class EngageTrickle(threading.Thread):
    """Open-loop ``/engage`` batches at ``rps``: $set and $add on a pool of users."""

    def __init__(self, server: Server, rps: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.server, self.rps, self.rng = server, rps, random.Random(seed)
        self.halt = threading.Event()
        self.sent = 0
        self.failed = 0

    def run(self) -> None:
        if self.rps <= 0:
            return
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        start = time.monotonic()
        while not self.halt.is_set():
            updates = [
                {
                    "$token": self.server.token,
                    "$distinct_id": f"user-{self.rng.randrange(200_000)}",
                    "$set": {"plan": self.rng.choice(("free", "pro", "team")), "seen": self.sent},
                    "$add": {"visits": 1},
                }
                for _ in range(50)
            ]
            body = b"data=" + quote_from_bytes(base64.b64encode(orjson.dumps(updates))).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            try:
                connection.request("POST", "/engage/?verbose=1", body, headers)
                answer = connection.getresponse().read()
                self.failed += b'"status":1' not in answer
            except OSError:
                self.failed += 1
                connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
            self.sent += 1
            self.halt.wait(max(0.0, start + self.sent / self.rps - time.monotonic()))


# ---------------------------------------------------------------- the run


def run(options: Options) -> dict[str, Any]:
    server = start_server(options)
    started_pids = descendants(server.process.pid)
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    config = GeneratorConfig(
        index=0,
        core=options.generator_core,
        port=server.port,
        token=server.token,
        connections=options.connections,
        batches=300,
        events_per_batch=options.events,
        seed=options.seed,
        drain_timeout_s=15.0,
    )
    generator = ctx.Process(
        target=run_generator, args=(config, 0.0, options.duration_s, theirs), daemon=True
    )
    trickle = EngageTrickle(server, options.engage_rps, options.seed)
    curve: list[dict[str, Any]] = []
    try:
        generator.start()
        if not ours.poll(120):
            raise RuntimeError("the load generator did not get ready within 120 s")
        ours.recv()
        started = time.monotonic() + 0.3
        ours.send(started)
        trickle.start()
        next_sample = started
        while time.monotonic() < started + options.duration_s:
            time.sleep(max(0.0, next_sample - time.monotonic()))
            curve.append(sample(server, started))
            print_row(curve[-1], header=len(curve) == 1)
            next_sample += options.sample_s
        trickle.halt.set()
        if not ours.poll(120):
            raise RuntimeError("the load generator did not report within 120 s")
        kind, report = ours.recv()
        if kind != "report":
            raise RuntimeError(f"the load generator failed: {report}")
        curve.append(sample(server, started))
        print_row(curve[-1], header=False)
    finally:
        trickle.halt.set()
        generator.join(10)
        if generator.is_alive():
            generator.kill()
        stop(server.process)
        reap(started_pids, server.process.pid)
    tidied = [
        (m.group(1), float(m.group(2)))
        for m in TIDIED.finditer(server.log.read_text(errors="replace"))
    ]
    return {
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
        "acked_events": report["acked"] * options.events,
        "events_per_s": report["acked"] * options.events / max(report["window_s"], 1e-9),
        "failed_requests": report["failed"] + report["connection_errors"] + trickle.failed,
        "engage_requests": trickle.sent,
        "curve": curve,
        "maintenance_runs": len(tidied),
        "maintenance_max_s": max((s for _, s in tidied), default=0.0),
        "maintenance_total_s": sum(s for _, s in tidied),
    }


def print_row(row: dict[str, Any], header: bool) -> None:
    if header:
        print(
            f"{'t s':>7}  {'events: files':>13} {'parts':>5} {'max/sh':>6} {'log':>5} {'ckpt':>4}"
            f"  {'users: files':>12} {'parts':>5} {'log':>5}  {'versions ms':>11}"
        )
    e, u = row["events"], row["users"]
    probe = "fail" if row["versions_s"] is None else f"{row['versions_s'] * 1000:.1f}"
    print(
        f"{row['t_s']:>7.0f}  {e['data_files']:>13} {e['parts']:>5} {e['parts_max_shard']:>6} "
        f"{e['log_entries']:>5} {e.get('checkpoints', 0):>4}  {u['data_files']:>12} "
        f"{u['parts']:>5} {u['log_entries']:>5}  {probe:>11}",
        flush=True,
    )


def parse_args(argv: Sequence[str]) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.files", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds of load (1800)")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples (30)")
    parser.add_argument("--retention", type=int, default=300, help="retention window, s (300)")
    parser.add_argument("--vacuum-interval", type=int, default=30, help="tidy every, s (30)")
    parser.add_argument(
        "--checkpoint-interval", type=int, default=100, help="commits between checkpoints (100)"
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--events", type=int, default=50, help="events per /track request")
    parser.add_argument("--engage-rps", type=float, default=5.0, help="/engage requests/s (5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--generator-core", type=int, default=1)
    parser.add_argument("--data-root", type=Path, help="default: a temporary directory")
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    root = args.data_root or Path(tempfile.mkdtemp(prefix="trackway-bench-files-"))
    options = Options(
        duration_s=args.duration,
        sample_s=args.sample,
        retention_s=args.retention,
        vacuum_interval_s=args.vacuum_interval,
        checkpoint_interval=args.checkpoint_interval,
        connections=args.connections,
        events=args.events,
        engage_rps=args.engage_rps,
        seed=args.seed,
        server_core=args.server_core,
        generator_core=args.generator_core,
        data_root=root,
    )
    return options, args


def main(argv: Sequence[str] | None = None) -> int:
    options, args = parse_args(sys.argv[1:] if argv is None else argv)
    print(
        f"files: {options.duration_s:.0f} s of load, window {options.retention_s} s, tidy every "
        f"{options.vacuum_interval_s} s, sample every {options.sample_s:.0f} s",
        flush=True,
    )
    try:
        results = run(options)
    finally:
        if not args.keep_data and args.data_root is None:
            shutil.rmtree(options.data_root, ignore_errors=True)
    print(
        f"\n{results['acked_events']:,} events acknowledged ({results['events_per_s']:,.0f}/s), "
        f"{results['engage_requests']} /engage requests, {results['failed_requests']} failed"
    )
    print(
        f"storage worker maintenance: {results['maintenance_runs']} table tidies, longest "
        f"{results['maintenance_max_s']:.2f} s, {results['maintenance_total_s']:.1f} s in all"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"wrote {args.out}")
    return 1 if results["failed_requests"] else 0


if __name__ == "__main__":
    sys.exit(main())
