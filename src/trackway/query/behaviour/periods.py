"""Calendar periods shared by retention, frequency and lifecycle: the date checks, a date's
period start, whole periods later, and a local day of a UTC time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from trackway.query.errors import SpecError

# Room for a period before the range (lifecycle) and for the time zone's day after it.
FIRST_DATE = date(1, 3, 1)
LAST_DATE = date(9999, 12, 1)
LATEST_DAY = date(9999, 12, 30)  # the last day a calendar grid may reach


def check_dates(from_date: date, to_date: date) -> None:
    if to_date < from_date:
        raise SpecError(
            f"Expected `to_date` on or after `from_date`, got {to_date} before {from_date}",
            "$.to_date",
        )
    if from_date < FIRST_DATE:
        raise SpecError(
            f"Expected `from_date` on or after {FIRST_DATE}, got {from_date}", "$.from_date"
        )
    if to_date > LAST_DATE:
        raise SpecError(f"Expected `to_date` on or before {LAST_DATE}, got {to_date}", "$.to_date")


def period_start(day: date, unit: str) -> date:
    """The first day of ``day``'s period: itself, its week's Monday, its month's first."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def add_periods(start: date, unit: str, count: int) -> date:
    """The period start ``count`` periods after ``start`` (itself a period start); past the
    last representable day it is ``date.max``."""
    try:
        if unit == "day":
            return start + timedelta(days=count)
        if unit == "week":
            return start + timedelta(days=7 * count)
        year, month = divmod(start.month - 1 + count, 12)
        return start.replace(year=start.year + year, month=month + 1)
    except (OverflowError, ValueError):
        return date.max


def local_day(time_ms: int, tz: ZoneInfo) -> date:
    """The local date of a UTC time in milliseconds (``date.max`` beyond the calendar)."""
    try:
        return datetime.fromtimestamp(time_ms / 1000, tz).date()
    except (OverflowError, ValueError, OSError):
        return date.max if time_ms > 0 else date.min
