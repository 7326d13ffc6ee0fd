"""Events and profile updates sent to a running ``trackway serve`` the way clients send them:
Mixpanel's ``/import`` (JSON array bodies of up to 2000 events, HTTP Basic with the
project's secret, ``strict=1``, gzip if asked) and ``/engage`` (``$set`` updates carrying
the project's token).

The rows to send are encoded once, vectorised, into one JSON object per row followed by a
comma (:func:`event_lines`, :func:`profile_lines`), in an Arrow IPC file of 2000-row
multiples per record batch. Client processes (:func:`send`) memory-map that file and cut
each request body out of it, so a body costs one copy, not a JSON encode, while the server
is measured. :func:`check_lines` compares a sample of the lines with what
``trackway.storage.columns.table_to_events`` (the slow, obviously-correct way) makes of the
same rows.
"""

from __future__ import annotations

import base64
import gzip
import multiprocessing
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import ipc

from trackway.storage.columns import FIXED, SENT_HASH, parse_property_column, table_to_events

BATCH = 2000  # Mixpanel's and trackway's most records per request
_ROWS_PER_RECORD_BATCH = BATCH * 256
# What a JSON string must not hold unescaped: the encoder writes strings as they are.
_UNSAFE = r'["\\\x00-\x1f]'


# --- Encoding -------------------------------------------------------------------------------


def _safe_strings(values: pa.Array, what: str) -> pa.Array:
    values = pc.cast(values, pa.string())
    if pc.any(pc.match_substring_regex(values, _UNSAFE)).as_py():
        raise ValueError(f"{what}: a value needs JSON escaping, which the encoder does not do")
    return values


def _quoted(values: pa.Array, what: str) -> pa.Array:
    return pc.binary_join_element_wise('"', _safe_strings(values, what), '"', "")


def _float_text(values: pa.Array, what: str) -> pa.Array:
    """Floats as JSON numbers that parse back to the same value and stay floats."""
    present = pc.drop_null(values)
    if not pc.all(pc.is_finite(present)).as_py():
        raise ValueError(f"{what}: NaN or infinity is not JSON")
    text = pc.cast(values, pa.string())
    whole = pc.invert(pc.match_substring_regex(text, r"[.eE]"))
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    if not pc.all(pc.equal(pc.cast(pc.drop_null(text), pa.float64()), present)).as_py():
        raise ValueError(f"{what}: the text of a float does not parse back to it")
    return text


def _value_text(column: pa.Array, kind: str, what: str) -> pa.Array:
    if kind == "s":
        return _quoted(column, what)
    if kind == "f":
        return _float_text(column, what)
    if kind == "i":
        return pc.cast(column, pa.string())
    if kind == "b":
        return pc.if_else(column, "true", "false")
    return _safe_strings(column, what)  # "j": the JSON text as stored


def event_lines(table: pa.Table) -> pa.Array:
    """Each stored row as the event a client sends: ``{"event": ..., "properties": {"time"
    (ms), "distinct_id", "$insert_id", <each non-null property>}},``. The receive time is
    the server's to add."""

    def column(name: str) -> pa.Array:
        return table.column(name).combine_chunks()

    pieces = [
        '{"event":',
        _quoted(column("event"), "event"),
        ',"properties":{"time":',
        pc.cast(column("time"), pa.string()),
        ',"distinct_id":',
        _quoted(column("distinct_id"), "distinct_id"),
        ',"$insert_id":',
        _quoted(column("insert_id"), "insert_id"),
    ]
    for name in table.column_names:
        parsed = parse_property_column(name)
        if parsed is None:
            if name not in FIXED and name != SENT_HASH:
                raise ValueError(f"Expected a stored column, got {name!r}")
            continue
        prop, kind = parsed
        key = orjson.dumps(prop).decode()
        if "\\" in key:
            raise ValueError(f"property name {prop!r} needs JSON escaping")
        text = _value_text(column(name), kind, name)
        # null where the row has no such property; the join below drops it.
        pieces.append(pc.binary_join_element_wise(f",{key}:", text, ""))
    pieces.append("}},")
    return pc.binary_join_element_wise(*pieces, "", null_handling="replace", null_replacement="")


