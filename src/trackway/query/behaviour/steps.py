"""Which funnel steps each row matches, and the tie order: rows of one user at one time are
ordered by the lowest step they match, then by event name (docs/behaviour.md). Funnels use
all of it; flows use the name ranks for their ties."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from trackway.query.expr import Compiled
from trackway.query.frame import event_codes
from trackway.query.shard_view import ShardView
from trackway.types import BOOL, I32, I64, U64


@dataclass(frozen=True, slots=True)
class StepMatch:
    """Which steps each row matches: ``table`` per event-name code, and, when a step has
    its own filter, ``rows`` per row (empty otherwise). The global filter is not in it."""

    table: U64
    rows: U64


def step_match(
    view: ShardView, steps: list[list[str] | None], wheres: list[Compiled | None]
) -> StepMatch:
    """Bit k set when a row matches step k: one lookup by event name, then the filters."""
    dictionary = view.event_names.dictionary.to_pylist()
    table = np.zeros(len(dictionary) + 1, np.uint64)
    for k, events in enumerate(steps):
        wanted = None if events is None else set(events)
        for code, name in enumerate(dictionary):
            if wanted is None or name in wanted:
                table[code] |= np.uint64(1) << np.uint64(k)
    if all(where is None for where in wheres):
        return StepMatch(table, np.zeros(0, np.uint64))
    bits: U64 = table[event_codes(view)]
    for k, where in enumerate(wheres):
        if where is not None:
            failed = ~where.filter_mask(view, view.rows)
            bits &= ~(failed.astype(np.uint64) << np.uint64(k))
    return StepMatch(table, bits)


def name_rank_table(view: ShardView) -> I32:
    """Per event-name code, the name's rank in sorted name order: ties go by name."""
    dictionary = view.event_names.dictionary.to_pylist()
    order = np.argsort(np.array(dictionary, dtype=object), kind="stable")
    rank = np.empty(len(dictionary), np.int32)
    rank[order] = np.arange(len(dictionary), dtype=np.int32)
    return rank


@njit(nogil=True, cache=True, inline="always")
def _rank(steps: np.uint64, name: int) -> int:
    """Ties go by the lowest step matched (rows matching none last), then by name."""
    lowest = 64
    if steps != 0:
        lowest = 0
        while (steps >> np.uint64(lowest)) & np.uint64(1) == 0:
            lowest += 1
    return lowest * (1 << 24) + name


@dataclass(frozen=True, slots=True)
class UsedRows:
    """The rows a funnel uses, in the tie order, with what the kernel reads of them."""

    order: I64  # row numbers in the shard
    users: I64
    times: I64
    steps: U64
    excluded: U64


def used_rows(
    codes: I32,
    steps: StepMatch,
    exclusions: StepMatch,
    base: BOOL | None,
    every_row: bool,
    users: I64,
    times: I64,
    name_ranks: I32,
) -> UsedRows:
    """The rows passing the global filter ``base`` that match a step or an exclusion (all
    of them when ``every_row``), in the tie order of docs/behaviour.md."""
    no_filter = np.zeros(0, bool)
    found = _used_rows(
        codes,
        steps.table,
        steps.rows,
        exclusions.table,
        exclusions.rows,
        base if base is not None else no_filter,
        every_row,
        users,
        times,
        name_ranks,
    )
    return UsedRows(*found)


@njit(nogil=True, cache=True)
def _used_rows(
    codes: I32,
    step_table: U64,
    step_rows: U64,
    exclusion_table: U64,
    exclusion_rows: U64,
    base: BOOL,
    every_row: bool,
    users: I64,
    times: I64,
    name_ranks: I32,
) -> tuple[I64, I64, I64, U64, U64]:
    """One pass: rows arrive sorted by (user, time), so a row only ever moves back past
    earlier rows of its own (user, time) run, by rank; equal ranks keep the scan order."""
    n = len(codes)
    filtered = len(base) > 0
    steps_by_row = len(step_rows) > 0
    exclusions_by_row = len(exclusion_rows) > 0
    order = np.empty(n, np.int64)
    out_users = np.empty(n, np.int64)
    out_times = np.empty(n, np.int64)
    steps = np.empty(n, np.uint64)
    excluded = np.empty(n, np.uint64)
    used = 0
    for i in range(n):
        if filtered and not base[i]:
            continue
        s = step_rows[i] if steps_by_row else step_table[codes[i]]
        x = exclusion_rows[i] if exclusions_by_row else exclusion_table[codes[i]]
        if not every_row and (s | x) == np.uint64(0):
            continue
        user = users[i]
        time = times[i]
        b = used
        if b > 0 and out_users[b - 1] == user and out_times[b - 1] == time:
            key = _rank(s, name_ranks[codes[i]])
            while (
                b > 0
                and out_users[b - 1] == user
                and out_times[b - 1] == time
                and _rank(steps[b - 1], name_ranks[codes[order[b - 1]]]) > key
            ):
                order[b], steps[b], excluded[b] = order[b - 1], steps[b - 1], excluded[b - 1]
                out_users[b], out_times[b] = user, time
                b -= 1
        order[b], steps[b], excluded[b] = i, s, x
        out_users[b], out_times[b] = user, time
        used += 1
    return order[:used], out_users[:used], out_times[:used], steps[:used], excluded[:used]


@njit(nogil=True, cache=True)
def burst_times(users: I64, times: I64, grace_ms: int) -> I64:
    """Each row's time with the grace window applied: a row within ``grace_ms`` of the
    previous row of its user takes the time of that row's burst."""
    out = times.copy()
    for i in range(1, len(users)):
        if users[i] == users[i - 1] and times[i] - times[i - 1] <= grace_ms:
            out[i] = out[i - 1]
    return out
