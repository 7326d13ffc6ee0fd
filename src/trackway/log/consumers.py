"""Consumer positions: one small file per consumer, ``consumers/{name}.offset``.

A consumer is registered by its first commit; from then on its position holds back the
deletion of segments it has not consumed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from trackway.log.errors import LogCorruptionError
from trackway.log.fsync import make_dir_durably, replace_durably

CONSUMERS_DIR = "consumers"
_SUFFIX = ".offset"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def check_consumer_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"Expected a consumer name of letters, digits, '_', '.', '-', got {name!r}"
        )
    return name


def read_offsets(writer_dir: Path) -> dict[str, int]:
    """Every registered consumer's committed offset."""
    directory = writer_dir / CONSUMERS_DIR
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return {}
    offsets = {}
    for name in names:
        if name.endswith(_SUFFIX):
            offsets[name.removesuffix(_SUFFIX)] = _read_offset(directory / name)
    return offsets


def read_offset(writer_dir: Path, consumer: str) -> int | None:
    try:
        return _read_offset(writer_dir / CONSUMERS_DIR / f"{consumer}{_SUFFIX}")
    except FileNotFoundError:
        return None


def store_offset(writer_dir: Path, consumer: str, offset: int) -> None:
    directory = writer_dir / CONSUMERS_DIR
    if not directory.is_dir():
        make_dir_durably(directory)
    replace_durably(directory / f"{consumer}{_SUFFIX}", b"%d\n" % offset)


def _read_offset(path: Path) -> int:
    text = path.read_text()
    try:
        return int(text)
    except ValueError:
        # Offsets are only ever replaced atomically, so a bad file is damage, not a crash.
        raise LogCorruptionError(f"Expected an offset in {path}, found {text[:40]!r}") from None
