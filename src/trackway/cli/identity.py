"""``trackway identity``: the identity cluster a distinct_id belongs to."""

from __future__ import annotations

import argparse
import sys

import orjson

from trackway.api.identity import lookup
from trackway.cli.common import Commands, project_of, project_option
from trackway.settings import Settings
from trackway.storage.scan import EventReader


def register(commands: Commands) -> None:
    identity = commands.add_parser(
        "identity", help="show the identity cluster (and canonical id) of a distinct_id"
    )
    project_option(identity)
    identity.add_argument("distinct_id", help="any id of the person")
    identity.add_argument("--json", action="store_true", help="print the JSON the API answers")
    identity.set_defaults(run=_identity)


def _identity(args: argparse.Namespace) -> int:
    project = project_of(args)
    reader = EventReader(args.data_dir, Settings.from_env().scan_cache_bytes)
    found = lookup(reader, project, args.distinct_id)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(found) + b"\n")
        return 0
    print(f"distinct_id\t{found['distinct_id']}")
    print(f"canonical_id\t{found['canonical_id']}")
    print(f"id_merge\t{found['id_merge']}")
    for member in found["cluster"]:
        print(f"cluster\t{member}")
    return 0
