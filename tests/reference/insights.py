"""Insights, slowly and obviously: docs/insights.md read as plain Python over event dicts.

One row at a time, no numpy, no code shared with ``trackway.query``: deduplication, time
buckets by wall-clock arithmetic in ``zoneinfo``, a handful of filters written out as Python
predicates, segments, ``$other``, every measure, cumulative and rolling windows, formulas.

Choices the docs leave open, taken the way the engine's own code and docstrings describe:

* A segment exists when some row a metric counts carries it (for ``wau``/``mau`` that
  includes the 6/29 days before ``from_date`` whose users are in the trailing windows).
  Segments are ranked on the first metric over the whole range: events, or distinct users
  for the unique-like and per-user measures; **ties are broken by label order**
  (several breakdowns: the tuple of labels). The engine's ``_choose_segments``
  (insights.py) breaks ties by its global segment code instead: the order in which labels
  first appear across shards, which depends on where users are stored. The oracle
  therefore accepts any valid top-``limit`` page (see ``valid_page``), and a golden test
  pins the label-order rule.
* A label is the value's ``string()`` text (expr/segments.py): strings as they are,
  ``true``/``false``, ``null``, ``undefined`` for a missing property, numbers as
  JavaScript prints them (``2.0`` → ``2``, so 2 and 2.0 share one segment).
  ``number_label`` covers the floats the tests generate (``|x|`` in [1e-4, 1e15]).
* Numeric-bucket breakdowns: a row whose value is not a number or falls outside the edges
  has no segment and is not counted at all.
* No breakdown: one segment, labelled ``[""]``.
* ``distinct`` counts the distinct labels of the values; a missing property (undefined)
  and null are no value to count.
* ``rolling`` windows stop at ``from_date`` (the range is not widened for them).
"""

from __future__ import annotations

import math
import operator
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

OTHER = "$other"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
QUANTILES = {"median": 0.5, "p25": 0.25, "p75": 0.75, "p90": 0.9, "p99": 0.99}
WINDOW_DAYS = {"dau": 1, "wau": 7, "mau": 30}
BY_USERS = {"unique", "dau", "wau", "mau", "per_user_avg", "per_user_median"}
BY_USERS |= {"per_user_distribution"}
DISTRIBUTION = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 20), (21, 50), (51, 100)]


def is_number(value: Any) -> bool:
    return type(value) in (int, float)


# -- filters: each `where` the reference understands, as a Python predicate ---------------

Predicate = Callable[["Row"], bool]


def _prop(row: Row, name: str) -> Any:
    return row.props.get(name, MISSING)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


def _equal(value: Any, literal: Any) -> bool:
    """``==``: same type and value; numbers compare across int and float."""
    if is_number(value) and is_number(literal):
        return bool(value == literal)
    return type(value) is type(literal) and value == literal


def _compare(value: Any, literal: float, op: Callable[[Any, Any], bool]) -> bool:
    return is_number(value) and op(value, literal)


FILTERS: dict[str, Predicate] = {
    'properties["browser"] == "Chrome"': lambda r: _equal(_prop(r, "browser"), "Chrome"),
    'properties["browser"] != "Chrome"': lambda r: not _equal(_prop(r, "browser"), "Chrome"),
    'properties["price"] > 2': lambda r: _compare(_prop(r, "price"), 2, operator.gt),
    'properties["price"] <= 1.5': lambda r: _compare(_prop(r, "price"), 1.5, operator.le),
    'defined(properties["price"])': lambda r: "price" in r.props,
    'not defined(properties["browser"])': lambda r: "browser" not in r.props,
    'properties["plan"] == true': lambda r: _equal(_prop(r, "plan"), True),
    'properties["browser"] == "Chrome" or properties["price"] >= 3': lambda r: (
        _equal(_prop(r, "browser"), "Chrome") or _compare(_prop(r, "price"), 3, operator.ge)
    ),
    'event["name"] == "Buy"': lambda r: r.name == "Buy",
}


def _passes(where: str | None, row: Row) -> bool:
    return where is None or FILTERS[where](row)


# -- rows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    user: str
    time_ms: int
    props: dict[str, Any]  # without the four fixed properties


FIXED = ("time", "distinct_id", "$insert_id", "mp_processing_time_ms")


