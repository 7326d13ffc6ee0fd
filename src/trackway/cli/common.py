"""Options and lookups shared by the commands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TypeAlias

from trackway.errors import UserError
from trackway.projects import Project, ProjectCatalog
from trackway.server import DATA_DIR_ENV

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
