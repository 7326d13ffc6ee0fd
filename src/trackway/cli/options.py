"""Options, lookups and output helpers shared by the commands."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any, TextIO, TypeAlias

import msgspec

from trackway.errors import UserError
from trackway.projects import Project, ProjectCatalog
from trackway.server import DATA_DIR_ENV
from trackway.services.context import Services
from trackway.settings import Settings

DEFAULT_DATA_DIR = "trackway-data"
# argparse's subparsers action; subscripting it is for type checkers only.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR)),
        help=f"data directory (default ${DATA_DIR_ENV} or ./{DEFAULT_DATA_DIR})",
    )


def project_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", type=int, required=True, help="project id")
    data_dir_option(parser)


def project_of(args: argparse.Namespace) -> Project:
    project = ProjectCatalog(args.data_dir).by_id(args.project)
    if project is None:
        raise UserError(f"Expected an existing project id, got {args.project}")
    return project


def services_of(args: argparse.Namespace) -> Services:
    """The use cases over ``--data-dir``, with the settings of the environment."""
    return Services.open(args.data_dir, Settings.from_env())


def print_json(value: Any, *, indent: bool = False, stream: TextIO | None = None) -> None:
    """``value`` (builtins or msgspec Structs) as one line of JSON, or indented."""
    data = msgspec.json.encode(value)
    out = stream or sys.stdout
    out.write((msgspec.json.format(data, indent=2) if indent else data).decode() + "\n")


def day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"Expected {flag} as a date YYYY-MM-DD, got {text!r}") from None
