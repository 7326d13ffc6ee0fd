"""``trackway funnel``, ``retention``, ``flows``, ``frequency`` and ``lifecycle``: run a
behavioural report and print it as tables (or JSON).

Each command builds the report's spec from ``--spec FILE`` (any field) with the flags given on
top, and decodes it as the native API does, so errors read the same.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from trackway.api.behaviour import REPORTS, decode_spec
from trackway.cli.common import Commands, project_of, project_option
from trackway.errors import PayloadError
from trackway.settings import Settings
from trackway.storage.scan import EventReader

Fields = dict[str, Any]
_LENGTH = re.compile(r"(\d+)\s*([smhdw])")
_LENGTH_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}
_PERIODS = ["day", "week", "month"]
# Cells printed right-aligned: counts, ratios, durations, and "-" or "" for nothing.
_NUMERIC = re.compile(r"-?[\d.,]*[%smhd]?|-")


@dataclass(frozen=True, slots=True)
class Command:
    """One report command: its options, the spec fields they set, and how it prints."""

    name: str
    report: str  # its key in REPORTS
    help: str
    options: Callable[[argparse.ArgumentParser], None]
    fields: Callable[[argparse.Namespace], Fields]
    render: Callable[[dict[str, Any]], str]


def register(commands: Commands) -> None:
    for command in COMMANDS:
        parser = commands.add_parser(command.name, help=command.help)
        project_option(parser)
        parser.add_argument("--spec", help="a JSON spec file (any field), or - for standard input")
        parser.add_argument("--from-date", help="first day, YYYY-MM-DD (project time zone)")
        parser.add_argument("--to-date", help="last day, inclusive")
        parser.add_argument("--where", help='global filter, e.g. properties["country"] == "FR"')
        parser.add_argument("--timezone", help="IANA time zone (default: the project's)")
        parser.add_argument("--group", help="count groups: the event property naming them")
        command.options(parser)
        parser.add_argument("--json", action="store_true", help="print the JSON result")
        parser.set_defaults(run=partial(_run, command))


def _run(command: Command, args: argparse.Namespace) -> int:
    project = project_of(args)
    report = REPORTS[command.report]
    spec = decode_spec(report, orjson.dumps(spec_fields(command, args)))
    result = report.run(
        EventReader(args.data_dir, Settings.from_env().scan_cache_bytes), project, spec
    )
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        print(command.render(result))
    return 0


def spec_fields(command: Command, args: argparse.Namespace) -> Fields:
    """The spec file's fields, then every flag that was given on top of them."""
    fields: Fields = {}
    if args.spec:
        try:
            raw = sys.stdin.buffer.read() if args.spec == "-" else Path(args.spec).read_bytes()
        except OSError as exc:
            raise PayloadError(f"Expected --spec to name a readable file: {exc}") from None
        try:
            fields = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"Expected --spec to hold a JSON object: {exc}") from None
        if not isinstance(fields, dict):
            raise PayloadError("Expected --spec to hold a JSON object")
    given = {
        "from_date": args.from_date,
        "to_date": args.to_date,
        "where": args.where,
        "timezone": args.timezone,
        "group": args.group,
        **command.fields(args),
    }
    fields.update({k: v for k, v in given.items() if v is not None})
    for name in ("from_date", "to_date"):
        if name not in fields:
            raise PayloadError(f"Expected --{name.replace('_', '-')} (or `{name}` in --spec)")
    return fields


def length(text: str) -> Fields:
    """``30m``, ``2h``, ``7d``, ``1w``, ``90s`` as a spec's ``{"length", "unit"}``."""
    found = _LENGTH.fullmatch(text.strip())
    if found is None:
        raise PayloadError(f"Expected a length like 90s, 30m, 2h, 7d or 1w, got {text!r}")
    return {"length": int(found[1]), "unit": _LENGTH_UNITS[found[2]]}


def _events(names: list[str] | None) -> str | list[str] | None:
    if not names:
        return None
    return names[0] if len(names) == 1 else names


def _optional(value: Any, convert: Callable[[Any], Any]) -> Any:
    return None if value is None else convert(value)


# --- funnel ---