def dedupe(events: Iterable[dict[str, Any]]) -> list[Row]:
    """One row per (event, distinct_id, time, $insert_id): the highest
    mp_processing_time_ms wins."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for event in events:
        props = event["properties"]
        key = (event["event"], props["distinct_id"], props["time"], props["$insert_id"])
        kept = best.get(key)
        if (
            kept is None
            or props["mp_processing_time_ms"] > kept["properties"]["mp_processing_time_ms"]
        ):
            best[key] = event
    return [
        Row(
            e["event"],
            e["properties"]["distinct_id"],
            e["properties"]["time"],
            {k: v for k, v in e["properties"].items() if k not in FIXED},
        )
        for e in best.values()
    ]


# -- time --------------------------------------------------------------------------------


def local(ms: int, tz: ZoneInfo) -> datetime:
    return (EPOCH + timedelta(milliseconds=ms)).astimezone(tz)


def bucket_key(moment: datetime, unit: str) -> Any:
    """The bucket of a local (aware) moment: its wall-clock start, plus the UTC offset for
    hours and minutes so the hour repeated in autumn is two buckets."""
    day = moment.date()
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    wall = moment.replace(tzinfo=None, second=0, microsecond=0)
    if unit == "hour":
        wall = wall.replace(minute=0)
    return (wall, moment.utcoffset())


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def grid(first: date, last: date, unit: str, tz: ZoneInfo) -> tuple[list[Any], list[str]]:
    """Every bucket of the local days first..last (keys in time order) and their labels."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    if unit in ("day", "week", "month", "quarter"):
        keys = list(
            dict.fromkeys(bucket_key(datetime.combine(d, datetime.min.time()), unit) for d in days)
        )
        return keys, [k.isoformat() for k in keys]
    # Walk UTC in steps shorter than any bucket; keep the local buckets of the wanted days.
    step = timedelta(minutes=15 if unit == "hour" else 1)
    moment = datetime.combine(first - timedelta(days=1), datetime.min.time(), UTC)
    end = datetime.combine(last + timedelta(days=2), datetime.min.time(), UTC)
    keys = []
    while moment < end:
        seen = moment.astimezone(tz)
        if first <= seen.date() <= last:
            keys.append(bucket_key(seen, unit))
        moment += step
    keys = list(dict.fromkeys(keys))
    text = "%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d %H:%M"
    plain = [wall.strftime(text) for wall, _ in keys]
    seen = Counter(plain)
    labels = [
        f"{p}{_offset_text(offset)}" if seen[p] > 1 else p
        for p, (_, offset) in zip(plain, keys, strict=True)
    ]
    return keys, labels


# -- labels ------------------------------------------------------------------------------


def number_label(value: int | float) -> str:
    if type(value) is int:
        return str(value)
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def label(value: Any) -> str:
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if is_number(value):
        return number_label(value)
    if type(value) is str:
        return value
    raise AssertionError(f"the reference does not label {value!r}")


def edge_label(value: float) -> str:
    if math.isinf(value):
        return "inf"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.6g}"


def segment_of(row: Row, breakdowns: list[Any]) -> tuple[str, ...] | None:
    """The row's segment (one label per breakdown), or None: outside every numeric bucket."""
    labels = []
    for breakdown in breakdowns:
        assert breakdown.expression is None, "the reference breaks down by properties only"
        value = _prop(row, breakdown.property)
        if breakdown.buckets is None:
            labels.append(label(value))
            continue
        assert breakdown.buckets != "auto", "auto buckets are checked by golden cases"
        edges = sorted(set(breakdown.buckets))
        inside = [
            i
            for i in range(len(edges) - 1)
            if is_number(value) and edges[i] <= value < edges[i + 1]
        ]
        if not inside:
            return None
        labels.append(f"{edge_label(edges[inside[0]])} - {edge_label(edges[inside[0] + 1])}")
    return tuple(labels) if breakdowns else ("",)


# -- measures ----------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy.quantile's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def per_user_counts(rows: list[Row]) -> list[int]:
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row.user] += 1
    return list(counts.values())


def aggregate(kind: str, rows: list[Row], prop: str | None) -> Any:
    """One measure of a set of rows (a segment's rows in a bucket, or over the range)."""
    if kind == "total":
        return len(rows)
    if kind == "unique":
        return len({r.user for r in rows})
    if kind == "per_user_avg":
        users = len({r.user for r in rows})
        return len(rows) / users if users else None
    if kind in ("per_user_median", "per_user_distribution"):
        return quantile([float(c) for c in per_user_counts(rows)], 0.5)
    if kind == "distinct":
        assert prop is not None
        return len({label(r.props[prop]) for r in rows if r.props.get(prop) is not None})
    assert prop is not None
    numbers = [float(r.props[prop]) for r in rows if is_number(r.props.get(prop))]
    if kind == "sum":
        return math.fsum(numbers)
    if kind == "avg":
        return math.fsum(numbers) / len(numbers) if numbers else None
    if kind == "min":
        return min(numbers) if numbers else None
    if kind == "max":
        return max(numbers) if numbers else None
    return quantile(numbers, QUANTILES[kind])


