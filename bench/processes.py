"""The benchmark's view of the processes it starts: ports, start and stop, pinning to cores,
and what ``/proc`` says about their CPU time, memory and their log thread's writes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(process: subprocess.Popen[bytes], port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} on start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not listen on 127.0.0.1:{port} within {timeout_s} s")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 45.0) -> None:
    """SIGINT (uvicorn's graceful shutdown: the log drains and closes; `trackway serve` then
    waits up to 30 s for its storage worker), then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    queue = [pid]
    while queue and len(found) < 1000:
        current = queue.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as file:
                    queue.extend(int(child) for child in file.read().split())
            except OSError:
                continue
    return found


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """utime + stime of ``pid`` and (``tree``) every descendant, plus what reaped children
    used."""
    ticks = 0
    for process in descendants(pid) if tree else [pid]:
        try:
            with open(f"/proc/{process}/stat") as file:
                stat = file.read()
        except OSError:
            continue
        # Fields after the parenthesised command name; utime is field 14 overall.
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / CLOCK_TICKS


def log_thread_writes(pid: int) -> int | None:
    """Write syscalls of the server's threads other than the event loop's, None if unreadable.

    Only the log thread writes: per group-commit flush, one write of the batch to the segment
    and one to wake the event loop (uvloop's call_soon_threadsafe), around one fdatasync. So
    half of this counts fsyncs (checked against ``strace -c -e fdatasync``)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        for task in tasks:
            if int(task) == pid:
                continue
            with open(f"/proc/{pid}/task/{task}/io") as file:
                for line in file:
                    if line.startswith("syscw:"):
                        total += int(line.split()[1])
    except (OSError, ValueError):
        return None
    return total


def reap(pids: list[int], server_pid: int) -> None:
    """Stop the server's children that outlived it (by pid, only those it started)."""
    for pid in pids:
        if pid == server_pid:
            continue
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not alive(pid):
                break
            os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def memory_mb(pid: int) -> dict[str, float]:
    """The process's resident set now (VmRSS) and at its peak (VmHWM), in MB; empty if gone."""
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[{"VmRSS": "rss_mb", "VmHWM": "hwm_mb"}[key]] = int(value.split()[0]) / 1024
    except OSError:
        return {}
    return out


def pin(pid: int, cores: set[int]) -> None:
    """Every thread of ``pid`` to ``cores`` (``sched_setaffinity`` on a pid moves only the
    thread of that id; threads started later inherit their creator's)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return
    for task in tasks:
        with contextlib.suppress(OSError):  # a thread may end meanwhile
            os.sched_setaffinity(int(task), cores)


def thread_cores(pid: int) -> list[int]:
    """The cores any thread of ``pid`` may run on, to check a pinning held."""
    cores: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for task in tasks:
        with contextlib.suppress(OSError):
            cores |= os.sched_getaffinity(int(task))
    return sorted(cores)


def spawned_child(pid: int) -> int | None:
    """The child that ``multiprocessing``'s spawn start method made (``trackway serve``'s
    storage worker), told from its resource tracker by the command line."""
    for child in descendants(pid)[1:]:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as file:
                command = file.read()
        except OSError:
            continue
        if b"spawn_main" in command:
            return child
    return None
