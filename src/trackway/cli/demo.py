"""``trackway demo``: a project filled with generated events, to explore right away."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from trackway.cli.options import Commands, data_dir_option
from trackway.datagen import DAY_MS, generate, to_table
from trackway.projects import Project, ProjectCatalog
from trackway.storage.events_table import EventTable
from trackway.storage.layout import ProjectPaths
from trackway.storage.stored_names import seed_property_names


def register(commands: Commands) -> None:
    demo = commands.add_parser("demo", help="create a project with generated demo events")
    data_dir_option(demo)
    demo.add_argument("--events", type=int, default=300_000, help="events (default 300000)")
    demo.add_argument("--users", type=int, default=20_000, help="users (default 20000)")
    demo.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    demo.add_argument("--if-empty", action="store_true", help="only when there is no project yet")
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    catalog = ProjectCatalog(args.data_dir)
    if args.if_empty and catalog.all():
        return 0
    project = create_demo_project(args.data_dir, args.events, args.users, args.seed)
    print(f'Created project {project.id} "Demo" with {args.events} events of {args.users} users.')
    print(f"  token:  {project.token}\n  secret: {project.secret}")
    return 0


def create_demo_project(
    data_dir: Path, events: int = 300_000, users: int = 20_000, seed: int = 7
) -> Project:
    project = ProjectCatalog(data_dir).create("Demo")
    now_ms = int(time.time() * 1000)
    # 30 days ending now, so every report's default date range shows data.
    generated = generate(events, users, days=30, start_ms=now_ms - 30 * DAY_MS, seed=seed)
    table = to_table(generated, project.shards, received_ms=now_ms)
    EventTable(ProjectPaths(data_dir, project.id).events).append(table, {})
    # Written straight to the table, not through ingest: the names registry learns them here.
    seed_property_names(data_dir, [project])
    return project