def profile_lines(distinct_ids: pa.Array, properties: dict[str, pa.Array], token: str) -> pa.Array:
    """One ``$set`` update per id, as mixpanel-python's ``people_set`` sends it."""
    pieces: list[Any] = [
        f'{{"$token":"{token}","$distinct_id":',
        _quoted(distinct_ids, "$distinct_id"),
        ',"$set":{',
    ]
    for k, (name, values) in enumerate(properties.items()):
        kind = "f" if pa.types.is_floating(values.type) else "s"
        if pa.types.is_integer(values.type):
            kind = "i"
        pieces += [
            "," if k else "",
            f"{orjson.dumps(name).decode()}:",
            _value_text(values, kind, name),
        ]
    pieces.append("}},")
    return pc.binary_join_element_wise(*pieces, "")


def check_lines(table: pa.Table, lines: pa.Array, rows: list[int]) -> None:
    """Raise unless the lines of ``rows`` decode to the events ``table_to_events`` reads from
    the same rows (without the receive time, which the server adds)."""
    taken = table.take(pa.array(rows))
    expected = table_to_events(taken)
    for event in expected:
        del event["properties"]["mp_processing_time_ms"]
    got = orjson.loads("[" + "".join(lines.take(pa.array(rows)).to_pylist())[:-1] + "]")
    if got != expected:
        bad = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
        raise AssertionError(f"encoded event {rows[bad]} differs:\n{got[bad]}\n{expected[bad]}")


def write_events(table: pa.Table, path: Path, sample: int = 2000, seed: int = 0) -> int:
    """The rows of ``table`` in time order (ties as stored), encoded, to ``path``; a random
    sample of ``sample`` rows is checked against ``table_to_events``. Returns the rows."""
    table = table.take(pc.sort_indices(table, [("time", "ascending")]))
    rng = np.random.default_rng(seed)
    with pa.OSFile(str(path), "wb") as sink:
        writer = ipc.new_file(sink, pa.schema([("line", pa.string())]))
        for start in range(0, table.num_rows, _ROWS_PER_RECORD_BATCH):
            part = table.slice(start, _ROWS_PER_RECORD_BATCH)
            lines = event_lines(part)
            rows = sorted(set(rng.integers(0, part.num_rows, min(sample, part.num_rows)).tolist()))
            check_lines(part, lines, rows)
            writer.write_batch(pa.record_batch([lines], names=["line"]))
        writer.close()
    return int(table.num_rows)


def write_lines(lines: pa.Array, path: Path) -> int:
    with pa.OSFile(str(path), "wb") as sink:
        writer = ipc.new_file(sink, pa.schema([("line", pa.string())]))
        for start in range(0, len(lines), _ROWS_PER_RECORD_BATCH):
            chunk = lines.slice(start, _ROWS_PER_RECORD_BATCH)
            writer.write_batch(pa.record_batch([chunk], names=["line"]))
        writer.close()
    return len(lines)


