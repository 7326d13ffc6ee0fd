"""Time buckets in a project's time zone, DST-correct.

Bucket boundaries are computed as local wall-clock times (midnight, the first of the month,
...) and converted to UTC milliseconds through the zone's rules, so a day that lasts 23 or 25
hours is one bucket. An event's bucket is then a binary search over the boundaries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from trackway.query.errors import SpecError

UNITS = ("minute", "hour", "day", "week", "month", "quarter")
_MAX_STEPS = 1 << 22  # a longer table than this: binary search instead


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SpecError(f"Expected an IANA time zone like `Europe/Paris`, got {name!r}") from None


@dataclass(frozen=True, slots=True)
class Buckets:
    """Consecutive buckets covering [start_ms, end_ms): ``edges`` has one more entry than
    ``labels``; bucket i is [edges[i], edges[i+1])."""

    unit: str
    edges: npt.NDArray[np.int64]
    labels: tuple[str, ...]

    @property
    def start_ms(self) -> int:
        return int(self.edges[0])

    @property
    def end_ms(self) -> int:
        return int(self.edges[-1])

    def __len__(self) -> int:
        return len(self.labels)

    def index(self, times: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        """Each time's bucket, or -1 outside the range.

        Every edge lies a whole number of steps (their greatest common divisor: a day, an
        hour, at least a quarter hour in any zone) after the first, so each step falls in one
        bucket: a division and a table lookup per row, ten times cheaper than a binary search
        over the edges."""
        first, end = int(self.edges[0]), int(self.edges[-1])
        step = int(np.gcd.reduce(np.diff(self.edges))) if len(self.edges) > 1 else 0
        if step <= 0 or (end - first) // step > _MAX_STEPS:
            searched = np.searchsorted(self.edges, times, side="right").astype(np.int32) - 1
            searched[(times < first) | (times >= end)] = -1
            return searched
        starts = np.arange(first, end, step, dtype=np.int64)
        table = np.searchsorted(self.edges, starts, side="right").astype(np.int32) - 1
        # In place, and negative steps compared as huge unsigned ones: every temporary array
        # of a fresh process costs its page faults.
        steps = np.subtract(times, first, dtype=np.int64)
        steps //= step
        outside = steps.view(np.uint64) >= len(table)
        steps[outside] = 0
        found: npt.NDArray[np.int32] = table[steps]
        found[outside] = -1
        return found


def day_range(from_date: date, to_date: date, tz: ZoneInfo) -> tuple[int, int]:
    """[start, end) in UTC ms of the local days ``from_date``..``to_date`` inclusive."""
    return _ms(datetime.combine(from_date, datetime.min.time(), tz)), _ms(
        datetime.combine(to_date + timedelta(days=1), datetime.min.time(), tz)
    )


def buckets(
    from_date: date,
    to_date: date,
    unit: str,
    tz: ZoneInfo,
    max_buckets: int = 100_000,
    every: int = 1,
) -> Buckets:
    """The ``unit``s that cover ``from_date`` .. ``to_date``, the first and last cut to the
    range, each labelled by its first moment; from a day up, ``every`` units per bucket,
    counted from the one ``from_date`` is in."""
    if unit not in UNITS:
        raise SpecError(f"Expected `unit` one of {', '.join(UNITS)}, got {unit!r}")
    if to_date < from_date:
        raise SpecError(
            f"Expected `to_date` on or after `from_date`, got {to_date} before {from_date}"
        )
    try:
        first_ms, end_ms = day_range(from_date, to_date, tz)
    except (OverflowError, ValueError):
        raise SpecError("Expected dates between 0001-01-02 and 9999-12-30") from None
    if unit in ("minute", "hour"):
        return _sub_day(first_ms, end_ms, unit, tz, max_buckets)
    end = datetime.combine(to_date + timedelta(days=1), datetime.min.time(), tz)
    local = _floor(datetime.combine(from_date, datetime.min.time()), unit)
    starts: list[datetime] = []
    following: datetime | None = local
    while following is not None and following.replace(tzinfo=tz) < end:
        starts.append(following.replace(tzinfo=tz))
        if len(starts) > max_buckets:
            raise SpecError(f"Expected at most {max_buckets} {unit} buckets; narrow the range")
        following = _next(following, unit, every)
    edges = [max(_ms(s), first_ms) for s in starts] + [end_ms]
    return Buckets(unit, np.array(edges, np.int64), tuple(_label(s, unit) for s in starts))


def _sub_day(first_ms: int, end_ms: int, unit: str, tz: ZoneInfo, max_buckets: int) -> Buckets:
    """Minutes and hours of the local wall clock. Every zone's offset is a whole number of
    quarter hours, so local hours start at UTC quarter hours: walk those and start a bucket
    whenever the local hour (or the offset, when clocks go back) changes."""
    step = 60_000 if unit == "minute" else 3_600_000
    if (end_ms - first_ms) // step > max_buckets:
        raise SpecError(
            f"Expected at most {max_buckets} {unit} buckets; narrow the range or use a larger unit"
        )
    if unit == "minute":
        edges = list(range(first_ms, end_ms, step))
    else:
        edges = []
        previous = None
        for moment_ms in range(first_ms, end_ms, 900_000):
            local = datetime.fromtimestamp(moment_ms / 1000, tz)
            key = (local.date(), local.hour, local.utcoffset())
            if key != previous:
                edges.append(moment_ms)
                previous = key
    moments = [datetime.fromtimestamp(e / 1000, tz) for e in edges]
    plain = [_label(m, unit) for m in moments]
    # The hour repeated when clocks go back gets its UTC offset, so labels stay unique.
    repeated = {label for label, seen in Counter(plain).items() if seen > 1}
    labels = tuple(
        f"{label}{m.strftime('%z')}" if label in repeated else label
        for label, m in zip(plain, moments, strict=True)
    )
    return Buckets(unit, np.array([*edges, end_ms], np.int64), labels)


def _floor(moment: datetime, unit: str) -> datetime:
    if unit == "week":  # weeks start on Monday
        return moment - timedelta(days=moment.weekday())
    if unit == "month":
        return moment.replace(day=1)
    if unit == "quarter":
        return moment.replace(month=(moment.month - 1) // 3 * 3 + 1, day=1)
    return moment


def _next(moment: datetime, unit: str, every: int = 1) -> datetime | None:
    """The start of the bucket after the one starting at ``moment``; None past the calendar
    (and past any range that can be asked for)."""
    if unit in ("day", "minute", "hour", "week"):
        try:
            return moment + timedelta(days=every * (7 if unit == "week" else 1))
        except OverflowError:
            return None
    months = every * (1 if unit == "month" else 3)
    year, month = divmod(moment.month - 1 + months, 12)
    if moment.year + year > 9999:
        return None
    return moment.replace(year=moment.year + year, month=month + 1)


def _label(moment: datetime, unit: str) -> str:
    if unit == "minute":
        return moment.strftime("%Y-%m-%d %H:%M")
    if unit == "hour":
        return moment.strftime("%Y-%m-%d %H:00")
    return moment.strftime("%Y-%m-%d")


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)
