"""How fresh a report's data is: the newest event it can include and how late events arrive.

Reports read the committed table and the log tail the storage worker has not committed yet,
so every acknowledged event is in every answer; what limits freshness is when events reach
the server. This reads the same scan the reports read (deduplicated, deleted users left out)
over a report's time range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trackway.projects import Project
from trackway.storage.scan import EventReader
from trackway.types import TimeRange


@dataclass(frozen=True, slots=True)
class Freshness:
    computed_ms: int  # when this was worked out
    newest_event_ms: int | None  # `time` of the newest event in the range
    received_ms: int | None  # when the last event to arrive (in the range) was received
    lag_ms: int | None  # how late that event arrived: received minus its own time, >= 0
    uncommitted_events: int  # acknowledged, still only in the log; reports include them


def freshness(
    reader: EventReader, project: Project, time_range: TimeRange | None, now_ms: int
) -> Freshness:
    newest: int | None = None
    last: tuple[int, int] | None = None  # (received_ms, time) of the last arrival
    for shard in reader.scan(project, ["time", "received_ms"], time_range, by_user=False):
        if not shard.rows:
            continue
        times = np.asarray(shard.columns["time"])
        received = np.asarray(shard.columns["received_ms"])
        newest = max(newest if newest is not None else int(times.max()), int(times.max()))
        # The last arrival; among events received in the same millisecond, the newest.
        latest = received == received.max()
        candidate = (int(received.max()), int(times[latest].max()))
        last = candidate if last is None else max(last, candidate)
    uncommitted = len(reader.tail_events(project, reader.snapshot(project)))
    if last is None:
        return Freshness(now_ms, None, None, None, uncommitted)
    return Freshness(now_ms, newest, last[0], max(0, last[0] - last[1]), uncommitted)