def _funnel_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--step", action="append", help="a step's event (repeat, in order)")
    parser.add_argument("--window", help="time to convert from step 1, e.g. 7d (default 30d)")
    parser.add_argument("--order", choices=["loose", "strict", "any"])
    parser.add_argument("--counting", choices=["uniques", "first", "totals", "sessions"])
    parser.add_argument("--breakdown", action="append", help="property to segment by")
    parser.add_argument("--unit", choices=_PERIODS, help="conversion over time by start date")
    parser.add_argument("--limit", type=int, help="segments shown; the rest is $other")


def _funnel_fields(args: argparse.Namespace) -> Fields:
    return {
        "steps": _optional(args.step, lambda steps: [{"event": s} for s in steps]),
        "window": _optional(args.window, length),
        "order": args.order,
        "counting": args.counting,
        "breakdowns": _optional(args.breakdown, lambda names: [{"property": n} for n in names]),
        "unit": args.unit,
        "limit": args.limit,
    }


def render_funnel(result: dict[str, Any]) -> str:
    headers = ["step", "label", "count", "step conv", "overall", "avg time", "median time"]
    rows = []
    for step in result["steps"]:
        time = step["time_to_convert"] or {}
        rows.append(
            [
                step["step"],
                step["label"],
                step["count"],
                _percent(step["step_conversion"]),
                _percent(step["overall_conversion"]),
                _duration(time.get("avg_ms")),
                _duration(time.get("median_ms")),
            ]
        )
    parts = [table(headers, rows)]
    numbers = [f"step {s['step']}" for s in result["steps"]]
    if "segments" in result:
        segment_rows = [
            [" / ".join(r["segment"]), *r["counts"]] for r in result["segments"]["rows"]
        ]
        parts.append(table(["segment", *numbers], segment_rows))
    if "over_time" in result:
        over_time = result["over_time"]
        buckets = zip(over_time["buckets"], over_time["counts"], strict=True)
        parts.append(table([over_time["unit"], *numbers], [[b, *c] for b, c in buckets]))
    if "drop_offs" in result:
        drop = result["drop_offs"]
        shown = f"{drop['offset'] + 1}-{drop['offset'] + len(drop['users'])}"
        parts.append(
            f"stopped at step {drop['step']}: {drop['total']} users (showing {shown})\n"
            + "\n".join(drop["users"])
        )
    return "\n\n".join(parts)


# --- retention ---


def _retention_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--born", action="append", help="birth event (repeat for any of several)")
    parser.add_argument("--returning", action="append", help="return event (default: any)")
    parser.add_argument("--type", choices=["first_time", "recurring"], dest="retention_type")
    parser.add_argument("--unit", choices=_PERIODS)
    parser.add_argument("--periods", type=int, help="periods after the birth period (default 10)")
    parser.add_argument("--mode", choices=["on", "on_or_after"], help="on_or_after: unbounded")


def _retention_fields(args: argparse.Namespace) -> Fields:
    return {
        "born": _optional(_events(args.born), lambda e: {"event": e}),
        "returning": _optional(_events(args.returning), lambda e: {"event": e}),
        "retention_type": args.retention_type,
        "unit": args.unit,
        "periods": args.periods,
        "mode": args.mode,
    }


def render_retention(result: dict[str, Any]) -> str:
    headers = ["cohort", "size", *result["periods"]]
    rows = [[c["cohort"], c["size"], *c["counts"]] for c in result["cohorts"]]
    rows.append(["total", result["total"]["size"], *result["total"]["counts"]])
    parts = [table(headers, rows)]
    if "values" in result["total"]:
        rows = [[c["cohort"], *map(_number, c["values"])] for c in result["cohorts"]]
        rows.append(["total", *map(_number, result["total"]["values"])])
        parts.append(table(["values", *result["periods"]], rows))
    return "\n\n".join(parts)


# --- flows ---


def _flows_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--anchor", action="append", help="the event paths start (or end) at")
    parser.add_argument("--direction", choices=["after", "before"])
    parser.add_argument("--end", action="append", help="paths until this event (after only)")
    parser.add_argument("--steps", type=int, help="events per path, 1 to 10 (default 5)")
    parser.add_argument("--window", help="time from the anchor, e.g. 1d (default 7d)")
    parser.add_argument("--counting", choices=["uniques", "totals"])
    parser.add_argument("--top", type=int, help="events shown per step; the rest is $other")
    parser.add_argument("--hide", action="append", help="an event to leave out of paths")
    parser.add_argument("--collapse-repeats", action="store_true", default=None)
    parser.add_argument("--breakdown", help="property of the anchor event to segment by")


