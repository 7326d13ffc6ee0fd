"""``trackway query``: run an Insights report and print it as a table (or JSON)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import orjson

from trackway.api.insights import decode_spec
from trackway.cli.common import Commands, project_of, project_option
from trackway.errors import PayloadError
from trackway.query.insights import run_insights
from trackway.query.spec import Breakdown, InsightsSpec, Metric
from trackway.settings import Settings
from trackway.storage.scan import EventReader


def register(commands: Commands) -> None:
    query = commands.add_parser("query", help="run an Insights report and print a table")
    project_option(query)
    query.add_argument("--spec", help="a JSON InsightsSpec file, or - for standard input")
    query.add_argument("--from-date", help="first day, YYYY-MM-DD (project time zone)")
    query.add_argument("--to-date", help="last day, inclusive")
    query.add_argument("--event", action="append", help="event name (repeat for one metric each)")
    query.add_argument("--measure", default="total", help="total, unique, dau, sum, avg, p90, ...")
    query.add_argument("--property", help="property that sum/avg/min/max/median/pNN/distinct read")
    query.add_argument("--where", help='filter expression, e.g. properties["browser"] == "Chrome"')
    query.add_argument("--breakdown", action="append", help="property to segment by (repeatable)")
    query.add_argument("--unit", default="day", help="minute, hour, day, week, month or quarter")
    query.add_argument("--limit", type=int, default=10, help="segments shown; the rest is $other")
    query.add_argument("--group", help="count groups: the event property naming them")
    query.add_argument("--json", action="store_true", help="print the JSON result")
    query.set_defaults(run=_query)


def _query(args: argparse.Namespace) -> int:
    project = project_of(args)
    spec = _spec(args)
    result = run_insights(
        EventReader(args.data_dir, Settings.from_env().scan_cache_bytes), project, spec
    )
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        print(render(result))
    return 0


def _spec(args: argparse.Namespace) -> InsightsSpec:
    if args.spec:
        raw = sys.stdin.buffer.read() if args.spec == "-" else Path(args.spec).read_bytes()
        return decode_spec(raw)
    if not args.from_date or not args.to_date:
        raise PayloadError("Expected --from-date and --to-date (or --spec)")
    metrics = [
        Metric(event=e, measure=args.measure, property=args.property) for e in args.event or [None]
    ]
    try:
        return msgspec.convert(
            {
                "from_date": date.fromisoformat(args.from_date),
                "to_date": date.fromisoformat(args.to_date),
                "metrics": [msgspec.to_builtins(m) for m in metrics],
                "unit": args.unit,
                "where": args.where,
                "breakdowns": [
                    msgspec.to_builtins(Breakdown(property=b)) for b in args.breakdown or []
                ],
                "limit": args.limit,
                "group": args.group,
            },
            InsightsSpec,
        )
    except (msgspec.ValidationError, ValueError) as exc:
        raise PayloadError(f"Invalid report options: {exc}") from None


def render(result: dict[str, Any]) -> str:
    """Buckets down, one column per series (metric and segment), totals last."""
    series = result["series"]
    headers = ["bucket"] + [" / ".join(filter(None, [s["metric"], *s["segment"]])) for s in series]
    rows = [
        [bucket] + [_cell(s["values"][i]) for s in series]
        for i, bucket in enumerate(result["buckets"])
    ]
    rows.append(["total"] + [_cell(s["total"]) for s in series])
    widths = [max(len(str(row[c])) for row in [headers, *rows]) for c in range(len(headers))]
    lines = [
        "  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if not value.is_integer() else str(int(value))
    if isinstance(value, dict):
        return " ".join(f"{k}:{v}" for k, v in value.items())
    return str(value)
