"""Writer directories: one per ingest process, claimed with an exclusive lock.

Each process appends to its own ``writer-{N}`` directory, so processes never contend for a
file; the kernel drops a dead process's lock, letting the next process take over its
directory (and recover its torn tail) on start.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from trackway.log.fsync import make_dir_durably

WRITER_PREFIX = "writer-"
LOCK_NAME = "lock"


class WriterLock:
    """An exclusive claim on a writer directory, held until ``close`` or process exit."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the only descriptor releases the flock
            self._fd = -1

    def __enter__(self) -> WriterLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def claim_writer_dir(log_root: Path) -> tuple[Path, WriterLock]:
    """Lock the first free ``writer-{N}`` directory under ``log_root``, creating it if needed."""
    number = 0
    while True:
        directory = log_root / f"{WRITER_PREFIX}{number}"
        if not directory.is_dir():
            make_dir_durably(directory)
        fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            number += 1
            continue
        except BaseException:
            os.close(fd)
            raise
        return directory, WriterLock(fd)


def writer_dirs(log_root: Path) -> list[Path]:
    """Every writer directory under ``log_root``, in number order, locked or not."""
    try:
        names = os.listdir(log_root)
    except FileNotFoundError:
        return []
    numbers = [
        int(number)
        for name in names
        if name.startswith(WRITER_PREFIX)
        and (number := name.removeprefix(WRITER_PREFIX)).isdigit()
        and (log_root / name).is_dir()
    ]
    return [log_root / f"{WRITER_PREFIX}{number}" for number in sorted(numbers)]