def distribution(rows: list[Row]) -> dict[str, int]:
    counts = per_user_counts(rows)
    out = {}
    for low, high in DISTRIBUTION:
        out[str(low) if low == high else f"{low}-{high}"] = sum(low <= c <= high for c in counts)
    out["101+"] = sum(c >= 101 for c in counts)
    return out


# -- the report --------------------------------------------------------------------------


@dataclass
class _Metric:
    name: str
    kind: str
    prop: str | None
    rows: list[tuple[Row, date, Any]]  # (row, local day, bucket key) the metric counts


def _metric_rows(
    metric: Any, spec: Any, rows: list[Row], tz: ZoneInfo, first: date, last: date
) -> list[tuple[Row, date, Any]]:
    wanted = metric.events()
    lookback = WINDOW_DAYS.get(metric.measure, 1) - 1
    out = []
    for row in rows:
        moment = local(row.time_ms, tz)
        day = moment.date()
        if not first - timedelta(days=lookback) <= day <= last:
            continue
        if wanted is not None and row.name not in wanted:
            continue
        if not (_passes(spec.where, row) and _passes(metric.where, row)):
            continue
        out.append((row, day, bucket_key(moment, spec.unit)))
    return out


def ranking(
    spec: Any, events: list[dict[str, Any]], first: date | None = None, last: date | None = None
) -> list[tuple[tuple[str, ...], int]]:
    """Every segment with its rank value on the first metric, best first, ties by label."""
    tz = ZoneInfo(spec.timezone or "UTC")
    first = first or spec.from_date
    last = last or spec.to_date
    rows = dedupe(events)
    metrics = [_metric_rows(m, spec, rows, tz, first, last) for m in spec.metrics]
    segments: set[tuple[str, ...]] = set()
    for counted in metrics:
        for row, _, _ in counted:
            segment = segment_of(row, spec.breakdowns)
            if segment is not None:
                segments.add(segment)
    by_users = spec.metrics[0].measure in BY_USERS
    value: dict[tuple[str, ...], set[Any]] = {s: set() for s in segments}
    for i, (row, _, _) in enumerate(metrics[0]):
        segment = segment_of(row, spec.breakdowns)
        if segment is not None:
            value[segment].add(row.user if by_users else i)
    return sorted(((s, len(v)) for s, v in value.items()), key=lambda item: (-item[1], item[0]))


def valid_page(
    ranked: list[tuple[tuple[str, ...], int]], shown: list[tuple[str, ...]], offset: int, limit: int
) -> bool:
    """Is ``shown`` a correct page of the ranking, whatever order ties were put in?"""
    value = dict(ranked)
    page = ranked[offset : offset + limit]
    if len(set(shown)) != len(shown) or not all(s in value for s in shown):
        return False
    return [value[s] for s in shown] == [v for _, v in page]


