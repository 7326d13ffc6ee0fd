"""``trackway cohort create|list|show|update|delete|users``: saved cohorts from the command
line, the same definitions, checks and counts as the API's (``services/cohorts.py``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import msgspec
import orjson

from trackway.cli.options import Commands, print_json, project_of, project_option, services_of
from trackway.errors import PayloadError
from trackway.query.cohorts.spec import CohortDefinition, decode_definition, definition_of
from trackway.saved.objects import SavedCohort
from trackway.services import cohorts
from trackway.services.context import now_ms


def register(commands: Commands) -> None:
    cohort = commands.add_parser("cohort", help="save, list and evaluate cohorts")
    actions = cohort.add_subparsers(required=True, metavar="ACTION")
    create = actions.add_parser("create", help="save a cohort definition")
    _definition_options(create)
    create.set_defaults(run=_create)
    update = actions.add_parser("update", help="replace fields of a saved cohort")
    update.add_argument("cohort_id", type=int)
    _definition_options(update)
    update.set_defaults(run=_update)
    listing = actions.add_parser("list", help="the saved cohorts and their current counts")
    listing.set_defaults(run=_list)
    show = actions.add_parser("show", help="one saved cohort and its current count")
    show.add_argument("cohort_id", type=int)
    show.set_defaults(run=_show)
    delete = actions.add_parser("delete", help="delete a saved cohort")
    delete.add_argument("cohort_id", type=int)
    delete.set_defaults(run=_delete)
    users = actions.add_parser("users", help="a cohort's members, sorted by id")
    users.add_argument("cohort_id", type=int)
    users.add_argument("--csv", action="store_true", help="CSV with their profile properties")
    users.add_argument("--limit", type=int, help="at most this many members")
    users.set_defaults(run=_users)
    for parser in (create, update, listing, show, delete, users):
        project_option(parser)
        parser.add_argument("--json", action="store_true", help="print JSON")


def _definition_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--definition", help="a JSON definition file (any field), or - for stdin")
    parser.add_argument("--name")
    parser.add_argument("--description")
    parser.add_argument(
        "--condition", help='the condition as JSON, e.g. \'{"did": {"event": "Buy"}}\''
    )
    parser.add_argument("--group", help="a group key: the members are groups of that key")


def _create(args: argparse.Namespace) -> int:
    project = project_of(args)
    saved = cohorts.add_cohort(services_of(args), project, _definition(args, {}), now_ms())
    _print_saved(args, saved)
    return 0


def _update(args: argparse.Namespace) -> int:
    project = project_of(args)
    services = services_of(args)
    old = definition_of(cohorts.cohort(services, project, args.cohort_id))
    fields = {k: v for k, v in msgspec.to_builtins(old).items() if v is not None}
    definition = _definition(args, fields)
    saved = cohorts.replace_cohort(services, project, args.cohort_id, definition, now_ms())
    _print_saved(args, saved)
    return 0


def _list(args: argparse.Namespace) -> int:
    project = project_of(args)
    for saved, count in cohorts.counts(services_of(args), project):
        if args.json:  # as `cohort show` prints each
            print_json({**msgspec.to_builtins(saved), "count": count})
        else:
            print(f"{saved.id}\t{saved.name}\t{count}")
    return 0


def _show(args: argparse.Namespace) -> int:
    project = project_of(args)
    services = services_of(args)
    saved = cohorts.cohort(services, project, args.cohort_id)
    shown = {**msgspec.to_builtins(saved), "count": len(cohorts.members(services, project, saved))}
    if args.json:
        print_json(shown)
        return 0
    for name in ("cohort_id", "name", "description", "group", "count"):
        print(f"{name}: {shown[name] if shown[name] is not None else 'users'}")
    print(f"condition: {orjson.dumps(shown['condition']).decode()}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    project = project_of(args)
    cohorts.remove_cohort(services_of(args), project, args.cohort_id)
    answer = {"cohort_id": args.cohort_id, "deleted": True}
    print(orjson.dumps(answer).decode() if args.json else f"deleted cohort {args.cohort_id}")
    return 0


def _users(args: argparse.Namespace) -> int:
    project = project_of(args)
    services = services_of(args)
    found = cohorts.listing(services, project, cohorts.cohort(services, project, args.cohort_id))
    if args.csv:
        for chunk in found.csv():
            sys.stdout.write(chunk)
        return 0
    count = len(found.ids) if args.limit is None else max(args.limit, 0)
    if not args.json:
        print("\n".join(found.ids[:count]))
        return 0
    for row in found.page(0, count):
        print(orjson.dumps(row).decode())
    return 0


def _definition(args: argparse.Namespace, fields: dict[str, Any]) -> CohortDefinition:
    """The definition file's fields (or ``fields``), then every flag given on top."""
    if args.definition:
        fields = _json_object(_read(args.definition), "--definition")
    if args.condition is not None:
        fields["condition"] = _json_object(args.condition.encode(), "--condition")
    given = {"name": args.name, "description": args.description, "group": args.group}
    fields.update({k: v for k, v in given.items() if v is not None})
    for name in ("name", "condition"):
        if name not in fields:
            raise PayloadError(f"Expected --{name} (or `{name}` in --definition)")
    return decode_definition(orjson.dumps(fields))


def _read(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise PayloadError(f"Expected --definition to name a readable file: {exc}") from None


def _json_object(raw: bytes, option: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"Expected {option} to hold a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise PayloadError(f"Expected {option} to hold a JSON object")
    return value


def _print_saved(args: argparse.Namespace, saved: SavedCohort) -> None:
    if args.json:
        print_json(saved)
    else:
        print(f"{saved.id}\t{saved.name}")