# --- Sending --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how bodies go: ``/import`` with a secret, or ``/engage`` (tokens inside)."""

    port: int
    path: str  # with its query string
    secret: str | None  # HTTP Basic user name; None: no Authorization header
    gzip: bool = False

    @staticmethod
    def events(port: int, project_id: int, secret: str, gzip: bool = False) -> Target:
        return Target(port, f"/import?strict=1&project_id={project_id}", secret, gzip)

    @staticmethod
    def profiles(port: int, gzip: bool = False) -> Target:
        return Target(port, "/engage?strict=1&verbose=1", None, gzip)

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.secret is not None:
            token = base64.b64encode(f"{self.secret}:".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        if self.gzip:
            headers["Content-Encoding"] = "gzip"
        return headers


@dataclass(frozen=True, slots=True)
class Job:
    target: Target
    lines: str  # the IPC file of encoded lines
    batch: int
    client: int  # this client takes batches client, client + clients, ...
    clients: int
    connections: int


def _bodies(job: Job) -> Iterator[tuple[int, bytes]]:
    """(events, body) of each of this client's batches, cut from the memory-mapped lines."""
    reader = ipc.open_file(pa.memory_map(job.lines))
    number = 0
    for index in range(reader.num_record_batches):
        lines = reader.get_batch(index).column(0)
        offsets = np.frombuffer(lines.buffers()[1], np.int32)[
            lines.offset : lines.offset + len(lines) + 1
        ]
        data = lines.buffers()[2]
        for start in range(0, len(lines), job.batch):
            stop = min(start + job.batch, len(lines))
            if number % job.clients == job.client:
                # Every line ends with a comma: the body is the run of lines without the last.
                chunk = data[int(offsets[start]) : int(offsets[stop]) - 1].to_pybytes()
                yield stop - start, b"[" + chunk + b"]"
            number += 1


def _client(job: Job, pipe: Connection) -> None:
    """One client process: ready its bodies, wait for the start time, send them over
    ``connections`` keep-alive connections, report."""
    try:
        bodies: Any = _bodies(job)
        if job.target.gzip:  # compressed before the start, not while measured
            bodies = [(n, gzip.compress(body, 1)) for n, body in bodies]
        lock = threading.Lock()
        report: dict[str, Any] = {"events": 0, "requests": 0, "bytes": 0, "errors": []}
        acks: list[float] = []
        pipe.send(("ready", None))
        start_at = pipe.recv()
        time.sleep(max(0.0, start_at - time.monotonic()))
        cpu = time.process_time()

        def next_body() -> tuple[int, bytes] | None:
            with lock:
                return next(bodies, None) if not isinstance(bodies, list) else _pop(bodies)

        def connection() -> None:
            http = HTTPConnection("127.0.0.1", job.target.port, timeout=600)
            headers = job.target.headers()
            try:
                while (item := next_body()) is not None:
                    events, body = item
                    http.request("POST", job.target.path, body, headers)
                    response = http.getresponse()
                    answer = response.read()
                    ok = response.status == 200 and _accepted(answer, events)
                    with lock:
                        report["requests"] += 1
                        report["bytes"] += len(body)
                        if ok:
                            report["events"] += events
                            acks.append(time.monotonic())
                        elif len(report["errors"]) < 10:
                            report["errors"].append(f"{response.status} {answer[:300]!r}")
            finally:
                http.close()

        threads = [threading.Thread(target=connection) for _ in range(job.connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report["cpu_s"] = time.process_time() - cpu
        report["last_ack"] = max(acks, default=start_at)
        pipe.send(("report", report))
    except BaseException as exc:
        pipe.send(("error", repr(exc)))
        raise


def _pop(bodies: list[tuple[int, bytes]]) -> tuple[int, bytes] | None:
    # In order: the first batches (the oldest events) go first.
    return bodies.pop(0) if bodies else None


def _accepted(answer: bytes, events: int) -> bool:
    decoded = orjson.loads(answer)
    if isinstance(decoded, dict) and "num_records_imported" in decoded:
        return decoded.get("num_records_imported") == events
    return isinstance(decoded, dict) and decoded.get("status") == 1


def send(sources: list[tuple[Target, Path]], clients: int, connections: int) -> dict[str, Any]:
    """Send every line of each source's file to its target, in batches, from ``clients``
    processes per source with ``connections`` connections each, all starting at once. The
    report has the events acknowledged, the requests, the first send and the last
    acknowledgement (``time.monotonic``, one clock for every process on Linux), the
    clients' CPU-seconds and up to ten errors."""
    ctx = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for target, lines in sources:
        for client in range(clients):
            ours, theirs = ctx.Pipe()
            job = Job(target, str(lines), BATCH, client, clients, connections)
            process = ctx.Process(target=_client, args=(job, theirs), daemon=True)
            process.start()
            pipes.append(ours)
            processes.append(process)
    try:
        for pipe in pipes:
            kind, detail = _receive(pipe, 600)
            if kind != "ready":
                raise RuntimeError(f"an import client failed to start: {detail}")
        start_at = time.monotonic() + 0.2
        for pipe in pipes:
            pipe.send(start_at)
        reports = []
        for pipe in pipes:
            kind, detail = _receive(pipe, 7200)
            if kind != "report":
                raise RuntimeError(f"an import client failed: {detail}")
            reports.append(detail)
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    return {
        "start": start_at,
        "last_ack": max(r["last_ack"] for r in reports),
        "events": sum(r["events"] for r in reports),
        "requests": sum(r["requests"] for r in reports),
        "bytes": sum(r["bytes"] for r in reports),
        "client_cpu_s": sum(r["cpu_s"] for r in reports),
        "errors": [e for r in reports for e in r["errors"]][:10],
        "clients": clients * len(sources),
        "connections": connections,
        "gzip": any(target.gzip for target, _ in sources),
    }


def _receive(pipe: Connection, timeout_s: float) -> tuple[str, Any]:
    if not pipe.poll(timeout_s):
        raise RuntimeError(f"an import client did not answer within {timeout_s} s")
    kind, detail = pipe.recv()
    return str(kind), detail
