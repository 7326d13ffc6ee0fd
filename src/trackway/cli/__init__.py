"""The ``trackway`` command line. Each module registers its commands on the parser."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from trackway.cli import cohorts, data, demo, identity, projects, reports, serve
from trackway.errors import TrackwayError, UserError


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="trackway", description="trackway: product analytics")
    commands = root.add_subparsers(required=True, metavar="COMMAND")
    for module in (serve, projects, data, demo, reports, identity, cohorts):
        module.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except UserError as exc:
        print(f"trackway: {exc.message}", file=sys.stderr)
        return 2
    except TrackwayError as exc:
        print(f"trackway: {exc}", file=sys.stderr)
        return 1
    return code
