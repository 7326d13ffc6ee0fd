"""Ingest throughput per core: ``trackway serve``, its ingest app alone, and the floor.

Each server runs pinned to one core; the load generator runs in separate processes pinned
to another, so neither steals the other's cycles. For each server the same closed-loop load
(keep-alive connections, browser-SDK ``/track`` batches) runs for a warm-up and then a
measured window, and the report gives events/s, server CPU-seconds per million events,
latency percentiles and the fsyncs that made them durable. The floor (bench/floor.py) does
only the decoding and group commit any server must do, so (a)/(b) is the share of the
achievable rate that trackway reaches; (a') is trackway's ingest app without the storage
worker that ``trackway serve`` also starts.

    .venv/bin/python -m bench.ingest                 # three servers, about a minute
    .venv/bin/python -m bench.ingest --duration 20   # a longer measured window
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from bench.loadgen import GeneratorConfig, run_generator
from bench.processes import (
    cpu_seconds,
    descendants,
    free_port,
    log_thread_writes,
    reap,
    stop,
    wait_listening,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "ingest.json"
TARGET_RATIO = 0.8
# Above this share of its core, a process is the bottleneck rather than the thing measured.
SATURATED = 0.9


@dataclass(frozen=True, slots=True)
class ServerSpec:
    name: str  # the row label
    argv: tuple[str, ...]  # the command after the interpreter; {port}, {data_dir} filled in
    log: str  # how to count its log: "trackway" (log dump) or "floor" (raw frames)


_UVICORN = ("--host", "127.0.0.1", "--port", "{port}", "--workers", "1", "--log-level", "warning")
SERVERS = {
    # What users run: the ingest process plus, since the storage layer, a storage-worker child
    # that turns the log into Delta tables. Both stay on the server's core.
    "trackway": ServerSpec(
        "(a) trackway",
        ("-m", "trackway.cli", "serve", *_UVICORN, "--data-dir", "{data_dir}"),
        "trackway",
    ),
    # The same ingest app under the same uvicorn settings `trackway serve` passes, without
    # the storage worker: the like-for-like comparison with the floor.
    "ingest": ServerSpec(
        "(a') ingest",
        (
            "-m",
            "uvicorn",
            "trackway.server:create_app",
            "--factory",
            *_UVICORN,
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
        ),
        "trackway",
    ),
    "floor": ServerSpec(
        "(b) floor",
        ("-m", "bench.floor", "--port", "{port}", "--data-dir", "{data_dir}"),
        "floor",
    ),
}
# One segment holds the whole run, so no consumed segment is deleted before the log is
# counted (the storage worker deletes segments it has stored; never the last one).
_SERVER_ENV = {
    "TRACKWAY_RATE_LIMIT_EVENTS_PER_MINUTE": "0",
    "TRACKWAY_LOG_SEGMENT_BYTES": str(16 * 1024**3),
}


@dataclass(frozen=True, slots=True)
class Options:
    warmup_s: float
    duration_s: float
    connections: int
    generators: int
    batches: int
    events: int
    seed: int
    server_core: int
    generator_core: int
    data_root: Path
    verify: bool


# ---------------------------------------------------------------- one run


def create_project(data_dir: Path) -> str:
    command = ["-m", "trackway.cli", "project", "create", "bench", "--data-dir", str(data_dir)]
    out = subprocess.run(
        [sys.executable, *command, "--json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    token: str = orjson.loads(out.stdout)["token"]
    return token


def run_server(key: str, options: Options) -> dict[str, Any]:
    spec = SERVERS[key]
    data_dir = options.data_root / key
    data_dir.mkdir(parents=True)
    token = create_project(data_dir)
    port = free_port()
    argv = [arg.format(port=port, data_dir=data_dir) for arg in spec.argv]
    env = {**os.environ, **_SERVER_ENV, "TRACKWAY_DATA_DIR": str(data_dir)}
    server_log = options.data_root / f"{key}.server.log"
    with server_log.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, *argv], cwd=ROOT, env=env, stdout=log_file, stderr=log_file
        )
    started: list[int] = []
    try:
        # Pinned before it starts its event loop, log thread and children: they inherit it.
        os.sched_setaffinity(server.pid, {options.server_core})
        wait_listening(server, port, 30)
        started = descendants(server.pid)
        result = measure(spec.name, server.pid, port, token, options)
    except BaseException:
        stop(server)
        tail = server_log.read_text(errors="replace")[-3000:]
        print(f"{spec.name} failed; the end of its output:\n{tail}", file=sys.stderr)
        raise
    finally:
        stop(server)
        reap(started, server.pid)
    result["server_exit_code"] = server.returncode
    result["server_log_tail"] = server_log.read_text(errors="replace")[-2000:]
    if options.verify:
        counted = count_trackway(data_dir) if spec.log == "trackway" else count_floor(data_dir)
        result["verify"] = counted | {"acked_events": result["acked_events"]}
    return result


def measure(name: str, pid: int, port: int, token: str, options: Options) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    children = []
    for index in range(options.generators):
        share = options.connections // options.generators + (
            index < options.connections % options.generators
        )
        config = GeneratorConfig(
            index=index,
            core=options.generator_core,
            port=port,
            token=token,
            connections=share,
            batches=options.batches,
            events_per_batch=options.events,
            seed=options.seed,
            drain_timeout_s=15.0,
        )
        ours, theirs = ctx.Pipe()
        child = ctx.Process(
            target=run_generator,
            args=(config, options.warmup_s, options.duration_s, theirs),
            daemon=True,
        )
        child.start()
        pipes.append(ours)
        children.append(child)
    try:
        request_bytes = 0
        for pipe in pipes:
            if not pipe.poll(120):
                raise RuntimeError("a load generator did not get ready within 120 s")
            _, request_bytes = pipe.recv()
        start_at = time.monotonic() + 0.3
        for pipe in pipes:
            pipe.send(start_at)
        window_start = start_at + options.warmup_s
        time.sleep(max(0.0, window_start - time.monotonic()))
        cpu_before, main_before, writes_before, t_before = (
            cpu_seconds(pid),
            cpu_seconds(pid, tree=False),
            log_thread_writes(pid),
            time.monotonic(),
        )
        time.sleep(max(0.0, window_start + options.duration_s - time.monotonic()))
        cpu_after, main_after, writes_after, t_after = (
            cpu_seconds(pid),
            cpu_seconds(pid, tree=False),
            log_thread_writes(pid),
            time.monotonic(),
        )
        reports = []
        for pipe in pipes:
            if not pipe.poll(60):
                raise RuntimeError("a load generator did not report within 60 s")
            kind, report = pipe.recv()
            if kind != "report":
                raise RuntimeError(f"a load generator failed: {report}")
            reports.append(report)
    finally:
        for child in children:
            child.join(10)
            if child.is_alive():
                child.kill()
    fsyncs = (
        (writes_after - writes_before) // 2
        if writes_before is not None and writes_after is not None
        else None
    )
    result = summarise(name, options, reports, cpu_after - cpu_before, t_after - t_before, fsyncs)
    main_cpu = main_after - main_before
    return result | {
        "request_bytes": request_bytes,
        "server_main_process_cpu_s": main_cpu,
        "server_children_cpu_s": result["server_cpu_s"] - main_cpu,
    }


def summarise(
    name: str,
    options: Options,
    reports: list[dict[str, Any]],
    server_cpu_s: float,
    window_s: float,
    fsyncs: int | None,
) -> dict[str, Any]:
    latencies = sorted(latency for report in reports for latency in report["latencies"])
    window_requests = sum(report["window_ok"] for report in reports)
    events = window_requests * options.events
    generator_cpu = sum(report["cpu_s"] for report in reports)
    generator_window = max(report["window_s"] for report in reports)
    return {
        "name": name,
        "window_s": window_s,
        "requests": window_requests,
        "events": events,
        "events_per_s": events / window_s,
        "requests_per_s": window_requests / window_s,
        "server_cpu_s": server_cpu_s,
        "server_core_share": server_cpu_s / window_s,
        "cpu_s_per_million_events": server_cpu_s / events * 1e6 if events else None,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "fsyncs": fsyncs,
        "events_per_fsync": events / fsyncs if fsyncs else None,
        "generator_cpu_s": generator_cpu,
        "generator_core_share": generator_cpu / generator_window,
        "acked_events": sum(report["acked"] for report in reports) * options.events,
        "failed_requests": sum(report["failed"] for report in reports),
        "failures": [failure for report in reports for failure in report["failures"]][:5],
        "connection_errors": sum(report["connection_errors"] for report in reports),
        "drained": all(report["drained"] for report in reports),
    }


def percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# ---------------------------------------------------------------- verification


def count_trackway(data_dir: Path, timeout_s: float = 300.0) -> dict[str, Any]:
    """Events in the log as ``trackway log dump`` prints them, and whether every
    $insert_id is distinct."""
    dump = subprocess.Popen(
        [sys.executable, "-m", "trackway.cli", "log", "dump", "--data-dir", str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert dump.stdout is not None
    # A dump that hangs without printing would block the loop below: kill it at the deadline.
    watchdog = threading.Timer(timeout_s, dump.kill)
    watchdog.start()
    records = events = 0
    insert_ids: set[str] = set()
    try:
        for line in dump.stdout:
            record = orjson.loads(line)
            records += 1
            events += len(record["items"])
            insert_ids.update(item["properties"]["$insert_id"] for item in record["items"])
    finally:
        watchdog.cancel()
        dump.wait(30)
    return {
        "records": records,
        "logged_events": events,
        "distinct_insert_ids": len(insert_ids),
        "dump_failed": dump.returncode != 0,  # exited with an error or was killed
    }


def count_floor(data_dir: Path) -> dict[str, Any]:
    from trackway.log import replay  # noqa: PLC0415 - only verification needs it

    records = events = 0
    for _, entry in replay(data_dir / "log"):
        records += 1
        events += len(orjson.loads(entry.record_payload))
    return {"records": records, "logged_events": events}


# ---------------------------------------------------------------- report


def report(results: dict[str, dict[str, Any]], options: Options) -> list[str]:
    lines = [
        f"ingest: {options.connections} connections, {options.generators} generator process(es) "
        f"on core {options.generator_core}, server on core {options.server_core}, "
        f"{options.events} events/request, {options.warmup_s:g} s warm-up + "
        f"{options.duration_s:g} s measured",
        "",
        f"{'server':<14} {'events/s':>10} {'req/s':>8} {'CPU-s/1M ev':>12} {'srv core':>9} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'fsyncs':>7} {'ev/fsync':>9} {'gen core':>9}",
    ]
    for result in results.values():
        cpu = result["cpu_s_per_million_events"]
        per_fsync = result["events_per_fsync"]
        lines.append(
            f"{result['name']:<14} {result['events_per_s']:>10,.0f} {result['requests_per_s']:>8,.0f} "
            f"{cpu if cpu is not None else float('nan'):>12.2f} "
            f"{result['server_core_share']:>8.0%} {result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f} "
            f"{result['fsyncs'] if result['fsyncs'] is not None else '-':>7} "
            f"{per_fsync if per_fsync is not None else float('nan'):>9.0f} "
            f"{result['generator_core_share']:>8.0%}"
        )
    lines.append("")
    floor = results.get("floor")
    for key in ("trackway", "ingest"):
        ours = results.get(key)
        if ours is None or floor is None or not floor["events_per_s"]:
            continue
        name = ours["name"].split()[0]
        ratio = ours["events_per_s"] / floor["events_per_s"]
        lines.append(f"{f'events/s ratio {name}/(b):':<32}{ratio:.3f}")
        if ours["cpu_s_per_million_events"] and floor["cpu_s_per_million_events"]:
            cpu_ratio = ours["cpu_s_per_million_events"] / floor["cpu_s_per_million_events"]
            lines.append(f"{f'CPU per event ratio {name}/(b):':<32}{cpu_ratio:.2f}x")
        verdict = "MET" if ratio >= TARGET_RATIO else "NOT MET"
        lines.append(
            f"target: {name} must reach >= {TARGET_RATIO}x the events/s of (b) per core"
            f" -> {verdict}"
        )
    for result in results.values():
        lines.extend(_warnings(result))
    return lines


def _warnings(result: dict[str, Any]) -> list[str]:
    name = result["name"]
    lines = []
    if result["generator_core_share"] >= SATURATED:
        lines.append(
            f"WARNING {name}: the load generator used {result['generator_core_share']:.0%} of "
            "its core and may be the bottleneck; the rate is a lower bound"
        )
    else:
        capacity = result["requests_per_s"] / max(result["generator_core_share"], 1e-9)
        lines.append(
            f"{name}: the load generator used {result['generator_core_share']:.0%} of its core "
            f"at {result['requests_per_s']:,.0f} req/s (could drive ~{capacity:,.0f} req/s)"
        )
    if result["server_core_share"] < SATURATED:
        lines.append(
            f"NOTE {name}: the server used only {result['server_core_share']:.0%} of its core: "
            "it was waiting (fsync or load), not CPU-bound"
        )
    if result["failed_requests"] or result["connection_errors"] or not result["drained"]:
        lines.append(
            f"ERROR {name}: {result['failed_requests']} failed requests, "
            f"{result['connection_errors']} connection errors, drained={result['drained']}; "
            f"first failures: {result['failures']}"
        )
    if result["server_children_cpu_s"] > 0.01 * result["server_cpu_s"]:
        lines.append(
            f"{name}: of {result['server_cpu_s']:.2f} server CPU-s, "
            f"{result['server_children_cpu_s']:.2f} were its child processes' (storage worker)"
        )
    verify = result.get("verify")
    if verify is not None:
        logged, acked = verify["logged_events"], verify["acked_events"]
        status = "OK" if logged == acked else "MISMATCH"
        extra = ""
        if "distinct_insert_ids" in verify:
            extra = f", {verify['distinct_insert_ids']:,} distinct $insert_ids"
        if verify.get("dump_failed"):
            extra += " (the log dump failed or timed out)"
        lines.append(
            f"verify {name}: {logged:,} events in the log, {acked:,} acknowledged{extra} -> {status}"
        )
    return lines


# ---------------------------------------------------------------- entry point


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds (default 3)")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds (default 10)"
    )
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections (64)")
    parser.add_argument("--generators", type=int, default=1, help="generator processes (1)")
    parser.add_argument("--batches", type=int, default=300, help="distinct batches in the pool")
    parser.add_argument("--events", type=int, default=50, help="events per request (50)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the batch pool (42)")
    parser.add_argument("--server-core", type=int, default=0, help="core of the server (0)")
    parser.add_argument("--generator-core", type=int, default=1, help="core of the load (1)")
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated, run in this order (default {','.join(SERVERS)})",
    )
    parser.add_argument("--data-root", type=Path, help="where the servers' data goes (a temp dir)")
    parser.add_argument("--keep-data", action="store_true", help="keep the data afterwards")
    parser.add_argument("--no-verify", action="store_true", help="skip counting the logs")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the JSON results file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.events > 256 or args.events < 1:
        raise SystemExit("--events must be 1..256 (the $insert_id has 2 hex digits per event)")
    data_root: Path = args.data_root or Path(tempfile.mkdtemp(prefix="trackway-bench-"))
    data_root.mkdir(parents=True, exist_ok=True)
    options = Options(
        warmup_s=args.warmup,
        duration_s=args.duration,
        connections=args.connections,
        generators=args.generators,
        batches=args.batches,
        events=args.events,
        seed=args.seed,
        server_core=args.server_core,
        generator_core=args.generator_core,
        data_root=data_root,
        verify=not args.no_verify,
    )
    # This process only waits; keep it off the server's core.
    os.sched_setaffinity(0, {options.generator_core})
    keys = [key.strip() for key in args.servers.split(",") if key.strip()]
    unknown = [key for key in keys if key not in SERVERS]
    if unknown:
        raise SystemExit(f"--servers: expected some of {', '.join(SERVERS)}, got {unknown}")
    results: dict[str, dict[str, Any]] = {}
    try:
        for key in keys:
            print(f"running {SERVERS[key].name} ...", file=sys.stderr, flush=True)
            results[key] = run_server(key, options)
            # Flush the run's dirty pages now, not during the next run's fsyncs.
            os.sync()
    finally:
        if not args.keep_data:
            shutil.rmtree(data_root, ignore_errors=True)
    lines = report(results, options)
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(
        orjson.dumps(
            {
                "options": {**vars(args), "data_root": str(data_root)},
                "results": results,
                "report": lines,
            },
            option=orjson.OPT_INDENT_2,
            default=str,
        )
    )
    print(f"\nwrote {args.out}", file=sys.stderr)
    failed = any(
        result["failed_requests"]
        or result.get("verify", {}).get("logged_events")
        != result.get("verify", {}).get("acked_events")
        for result in results.values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
