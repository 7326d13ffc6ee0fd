"""Small durable files: atomic replacement, a cross-process lock, and the typed JSON documents
(the project catalog, saved definitions, deletions) built on both."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

import msgspec

D = TypeVar("D", bound=msgspec.Struct)
T = TypeVar("T")


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file, whole."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class JsonFile(Generic[D]):
    """A small JSON document of type ``D`` (a msgspec Struct whose fields all have defaults)
    that several processes share: a writer takes an exclusive lock, reads, changes and
    replaces the file atomically; a reader reads it whole, or only when it changed."""

    def __init__(self, path: Path, kind: type[D], pretty: bool = False) -> None:
        self.path = path
        self._kind = kind
        self._decoder = msgspec.json.Decoder(kind)
        self._pretty = pretty
        self._lock = threading.Lock()
        self._mtime_ns = -1
        self._cached = kind()

    def read(self) -> D:
        """The document as it is now (an empty one when the file does not exist)."""
        try:
            return self._decoder.decode(self.path.read_bytes())
        except FileNotFoundError:
            return self._kind()

    def current(self) -> D:
        """The document, read again only when the file changed since this object last read
        it (a stat per call keeps frequent readers cheap). Safe across threads."""
        self._refresh()
        return self._cached

    def changed(self) -> D | None:
        """The document when the file changed since this object last read it, else None."""
        return self._cached if self._refresh() else None

    def _refresh(self) -> bool:
        with self._lock:
            try:
                mtime_ns = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                return False
            if mtime_ns == self._mtime_ns:
                return False
            # Read before the time is recorded: another thread never sees the new time with
            # the old document.
            self._cached = self.read()
            self._mtime_ns = mtime_ns
            return True

    def update(self, change: Callable[[D], T]) -> T:
        """``change`` applied to the current document under the lock, which is then written;
        answers what ``change`` answers. An exception leaves the file as it was."""
        return self.revise(lambda document: (change(document), True))

    def revise(self, change: Callable[[D], tuple[T, bool]]) -> T:
        """``update`` for changes that often find nothing to do: ``change`` answers its result
        and whether it changed the document, and the file is written only when it did."""
        with exclusive_lock(self.path.with_suffix(".lock")):
            document = self.read()
            result, changed = change(document)
            if changed:
                data = msgspec.json.encode(document)
                atomic_write(self.path, msgspec.json.format(data) if self._pretty else data)
        return result
