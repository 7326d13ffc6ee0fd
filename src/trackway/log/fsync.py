"""The few file-system calls durability rests on, each named for what it guarantees."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def sync_data(fd: int) -> None:
    """Make a file's written bytes and its size durable."""
    if sys.platform == "linux":
        # Appends change the size, which fdatasync flushes too; it skips only the mtime.
        os.fdatasync(fd)
    else:
        os.fsync(fd)


def fsync_dir(path: Path) -> None:
    """Make the directory's entries durable: a new or renamed file is not, until this."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dir_durably(path: Path) -> None:
    """Create ``path`` (and missing parents) so that it survives a crash."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        fsync_dir(created.parent)


def replace_durably(path: Path, data: bytes) -> None:
    """Atomically give ``path`` the content ``data``: a crash leaves the old or the new file."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
