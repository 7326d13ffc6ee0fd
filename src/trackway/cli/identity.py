"""``trackway identity``: the identity cluster a distinct_id belongs to."""

from __future__ import annotations

import argparse

from trackway.cli.options import Commands, print_json, project_of, project_option, services_of
from trackway.services import users


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
    found = users.identity(services_of(args), project, args.distinct_id)
    if args.json:
        print_json(found)
        return 0
    print(f"distinct_id\t{found['distinct_id']}")
    print(f"canonical_id\t{found['canonical_id']}")
    print(f"id_merge\t{found['id_merge']}")
    for member in found["cluster"]:
        print(f"cluster\t{member}")
    return 0
