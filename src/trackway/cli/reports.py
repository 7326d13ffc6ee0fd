"""Report commands: ``trackway report KIND`` for every kind of the report registry, and
shorthands with flags of their own: ``query`` (Insights), ``funnel``, ``retention``,
``flows``, ``frequency`` and ``lifecycle``. Each prints a table (or, with ``--json``, the
typed result the API answers).

A command builds the report's spec from ``--spec FILE`` (any field) with the flags given on
top, and decodes it as the native API does, so errors read the same.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from trackway.cli.options import Commands, print_json, project_of, project_option, services_of
from trackway.cli.tables import RENDERERS
from trackway.errors import PayloadError
from trackway.query.reports import REPORTS, decode_spec
from trackway.services import reports

Fields = dict[str, Any]
_LENGTH = re.compile(r"(\d+)\s*([smhdw])")
_LENGTH_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}
_PERIODS = ["day", "week", "month"]


@dataclass(frozen=True, slots=True)
class Command:
    """One report command: its options, the spec fields they set, and the fields a spec
    starts from before the file and the flags."""

    name: str
    kind: str  # its key in REPORTS
    help: str
    options: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    fields: Callable[[argparse.Namespace], Fields] = lambda args: {}
    defaults: Fields | None = None


def register(commands: Commands) -> None:
    for command in COMMANDS:
        parser = commands.add_parser(command.name, help=command.help)
        parser.set_defaults(run=partial(_run, command))
        _common_options(parser)
        command.options(parser)
    # Any kind of the registry, its spec from --spec and the common flags.
    any_kind = commands.add_parser("report", help="run a report of any kind, its spec from --spec")
    any_kind.add_argument("kind", choices=list(REPORTS), help="the report kind")
    any_kind.set_defaults(run=lambda args: _run(Command("report", args.kind, ""), args))
    _common_options(any_kind)


def _common_options(parser: argparse.ArgumentParser) -> None:
    project_option(parser)
    parser.add_argument("--spec", help="a JSON spec file (any field), or - for standard input")
    parser.add_argument("--from-date", help="first day, YYYY-MM-DD (project time zone)")
    parser.add_argument("--to-date", help="last day, inclusive")
    parser.add_argument("--where", help='global filter, e.g. properties["country"] == "FR"')
    parser.add_argument("--timezone", help="IANA time zone (default: the project's)")
    parser.add_argument("--group", help="count groups: the event property naming them")
    parser.add_argument("--json", action="store_true", help="print the JSON result")


def _run(command: Command, args: argparse.Namespace) -> int:
    project = project_of(args)
    kind = REPORTS[command.kind]
    spec = decode_spec(kind, orjson.dumps(spec_fields(command, args)))
    result = reports.run(services_of(args), project, spec)
    render = RENDERERS.get(kind.name)
    if args.json or render is None:
        print_json(result, indent=True)
    else:
        print(render(result))
    return 0


def spec_fields(command: Command, args: argparse.Namespace) -> Fields:
    """The command's defaults, then the spec file's fields, then every flag given on top."""
    fields: Fields = dict(command.defaults or {})
    if args.spec:
        try:
            raw = sys.stdin.buffer.read() if args.spec == "-" else Path(args.spec).read_bytes()
        except OSError as exc:
            raise PayloadError(f"Expected --spec to name a readable file: {exc}") from None
        try:
            from_file = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"Expected --spec to hold a JSON object: {exc}") from None
        if not isinstance(from_file, dict):
            raise PayloadError("Expected --spec to hold a JSON object")
        fields.update(from_file)
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


# --- query (Insights) ---


def _query_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--event", action="append", help="event name (repeat for one metric each)")
    parser.add_argument("--measure", help="total (default), unique, dau, sum, avg, p90, ...")
    parser.add_argument("--property", help="property that sum/avg/min/max/median/pNN/distinct read")
    parser.add_argument("--breakdown", action="append", help="property to segment by (repeatable)")
    parser.add_argument("--unit", help="minute, hour, day (default), week, month or quarter")
    parser.add_argument("--limit", type=int, help="segments shown (default 10); the rest is $other")


def _query_fields(args: argparse.Namespace) -> Fields:
    metrics = None
    if args.event or args.measure or args.property:
        metric = {"measure": args.measure or "total", "property": args.property}
        metrics = [{**metric, "event": e} for e in args.event or [None]]
    return {
        "metrics": metrics,
        "breakdowns": _optional(args.breakdown, lambda names: [{"property": n} for n in names]),
        "unit": args.unit,
        "limit": args.limit,
    }


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


# --- frequency and lifecycle ---


def _event_options(parser: argparse.ArgumentParser, unit_help: str) -> None:
    parser.add_argument("--event", action="append", help="event (repeat for any of several)")
    parser.add_argument("--unit", choices=_PERIODS, help=unit_help)


def _frequency_options(parser: argparse.ArgumentParser) -> None:
    _event_options(parser, "period (default week)")
    parser.add_argument("--addiction-unit", choices=["hour", "day"], help="default day")


def _frequency_fields(args: argparse.Namespace) -> Fields:
    return {"event": _events(args.event), "unit": args.unit, "addiction_unit": args.addiction_unit}


def _lifecycle_fields(args: argparse.Namespace) -> Fields:
    return {"event": _events(args.event), "unit": args.unit}


COMMANDS = [
    Command(
        "query",
        "insights",
        "run an Insights report and print a table",
        _query_options,
        _query_fields,
        defaults={"metrics": [{}]},  # every event, counted
    ),
    Command(
        "funnel", "funnels", "run a funnel and print its steps", _funnel_options, _funnel_fields
    ),
    Command(
        "retention",
        "retention",
        "run a retention report and print its cohorts",
        _retention_options,
        _retention_fields,
    ),
    Command(
        "flows",
        "flows",
        "run a flows report and print its nodes and links",
        _flows_options,
        _flows_fields,
    ),
    Command(
        "frequency",
        "frequency",
        "print how many users were active in at least k hours or days of each period",
        _frequency_options,
        _frequency_fields,
    ),
    Command(
        "lifecycle",
        "lifecycle",
        "print new, returning, resurrecting and dormant users per period",
        partial(_event_options, unit_help="period (default week)"),
        _lifecycle_fields,
    ),
]
