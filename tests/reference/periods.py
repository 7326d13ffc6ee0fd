"""Retention, frequency and lifecycle, slowly and obviously: docs/behaviour.md read as plain
Python over event dicts, with the event helpers of ``tests/reference/behaviour.py`` (see its docstring
for the readings taken where the docs leave a choice)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.reference import insights as reference
from tests.reference.behaviour import (
    in_days,
    matches,
    rows_by_user,
)
from tests.reference.insights import Row, local
from trackway.query.behaviour.spec import FrequencySpec, LifecycleSpec, RetentionSpec, Step

ROLLING_MS = {"day": 86_400_000, "week": 7 * 86_400_000, "month": 30 * 86_400_000}

# -- retention ---------------------------------------------------------------------------


def period_index(ms: int, unit: str, tz: ZoneInfo) -> int:
    """The calendar ``unit`` a moment falls in, as a number that counts periods."""
    return day_period(local(ms, tz).date(), unit)


def day_period(day: date, unit: str) -> int:
    if unit == "day":
        return day.toordinal()
    if unit == "week":
        return (day.toordinal() - 1) // 7  # 0001-01-01 was a Monday
    return day.year * 12 + day.month - 1


@dataclass
class _Entry:
    cohort: Any  # the cohort's bucket key
    returns: dict[int, list[Row]]  # period -> return events in it


def _entries(spec: RetentionSpec, events: list[dict[str, Any]], tz: ZoneInfo) -> list[_Entry]:
    entries = []
    for rows in rows_by_user(events, spec.where).values():
        born = sorted((r for r in rows if matches(spec.born, r)), key=lambda r: r.time_ms)
        births: list[int] = []
        if spec.retention_type == "first_time":
            if born and in_days(born[0].time_ms, spec.from_date, spec.to_date, tz):
                births.append(born[0].time_ms)
        else:
            seen: set[Any] = set()
            for r in born:
                key = reference.bucket_key(local(r.time_ms, tz), spec.unit)
                if in_days(r.time_ms, spec.from_date, spec.to_date, tz) and key not in seen:
                    seen.add(key)
                    births.append(r.time_ms)
        for birth in births:
            returns: dict[int, list[Row]] = defaultdict(list)
            for r in rows:
                if r.time_ms > birth and matches(spec.returning, r):
                    if spec.alignment == "calendar":
                        period = period_index(r.time_ms, spec.unit, tz) - period_index(
                            birth, spec.unit, tz
                        )
                    else:
                        period = (r.time_ms - birth) // ROLLING_MS[spec.unit]
                    returns[period].append(r)
            cohort = reference.bucket_key(local(birth, tz), spec.unit)
            entries.append(_Entry(cohort, returns))
    return entries


def _columns(spec: RetentionSpec) -> tuple[list[str], list[tuple[int, int]]]:
    if spec.brackets is None:
        return [str(i) for i in range(spec.periods + 1)], [(i, i) for i in range(spec.periods + 1)]
    spans = [(b[0], b[1]) for b in spec.brackets]
    return [str(a) if a == b else f"{a}-{b}" for a, b in spans], spans


def _column_rows(spec: RetentionSpec, entry: _Entry) -> list[list[Row] | None]:
    """Per column, the return events the entry's value adds up there, or None when the
    entry does not count in that column."""
    _, spans = _columns(spec)
    in_span = [[r for p in range(a, b + 1) for r in entry.returns.get(p, [])] for a, b in spans]
    counts = [len(rows) >= spec.min_returns for rows in in_span]
    out: list[list[Row] | None] = []
    for i, (a, _) in enumerate(spans):
        if spec.mode == "on":
            out.append(in_span[i] if counts[i] else None)
        elif spec.brackets is None:
            later = [p for p in entry.returns if p >= a]
            if any(len(entry.returns[p]) >= spec.min_returns for p in later):
                out.append([r for p in later for r in entry.returns[p]])
            else:
                out.append(None)
        elif any(counts[i:]):
            out.append([r for rows in in_span[i:] for r in rows])
        else:
            out.append(None)
    return out


def _measure(spec: RetentionSpec, rows: list[Row]) -> float | None:
    assert spec.property is not None
    numbers = [
        float(r.props[spec.property])
        for r in rows
        if reference.is_number(r.props.get(spec.property))
    ]
    if spec.measure == "sum":
        return math.fsum(numbers)
    return math.fsum(numbers) / len(numbers) if numbers else None


def retention(
    spec: RetentionSpec, events: list[dict[str, Any]], project_tz: str = "UTC"
) -> dict[str, Any]:
    tz = ZoneInfo(spec.timezone or project_tz)
    keys, labels = reference.grid(spec.from_date, spec.to_date, spec.unit, tz)
    names, _ = _columns(spec)
    entries = _entries(spec, events, tz)

    def summary(chosen: list[_Entry]) -> dict[str, Any]:
        columns = [_column_rows(spec, e) for e in chosen]
        out: dict[str, Any] = {
            "size": len(chosen),
            "counts": [sum(c[i] is not None for c in columns) for i in range(len(names))],
        }
        if spec.measure != "users":
            out["values"] = [
                _measure(spec, [r for c in columns if c[i] is not None for r in c[i] or []])
                for i in range(len(names))
            ]
        return out

    cohorts = []
    for key, label in zip(keys, labels, strict=True):
        cohorts.append({"cohort": label, **summary([e for e in entries if e.cohort == key])})
    return {
        "unit": spec.unit,
        "timezone": str(tz),
        "periods": names,
        "cohorts": cohorts,
        "total": summary(entries),
    }


# -- frequency and lifecycle -------------------------------------------------------------


def _matching(
    spec: FrequencySpec | LifecycleSpec, events: list[dict[str, Any]]
) -> dict[str, list[Row]]:
    step = Step(event=spec.event)
    return {
        user: [r for r in rows if matches(step, r)]
        for user, rows in rows_by_user(events, spec.where).items()
    }


def frequency(
    spec: FrequencySpec, events: list[dict[str, Any]], project_tz: str = "UTC"
) -> dict[str, Any]:
    tz = ZoneInfo(spec.timezone or project_tz)
    keys, labels = reference.grid(spec.from_date, spec.to_date, spec.unit, tz)
    small_keys, _ = reference.grid(spec.from_date, spec.to_date, spec.addiction_unit, tz)
    slots: dict[Any, int] = defaultdict(int)  # period -> its hours or days in the range
    for small in small_keys:
        moment = small if isinstance(small, date) else small[0]
        slots[reference.bucket_key(_as_datetime(moment), spec.unit)] += 1
    active: dict[Any, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
    for user, rows in _matching(spec, events).items():
        for r in rows:
            moment = local(r.time_ms, tz)
            if spec.from_date <= moment.date() <= spec.to_date:
                key = reference.bucket_key(moment, spec.unit)
                active[key][user].add(reference.bucket_key(moment, spec.addiction_unit))
    distribution = []
    at_least = []
    for key in keys:
        units = [len(s) for s in active[key].values()]
        distribution.append([sum(u == k for u in units) for k in range(1, slots[key] + 1)])
        at_least.append([sum(u >= k for u in units) for k in range(1, slots[key] + 1)])
    return {
        "unit": spec.unit,
        "addiction_unit": spec.addiction_unit,
        "timezone": str(tz),
        "buckets": labels,
        "distribution": distribution,
        "at_least": at_least,
    }


def _as_datetime(moment: date | datetime) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, datetime.min.time())


def lifecycle(
    spec: LifecycleSpec, events: list[dict[str, Any]], project_tz: str = "UTC"
) -> dict[str, Any]:
    tz = ZoneInfo(spec.timezone or project_tz)
    keys, labels = reference.grid(spec.from_date, spec.to_date, spec.unit, tz)
    out: dict[str, list[int]] = {
        k: [0] * len(keys) for k in ("new", "returning", "resurrecting", "dormant")
    }
    for rows in _matching(spec, events).values():
        periods = {period_index(r.time_ms, spec.unit, tz) for r in rows}
        for b, key in enumerate(keys):
            p = day_period(key, spec.unit)
            now, before = p in periods, p - 1 in periods
            earlier = any(q < p for q in periods)
            if now and not earlier:
                out["new"][b] += 1
            elif now and before:
                out["returning"][b] += 1
            elif now:
                out["resurrecting"][b] += 1
            elif before:
                out["dormant"][b] += 1
    return {"unit": spec.unit, "timezone": str(tz), "buckets": labels, **out}
