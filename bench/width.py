"""Bounded width: requests that each bring hundreds of new property names, against the
per-project cap, then schema discovery on the project.

1. ``trackway serve`` on a fresh data directory takes ``--requests`` (20) requests
   ``POST /track?verbose=1&strict=1`` in a row on one keep-alive connection, each of
   ``--events`` (20) events with ``--names`` (250) property names no event used before. Per
   request: its latency as the client saw it, and how many events were stored and refused.
2. Once the storage worker has committed everything (its consumer offset reaches the log's
   end): ``GET /api/v1/projects/{id}/schema/properties`` ``--runs`` times (10) on the server
   (the first one cold for the server process), with its wall time and the server process's
   CPU time, then the same discovery (``query.schema.event_properties``) in ``--cold-runs``
   (5) fresh processes, each timing its one cold call in CPU and wall time.

    .venv/bin/python -m bench.width
    .venv/bin/python -m bench.width --cap 1000000   # no effective cap: how wide the table gets

Results go to ``bench/results/width.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.processes import cpu_seconds, descendants, free_port, reap, stop, wait_listening
from bench.storage import committed, create_project, log_end

ROOT = Path(__file__).resolve().parents[1]
DAY_MS = 86_400_000


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.width", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--events", type=int, default=20, help="events per request")
    parser.add_argument("--names", type=int, default=250, help="new property names per event")
    parser.add_argument("--runs", type=int, default=10, help="/schema/properties calls")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes, one call each")
    parser.add_argument(
        "--cap", type=int, help="TRACKWAY_MAX_PROPERTY_NAMES (default: the default)"
    )
    parser.add_argument("--data-root", type=Path, help="default: a temporary directory")
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "width.json")
    parser.add_argument("--schema-worker", nargs=3, metavar=("DATA_DIR", "PROJECT_ID", "WARM_ID"))
    args = parser.parse_args()
    if args.schema_worker:
        data_dir, project_id, warm_id = args.schema_worker
        return schema_worker(Path(data_dir), int(project_id), int(warm_id))
    root = args.data_root or Path(tempfile.mkdtemp(prefix="trackway-bench-width-"))
    try:
        result = run(args, root)
    finally:
        if not args.keep_data:
            shutil.rmtree(root, ignore_errors=True)
    report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    data_dir = root / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    project = create_project(data_dir)
    other = create_project(data_dir)
    env = {**os.environ, "TRACKWAY_STORAGE_POLL_MS": "50"}
    if args.cap is not None:
        env["TRACKWAY_MAX_PROPERTY_NAMES"] = str(args.cap)
    port = free_port()
    command = [sys.executable, "-m", "trackway.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"]
    log_path = root / "server.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=log_file)
    children: list[int] = []
    try:
        wait_listening(server, port, 60)
        children = descendants(server.pid)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        requests = send_requests(connection, args, project["token"], data_dir)
        warm_up(connection, other, data_dir)
        wait_committed(data_dir, 600)
        connection.close()
        auth = "Basic " + base64.b64encode(f"{project['secret']}:".encode()).decode()
        path = f"/api/v1/projects/{project['id']}/schema/properties?limit=100000"
        served = []
        for _ in range(args.runs):
            cpu = cpu_seconds(server.pid, tree=False)
            start = time.perf_counter()
            connection.request("GET", path, headers={"Authorization": auth})
            response = connection.getresponse()
            body = response.read()
            wall = time.perf_counter() - start
            if response.status != 200:
                raise RuntimeError(f"/schema/properties answered {response.status}: {body[:300]!r}")
            served.append(
                {
                    "wall_ms": wall * 1000,
                    "server_cpu_ms": (cpu_seconds(server.pid, tree=False) - cpu) * 1000,
                    "properties": len(orjson.loads(body)["properties"]),
                }
            )
        connection.close()
    finally:
        stop(server)
        reap(children, server.pid)
    cold = [cold_run(data_dir, project["id"], other["id"]) for _ in range(args.cold_runs)]
    return {
        "options": {k: str(v) for k, v in vars(args).items() if k != "schema_worker"},
        "load_average": os.getloadavg(),
        "requests": requests,
        "schema_served": served,
        "schema_cold": cold,
        "table": table_facts(data_dir, project["id"]),
    }


def send_requests(
    connection: http.client.HTTPConnection, args: argparse.Namespace, token: str, data_dir: Path
) -> list[dict[str, Any]]:
    """The requests, one after the other; after the first, the bench waits until the worker
    has committed what it stored (``committed_ms``, from its answer)."""
    out = []
    now_s = time.time()
    for r in range(args.requests):
        events = []
        for e in range(args.events):
            props: dict[str, Any] = {f"r{r}e{e}p{j}": j for j in range(args.names)}
            props.update(
                {"token": token, "distinct_id": f"user-{r}-{e}", "$insert_id": f"w{r}-{e}"}
            )
            props["time"] = now_s - 60
            events.append({"event": "Wide", "properties": props})
        body = orjson.dumps(events)
        start = time.perf_counter()
        connection.request(
            "POST", "/track?verbose=1&strict=1", body, {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        answer = orjson.loads(response.read())
        latency = time.perf_counter() - start
        stored = answer.get("num_records_imported", args.events if answer["status"] else 0)
        committed_ms = None
        if r == 0:
            wait_committed(data_dir, 600)
            committed_ms = (time.perf_counter() - start - latency) * 1000
            connection.close()  # the server drops idle connections: reconnect on the next
        out.append(
            {
                "latency_ms": latency * 1000,
                "committed_ms": committed_ms,
                "status": response.status,
                "stored": stored,
                "refused": len(answer.get("failed_records", [])),
                "first_error": (answer.get("failed_records") or [{}])[0].get("message"),
            }
        )
    return out


def warm_up(connection: http.client.HTTPConnection, other: dict[str, Any], data_dir: Path) -> None:
    """One event in another project, and its schema discovery: what a server process does
    once (imports, pyarrow's first array imports pandas, thread pools) is left out of the
    timings, and nothing of the wide project is cached by it."""
    event = {"event": "Warm", "properties": {"token": other["token"], "distinct_id": "w"}}
    connection.request("POST", "/track", orjson.dumps([event]))
    connection.getresponse().read()
    wait_committed(data_dir, 600)
    connection.close()  # the server drops idle connections: reconnect on the next request
    auth = "Basic " + base64.b64encode(f"{other['secret']}:".encode()).decode()
    connection.request(
        "GET", f"/api/v1/projects/{other['id']}/schema/properties", headers={"Authorization": auth}
    )
    connection.getresponse().read()


def wait_committed(data_dir: Path, timeout_s: float) -> None:
    end = log_end(data_dir)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = committed(data_dir)
        if all(done.get(writer, 0) >= offset for writer, offset in end.items()):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the storage worker did not commit the log within {timeout_s} s")


def cold_run(data_dir: Path, project_id: int, warm_id: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.width", "--schema-worker", str(data_dir)]
    command += [str(project_id), str(warm_id)]
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=3600)
    found: dict[str, Any] = orjson.loads(out.stdout.splitlines()[-1])
    return found


def schema_worker(data_dir: Path, project_id: int, warm_id: int) -> int:
    """One cold discovery in this fresh process, after one on the small project ``warm_id``
    (as the server's warm-up): imports and one-time set-up stay out of the timing."""
    from trackway.projects import ProjectCatalog  # noqa: PLC0415 - the worker's own imports
    from trackway.query import schema  # noqa: PLC0415
    from trackway.storage.scan import EventReader  # noqa: PLC0415

    catalog = ProjectCatalog(data_dir)
    project, warm = catalog.by_id(project_id), catalog.by_id(warm_id)
    assert project is not None and warm is not None
    reader = EventReader(data_dir, 1 << 30)
    now = int(time.time() * 1000)
    days = (now - 31 * DAY_MS, now)
    schema.event_properties(reader, warm, None, days, 100_000)
    cpu, wall = time.process_time(), time.perf_counter()
    found = schema.event_properties(reader, project, None, days, 100_000)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    line = {"cpu_ms": cpu * 1000, "wall_ms": wall * 1000, "properties": len(found)}
    print(orjson.dumps(line).decode(), flush=True)
    os._exit(0)  # deltalake's and Arrow's thread pools can abort an exiting process


def table_facts(data_dir: Path, project_id: int) -> dict[str, Any]:
    from deltalake import DeltaTable  # noqa: PLC0415

    from trackway.property_names import PropertyNames  # noqa: PLC0415

    table = DeltaTable(str(data_dir / "projects" / str(project_id) / "events"))
    actions = table.get_add_actions(flatten=True)
    return {
        "rows": table.to_pyarrow_dataset().count_rows(),
        "columns": len(table.schema().fields),
        "parts": len(actions),
        "event_property_names": len(PropertyNames(data_dir).names(project_id, "events")),
    }


def report(result: dict[str, Any]) -> None:
    requests = result["requests"]
    latencies = [r["latency_ms"] for r in requests]
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in result['load_average'])}")
    print("request  latency ms  stored  refused")
    for i, r in enumerate(requests):
        print(f"{i:7d}  {r['latency_ms']:10.1f}  {r['stored']:6d}  {r['refused']:7d}")
    print(
        f"latency ms: min {min(latencies):.1f}, median {statistics.median(latencies):.1f}, "
        f"max {max(latencies):.1f}"
    )
    print(f"the first request's events committed {requests[0]['committed_ms']:.0f} ms after it")
    refused = [r["first_error"] for r in requests if r["first_error"]]
    if refused:
        print(f"first refusal: {refused[0]}")
    table = result["table"]
    print(
        f"table: {table['rows']} rows, {table['columns']} columns, {table['parts']} parts; "
        f"{table['event_property_names']} event property names in the project"
    )
    served = result["schema_served"]
    walls = [s["wall_ms"] for s in served]
    print(
        f"/schema/properties over HTTP ({served[0]['properties']} properties): first "
        f"{walls[0]:.1f} ms (server CPU {served[0]['server_cpu_ms']:.0f} ms), then min "
        f"{min(walls[1:] or walls):.1f} ms, median {statistics.median(walls[1:] or walls):.1f} ms"
    )
    cold = result["schema_cold"]
    if cold:
        print(
            f"cold discovery in a fresh process, {len(cold)} runs: CPU min "
            f"{min(c['cpu_ms'] for c in cold):.1f} ms, median "
            f"{statistics.median(c['cpu_ms'] for c in cold):.1f} ms; wall min "
            f"{min(c['wall_ms'] for c in cold):.1f} ms"
        )
    print("target: refused past the cap in milliseconds; schema discovery <= 100 ms")


if __name__ == "__main__":
    sys.exit(main())