def run(
    events: list[dict[str, Any]],
    spec: Any,
    shown: list[tuple[str, ...]] | None = None,
    previous_shown: list[tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    """The Insights result of ``spec`` over ``events``. ``shown`` overrides which segments
    are shown (in order), e.g. with the engine's choice among tied segments."""
    result = _run(events, spec, spec.from_date, spec.to_date, shown)
    if spec.compare == "previous_period":
        length = (spec.to_date - spec.from_date).days + 1
        before = _run(
            events,
            spec,
            spec.from_date - timedelta(days=length),
            spec.from_date - timedelta(days=1),
            previous_shown,
        )
        result["previous"] = {"buckets": before["buckets"], "series": before["series"]}
    return result


def _run(
    events: list[dict[str, Any]],
    spec: Any,
    first: date,
    last: date,
    shown: list[tuple[str, ...]] | None,
) -> dict[str, Any]:
    tz = ZoneInfo(spec.timezone or "UTC")
    keys, labels = grid(first, last, spec.unit, tz)
    rows = dedupe(events)
    ranked = ranking(spec, events, first, last)
    if shown is None:
        shown = [s for s, _ in ranked[spec.segment_offset : spec.segment_offset + spec.limit]]
    if not spec.breakdowns:
        shown = [("",)]
    outputs = [*shown, (OTHER,)] if len(ranked) > len(shown) else list(shown)
    place = {s: s if s in shown else (OTHER,) for s, _ in ranked}
    names = [m.name or chr(ord("A") + i) for i, m in enumerate(spec.metrics)]
    series = []
    for metric, name in zip(spec.metrics, names, strict=True):
        counted = _metric_rows(metric, spec, rows, tz, first, last)
        by_segment: dict[tuple[str, ...], list[tuple[Row, date, Any]]] = defaultdict(list)
        for item in counted:
            segment = segment_of(item[0], spec.breakdowns)
            if segment is not None:
                by_segment[place[segment]].append(item)
        for segment in outputs:
            values, total = _measure(metric, spec, by_segment[segment], keys, first, last)
            series.append(
                {"metric": name, "segment": list(segment), "values": values, "total": total}
            )
    for formula in spec.formulas:
        for segment in outputs:
            env = {s["metric"]: s for s in series if s["segment"] == list(segment)}
            values = [
                evaluate_formula(formula.expression, {n: env[n]["values"][b] for n in names})
                for b in range(len(keys))
            ]
            total = evaluate_formula(formula.expression, {n: env[n]["total"] for n in names})
            series.append(
                {"metric": formula.name, "segment": list(segment), "values": values, "total": total}
            )
    return {
        "buckets": labels,
        "unit": spec.unit,
        "timezone": str(tz),
        "segments": {
            "total": len(ranked) if spec.breakdowns else 1,
            "offset": spec.segment_offset,
            "shown": len(shown),
        },
        "series": series,
    }


def _measure(
    metric: Any,
    spec: Any,
    items: list[tuple[Row, date, Any]],
    keys: list[Any],
    first: date,
    last: date,
) -> tuple[list[Any], Any]:
    kind = metric.measure
    prop = metric.property
    if kind in WINDOW_DAYS:
        return _active(WINDOW_DAYS[kind], spec.unit, items, keys, first, last)
    rows_of: dict[Any, list[Row]] = {k: [] for k in keys}
    whole = []
    for row, day, key in items:
        if first <= day <= last:
            rows_of[key].append(row)
            whole.append(row)
    if kind == "per_user_distribution":
        return [aggregate(kind, rows_of[k], prop) for k in keys], distribution(whole)
    total = aggregate(kind, whole, prop)
    if spec.cumulative or spec.rolling:
        window = len(keys) if spec.cumulative else spec.rolling
        values = []
        for b in range(len(keys)):
            rows = [r for k in keys[max(0, b - window + 1) : b + 1] for r in rows_of[k]]
            values.append(aggregate(kind, rows, prop))
        return values, total
    return [aggregate(kind, rows_of[k], prop) for k in keys], total


def _active(
    window: int,
    unit: str,
    items: list[tuple[Row, date, Any]],
    keys: list[Any],
    first: date,
    last: date,
) -> tuple[list[Any], Any]:
    """Per day of the range: users active in the window ending that day; a bucket shows the
    average of its days, the total the average of all days."""
    assert unit in ("day", "week", "month", "quarter"), "active users per day or longer"
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    daily = {
        d: len({r.user for r, day, _ in items if d - timedelta(days=window - 1) <= day <= d})
        for d in days
    }
    values = []
    for key in keys:
        inside = [
            daily[d]
            for d in days
            if bucket_key(datetime.combine(d, datetime.min.time()), unit) == key
        ]
        values.append(sum(inside) / len(inside))
    return values, sum(daily.values()) / len(days)


# -- formulas ----------------------------------------------------------------------------


def evaluate_formula(text: str, env: dict[str, Any]) -> float | None:
    """``+ - * /``, parentheses, numbers, metric letters; null in, null out; x / 0 is null."""
    tokens = text.replace("(", " ( ").replace(")", " ) ")
    for op in "+-*/":
        tokens = tokens.replace(op, f" {op} ")
    parts = tokens.split()
    position = 0

    def peek() -> str | None:
        return parts[position] if position < len(parts) else None

    def take() -> str:
        nonlocal position
        position += 1
        return parts[position - 1]

    def expression() -> float | None:
        value = term()
        while peek() in ("+", "-"):
            op, right = take(), term()
            value = (
                None
                if value is None or right is None
                else value + right
                if op == "+"
                else value - right
            )
        return value

    def term() -> float | None:
        value = factor()
        while peek() in ("*", "/"):
            op, right = take(), factor()
            if value is None or right is None or (op == "/" and right == 0):
                value = None
            else:
                value = value * right if op == "*" else value / right
        return value

    def factor() -> float | None:
        token = take()
        if token == "-":
            inner = factor()
            return None if inner is None else -inner
        if token == "(":
            inner = expression()
            assert take() == ")"
            return inner
        if token in env:
            value = env[token]
            return None if value is None else float(value)
        return float(token)

    result = expression()
    assert position == len(parts), text
    return result
