import asyncio
import errno
import threading
import time
from pathlib import Path

import pytest

from trackway.log.appender import DurableAppender
from trackway.log.errors import LogClosedError, LogWriteError
from trackway.log.reader import read_entries
from trackway.log.writer import LogWriter


class CountingWriter(LogWriter):
    """Counts syncs and makes each take a little while, as a real disk does."""

    syncs = 0
    fail_with: OSError | None = None

    def sync(self) -> None:
        assert threading.current_thread() is not threading.main_thread()
        self.syncs += 1
        time.sleep(0.002)
        if self.fail_with is not None:
            raise self.fail_with
        super().sync()


def test_concurrent_appends_share_fsyncs(tmp_path: Path) -> None:
    writer = CountingWriter(tmp_path)
    payloads = [b"record %d" % i for i in range(300)]

    async def main() -> list[int]:
        appender = DurableAppender(writer)
        offsets = await asyncio.gather(*(appender.append(p) for p in payloads))
        await appender.close()
        return offsets

    offsets = asyncio.run(main())
    writer.close()

    entries = read_entries(tmp_path, 0)
    assert [e.offset for e in entries] == offsets
    assert [e.record_payload for e in entries] == payloads
    assert writer.syncs < len(payloads) / 10


def test_a_lone_append_is_flushed_at_once(tmp_path: Path) -> None:
    writer = CountingWriter(tmp_path)

    async def main() -> None:
        appender = DurableAppender(writer)
        for i in range(5):
            await asyncio.wait_for(appender.append(b"%d" % i), timeout=1)
        await appender.close()

    asyncio.run(main())
    writer.close()
    assert writer.syncs == 5


def test_a_failed_sync_fails_every_waiting_append(tmp_path: Path) -> None:
    writer = CountingWriter(tmp_path)
    writer.fail_with = OSError(errno.EIO, "Input/output error")

    async def main() -> list[int | BaseException]:
        appender = DurableAppender(writer)
        results = await asyncio.gather(
            *(appender.append(b"x") for _ in range(50)), return_exceptions=True
        )
        await appender.close()
        return results

    results = asyncio.run(main())
    writer.close()
    assert all(isinstance(r, LogWriteError) for r in results)
    assert isinstance(results[0], LogWriteError)
    assert isinstance(results[0].__cause__, OSError)


def test_close_drains_and_then_refuses(tmp_path: Path) -> None:
    writer = CountingWriter(tmp_path)

    async def main() -> None:
        appender = DurableAppender(writer)
        pending = [asyncio.create_task(appender.append(b"%d" % i)) for i in range(20)]
        await asyncio.sleep(0)  # let every append submit
        await appender.close()
        assert all(task.done() and not task.exception() for task in pending)
        with pytest.raises(LogClosedError):
            await appender.append(b"late")

    asyncio.run(main())
    writer.close()
    assert len(read_entries(tmp_path, 0)) == 20
