"""Commands over stored data: export, delete-users, history, restore, vacuum, log dump."""

from __future__ import annotations

import argparse
import sys

import orjson
from deltalake import DeltaTable

from trackway.cli.options import (
    Commands,
    data_dir_option,
    day,
    project_of,
    project_option,
    services_of,
)
from trackway.errors import UserError
from trackway.log import decode_record, replay
from trackway.services import events, users
from trackway.services.context import now_ms
from trackway.settings import Settings
from trackway.storage.layout import ProjectPaths
from trackway.storage.retention import tidy


def register(commands: Commands) -> None:
    export = commands.add_parser("export", help="print a project's raw events as JSON lines")
    project_option(export)
    export.add_argument("--from-date", required=True, help="first day, YYYY-MM-DD (UTC)")
    export.add_argument("--to-date", required=True, help="last day, YYYY-MM-DD (UTC), inclusive")
    export.add_argument("--event", action="append", help="only these event names (repeatable)")
    export.add_argument("--limit", type=int, help="at most this many events")
    export.add_argument("--as-of-version", type=int, help="read this earlier table version")
    export.add_argument("--time-in-ms", action="store_true", help="time in ms, not seconds")
    export.set_defaults(run=_export)

    delete = commands.add_parser("delete-users", help="delete users' events and profiles (GDPR)")
    project_option(delete)
    delete.add_argument(
        "distinct_ids", nargs="+", help="up to 2000 distinct_ids (with their identity clusters)"
    )
    delete.set_defaults(run=_delete_users)

    history = commands.add_parser("history", help="list an events table's versions")
    project_option(history)
    history.set_defaults(run=_history)

    restore = commands.add_parser("restore", help="roll the events table back to a version")
    project_option(restore)
    restore.add_argument("--version", type=int, required=True)
    restore.set_defaults(run=_restore)

    vacuum = commands.add_parser(
        "vacuum", help="delete log entries and files of versions past the retention window"
    )
    project_option(vacuum)
    vacuum.add_argument(
        "--retention-hours", type=int, help="delete files older than this (default: retention_ms)"
    )
    vacuum.set_defaults(run=_vacuum)

    log = commands.add_parser("log", help="inspect the write-ahead log")
    log_actions = log.add_subparsers(required=True, metavar="ACTION")
    dump = log_actions.add_parser("dump", help="print every record in the log as JSON lines")
    data_dir_option(dump)
    dump.set_defaults(run=_log_dump)


def _export(args: argparse.Namespace) -> int:
    project = project_of(args)
    first, last = day(args.from_date, "--from-date"), day(args.to_date, "--to-date")
    if last < first:
        raise UserError(f"Expected --to-date on or after --from-date, got {last} before {first}")
    found = events.export(
        services_of(args),
        project,
        events.utc_days(first, last),
        args.event,
        args.limit,
        args.as_of_version,
        args.time_in_ms,
    )
    out = sys.stdout.buffer
    for event in found:
        out.write(orjson.dumps(event) + b"\n")
    return 0


def _delete_users(args: argparse.Namespace) -> int:
    project = project_of(args)
    # Every id of each user's identity cluster goes, as with the API.
    deleted = users.delete_users(services_of(args), project, args.distinct_ids, now_ms())
    ids = ", ".join(d.distinct_id for d in deleted)
    print(f"deleted {len(deleted)} distinct_ids from project {project.id}: {ids}")
    return 0


def _history(args: argparse.Namespace) -> int:
    found = events.versions(services_of(args), project_of(args), limit=None)
    if not found:
        raise UserError(f"Expected stored events in project {args.project}, found none yet")
    for entry in found:
        print(f"{entry['version']}\t{entry['timestamp_ms']}\t{entry['operation'] or ''}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    _events_table(args).restore(args.version)
    print(f"restored project {args.project} events to version {args.version}")
    return 0


def _vacuum(args: argparse.Namespace) -> int:
    hours = args.retention_hours
    if hours is not None and hours < 0:
        raise UserError(f"Expected --retention-hours of 0 or more, got {hours}")
    paths = ProjectPaths(args.data_dir, project_of(args).id)
    settings = Settings.from_env()
    for name, root in (("events", paths.events), ("users", paths.users), ("groups", paths.groups)):
        done = tidy(root, settings, hours)
        print(
            f"{name}: removed {done.files_removed} data files and "
            f"{done.log_entries_removed} log entries"
        )
    return 0


def _events_table(args: argparse.Namespace) -> DeltaTable:
    root = ProjectPaths(args.data_dir, project_of(args).id).events
    if not DeltaTable.is_deltatable(str(root)):
        raise UserError(f"Expected stored events in project {args.project}, found none yet")
    return DeltaTable(str(root))


def _log_dump(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    for writer_dir, entry in replay(args.data_dir / "log"):
        record = decode_record(entry.record_payload)
        line = {
            "writer": writer_dir.name,
            "offset": entry.offset,
            "project_id": record.project_id,
            "kind": record.kind,
            "received_ms": record.received_ms,
            "items": record.items,
        }
        out.write(orjson.dumps(line) + b"\n")
    return 0
