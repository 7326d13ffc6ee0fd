"""kill -9 a process mid-stream: every offset it acknowledged is in the log exactly once."""

import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import trackway
from trackway.log.reader import read_entries
from trackway.log.writer import LogWriter

CHILD = """
import asyncio, sys
from pathlib import Path
from trackway.log import DurableAppender, LogWriter

async def worker(appender, first, step):
    number = first
    while True:
        payload = b"%d:" % number + b"x" * (number * 7919 % 3000)
        offset = await appender.append(payload)
        sys.stdout.write(f"{number} {offset}\\n")
        sys.stdout.flush()
        number += step

async def main():
    appender = DurableAppender(LogWriter(Path(sys.argv[1]), segment_bytes=64 * 1024))
    await asyncio.gather(*(worker(appender, first, 32) for first in range(32)))

asyncio.run(main())
"""


@pytest.mark.slow
@pytest.mark.timeout(60)
@pytest.mark.parametrize("acks_before_kill", [1, 2000])
def test_acknowledged_records_survive_kill_9(tmp_path: Path, acks_before_kill: int) -> None:
    source = str(Path(trackway.__file__).parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")])),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, env=env
    )
    assert child.stdout is not None
    lines = [child.stdout.readline() for _ in range(acks_before_kill)]
    child.send_signal(signal.SIGKILL)
    lines += child.stdout.readlines()  # acknowledged before the kill landed
    child.wait()
    child.stdout.close()
    acknowledged: dict[int, int] = {}
    for line in filter(None, (line.split() for line in lines)):
        acknowledged[int(line[0])] = int(line[1])
    assert len(acknowledged) >= acks_before_kill

    LogWriter(tmp_path).close()  # recovery, as the next process would do it
    stored: dict[int, bytes] = {}
    offset = 0
    while entries := read_entries(tmp_path, offset):
        stored.update((e.offset, e.record_payload) for e in entries)
        offset = entries[-1].next_offset

    numbers = [int(payload.split(b":")[0]) for payload in stored.values()]
    assert all(count == 1 for count in collections.Counter(numbers).values())
    for number, at in acknowledged.items():
        assert stored[at].startswith(b"%d:" % number)
