"""Counting events per user over the real scan: the ``did`` condition's counts, and the users
who have any event at all (the universe ``not`` complements against).

Each shard's matching rows (event name, ``where``) are kept in the column cache while the
scanned parts stay the same, unless the ``where`` reads profiles or cohorts, which change
without the events changing. The window's end is ``now``, which moves with every query, so
it is applied after the cache: the scan reads to the window's fixed end (or all future) and
the rows later than ``now`` are dropped here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from trackway.query.cohorts.spec import Did, DidSpec
from trackway.query.context import ReportContext
from trackway.query.frame import ALL_HISTORY_MS, END_OF_TIME, event_mask
from trackway.query.shard_view import ShardView
from trackway.query.timebuckets import day_range, zone
from trackway.storage.scan import property_columns
from trackway.types import I64, TimeRange


@dataclass(frozen=True, slots=True)
class Window:
    """Events with ``start_ms <= time < end_ms`` count; the scan reads ``scan`` (a range
    that does not move with ``now``, so its rows may be cached)."""

    start_ms: int
    end_ms: int
    scan: TimeRange


def window(spec: DidSpec, now_ms: int, timezone: str) -> Window:
    """The window of a ``did`` as of ``now_ms``, in the project's time zone: never later
    than ``now_ms`` (inclusive)."""
    tz = zone(timezone)
    end = now_ms + 1
    if spec.within_days is not None:
        today = datetime.fromtimestamp(now_ms / 1000, tz).date()
        start, _ = day_range(today - timedelta(days=spec.within_days - 1), today, tz)
        return Window(start, end, (start, END_OF_TIME))
    start = ALL_HISTORY_MS
    fixed_end = END_OF_TIME
    if spec.from_date is not None:
        start = day_range(spec.from_date, spec.from_date, tz)[0]
    if spec.to_date is not None:
        fixed_end = day_range(spec.to_date, spec.to_date, tz)[1]
    return Window(start, min(end, fixed_end), (start, fixed_end))


def did_counts(context: ReportContext, did: Did, now_ms: int) -> tuple[I64, I64]:
    """Each user with at least one matching event in the window, sorted, and their counts."""
    reader, project = context.reader, context.project
    bounds = window(did.spec, now_ms, project.timezone)
    if bounds.start_ms >= bounds.end_ms:
        return _EMPTY, _EMPTY
    columns_of = property_columns(reader, project)
    columns = {"user_hash", "time", "event"}
    if did.where is not None:
        for name in did.where.properties:
            columns.update(columns_of.get(name, []))
    users: list[I64] = []
    counts: list[I64] = []
    for scan in reader.scan(project, sorted(columns), bounds.scan, group=context.group):
        view = ShardView(scan, columns_of, reader.cache, context)
        matched_users, times = _matching(view, did, context)
        shard_users, shard_counts = tally(matched_users[times < bounds.end_ms])
        users.append(shard_users)
        counts.append(shard_counts)
    return merge(users, counts)


def event_users(context: ReportContext, now_ms: int) -> I64:
    """The sorted users (or groups) with an event at or before ``now_ms``."""
    reader, project = context.reader, context.project
    found: list[I64] = []
    for scan in reader.scan(project, ["user_hash", "time"], group=context.group):
        view = ShardView(scan, {}, reader.cache, context)
        key = ("cohort_first_seen", context.group)
        users, first = view.cached(key, partial(_first_seen, view), _nbytes)
        found.append(users[first <= now_ms])
    return np.unique(np.concatenate(found)) if found else _EMPTY


def _matching(view: ShardView, did: Did, context: ReportContext) -> tuple[I64, I64]:
    """The users and times of the shard's rows that match the event and ``where``."""

    def make() -> tuple[I64, I64]:
        mask = event_mask(view, None if did.spec.event is None else [did.spec.event])
        if did.where is not None:
            mask = mask & did.where.filter_mask(view, view.rows)
        return view.users[mask], view.times[mask]

    where = did.where
    if where is not None and (where.cohorts or where.user_properties):
        return make()  # profiles and cohorts change while the events stay the same
    key = (
        "cohort_did",
        context.group,
        did.spec.event,
        None if where is None else where.canonical(),
    )
    found: tuple[I64, I64] = view.cached(key, make, _nbytes)
    return found


def _first_seen(view: ShardView) -> tuple[I64, I64]:
    users, times = view.users, view.times
    if len(users) == 0:
        return _EMPTY, _EMPTY
    if not _is_sorted(users):
        order = np.lexsort((times, users))
        users, times = users[order], times[order]
    starts = _run_starts(users)
    return users[starts], times[starts]  # rows are by (user, time): a run's first is earliest


def tally(users: I64) -> tuple[I64, I64]:
    """The distinct users, sorted, and how many times each occurs."""
    if len(users) == 0:
        return _EMPTY, _EMPTY
    if not _is_sorted(users):
        # Not expected (the scan orders rows by unit), but counting must not depend on it.
        found, counts = np.unique(users, return_counts=True)
        return found, counts.astype(np.int64)
    starts = _run_starts(users)
    return users[starts], np.diff(np.append(starts, len(users))).astype(np.int64)


def merge(users: list[I64], counts: list[I64]) -> tuple[I64, I64]:
    """Per-shard tallies as one: a resolved user may have rows in several shards."""
    if not users:
        return _EMPTY, _EMPTY
    every, weights = np.concatenate(users), np.concatenate(counts)
    found, inverse = np.unique(every, return_inverse=True)
    total = np.zeros(len(found), np.int64)
    np.add.at(total, inverse, weights)
    return found, total


def _is_sorted(values: I64) -> bool:
    return bool(np.all(values[1:] >= values[:-1]))


def _run_starts(sorted_values: I64) -> I64:
    change = np.empty(len(sorted_values), bool)
    change[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=change[1:])
    return np.flatnonzero(change)


def _nbytes(pair: Any) -> int:
    return int(pair[0].nbytes + pair[1].nbytes)


_EMPTY: I64 = np.empty(0, np.int64)
