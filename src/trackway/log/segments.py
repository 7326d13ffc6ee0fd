"""Segment files: how a writer directory's files are named and listed.

A segment is named after the global byte offset of its first byte, zero-padded so that name
order is offset order: ``00000000000067108864.wal``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SEGMENT_SUFFIX = ".wal"
_DIGITS = 20


@dataclass(frozen=True, slots=True)
class Segment:
    base: int  # global offset of the segment's first byte
    path: Path


def segment_path(directory: Path, base: int) -> Path:
    return directory / f"{base:0{_DIGITS}d}{SEGMENT_SUFFIX}"


def list_segments(directory: Path) -> list[Segment]:
    """The directory's segments in offset order; other files are ignored."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    segments = []
    for name in names:
        stem = name.removesuffix(SEGMENT_SUFFIX)
        if name.endswith(SEGMENT_SUFFIX) and len(stem) == _DIGITS and stem.isdigit():
            segments.append(Segment(int(stem), directory / name))
    segments.sort(key=lambda segment: segment.base)
    return segments