def _flows_fields(args: argparse.Namespace) -> Fields:
    return {
        "anchor": _optional(_events(args.anchor), lambda e: {"event": e}),
        "direction": args.direction,
        "end": _optional(_events(args.end), lambda e: {"event": e}),
        "steps": args.steps,
        "window": _optional(args.window, length),
        "counting": args.counting,
        "top": args.top,
        "hide": args.hide,
        "collapse_repeats": args.collapse_repeats,
        "breakdown": _optional(args.breakdown, lambda name: {"property": name}),
    }


def render_flows(result: dict[str, Any]) -> str:
    parts = [f"{result['total']} paths ({result['direction']} the anchor)"]
    parts += _flow_tables(result)
    for segment in result.get("segments", []):
        parts.append(f"segment {' / '.join(segment['segment'])}: {segment['total']} paths")
        parts += _flow_tables(segment)
    return "\n\n".join(parts)


def _flow_tables(result: dict[str, Any]) -> list[str]:
    nodes = [[n["step"], n["event"], n["count"]] for n in result["nodes"]]
    links = [[k["step"], k["source"], k["target"], k["count"]] for k in result["links"]]
    return [table(["step", "event", "count"], nodes), table(["step", "from", "to", "count"], links)]


# --- frequency and lifecycle ---


def _event_options(parser: argparse.ArgumentParser, unit_help: str) -> None:
    parser.add_argument("--event", action="append", help="event (repeat for any of several)")
    parser.add_argument("--unit", choices=_PERIODS, help=unit_help)


def _frequency_options(parser: argparse.ArgumentParser) -> None:
    _event_options(parser, "period (default week)")
    parser.add_argument("--addiction-unit", choices=["hour", "day"], help="default day")


def _frequency_fields(args: argparse.Namespace) -> Fields:
    return {"event": _events(args.event), "unit": args.unit, "addiction_unit": args.addiction_unit}


def render_frequency(result: dict[str, Any]) -> str:
    rows = result["at_least"]
    width = max((len(r) for r in rows), default=0)
    headers = [result["unit"], *(f">={k}" for k in range(1, width + 1))]
    return table(
        headers,
        [[b, *r, *[""] * (width - len(r))] for b, r in zip(result["buckets"], rows, strict=True)],
    )


def _lifecycle_fields(args: argparse.Namespace) -> Fields:
    return {"event": _events(args.event), "unit": args.unit}


_KINDS = ("new", "returning", "resurrecting", "dormant")


def render_lifecycle(result: dict[str, Any]) -> str:
    columns = [result["buckets"], *(result[kind] for kind in _KINDS)]
    return table([result["unit"], *_KINDS], [list(row) for row in zip(*columns, strict=True)])


COMMANDS = [
    Command(
        "funnel",
        "funnels",
        "run a funnel and print its steps",
        _funnel_options,
        _funnel_fields,
        render_funnel,
    ),
    Command(
        "retention",
        "retention",
        "run a retention report and print its cohorts",
        _retention_options,
        _retention_fields,
        render_retention,
    ),
    Command(
        "flows",
        "flows",
        "run a flows report and print its nodes and links",
        _flows_options,
        _flows_fields,
        render_flows,
    ),
    Command(
        "frequency",
        "frequency",
        "print how many users were active in at least k hours or days of each period",
        _frequency_options,
        _frequency_fields,
        render_frequency,
    ),
    Command(
        "lifecycle",
        "lifecycle",
        "print new, returning, resurrecting and dormant users per period",
        partial(_event_options, unit_help="period (default week)"),
        _lifecycle_fields,
        render_lifecycle,
    ),
]


# --- printing ---


def table(headers: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """Columns two spaces apart: numbers right-aligned, names and dates left-aligned."""
    cells = [[str(h) for h in headers], *([_cell(v) for v in row] for row in rows)]
    widths = [max(len(row[c]) for row in cells) for c in range(len(headers))]
    numeric = [all(_NUMERIC.fullmatch(row[c]) for row in cells[1:]) for c in range(len(headers))]
    return "\n".join(
        "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(row, widths, numeric, strict=True)
        ).rstrip()
        for row in cells
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return _number(value)
    return str(value)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.1%}"


def _duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    seconds = ms / 1000
    for size, suffix in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds / size:.1f}{suffix}"
    return f"{seconds:.1f}s"
