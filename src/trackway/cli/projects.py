"""``trackway project create|list`` and ``trackway service-account create``."""

from __future__ import annotations

import argparse

import orjson

from trackway.cli.options import Commands, data_dir_option
from trackway.projects import ID_MERGE_MODES, Project, ProjectCatalog


def register(commands: Commands) -> None:
    project = commands.add_parser("project", help="create and list projects")
    actions = project.add_subparsers(required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a project, print its credentials")
    create.add_argument("name")
    create.add_argument(
        "--id-merge",
        choices=ID_MERGE_MODES,
        default="simplified",
        help="how distinct_ids join into one user (default: simplified)",
    )
    data_dir_option(create)
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(run=_create)
    listing = actions.add_parser("list", help="list projects")
    data_dir_option(listing)
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    listing.set_defaults(run=_list)

    account = commands.add_parser("service-account", help="create service accounts")
    account_actions = account.add_subparsers(required=True, metavar="ACTION")
    account_create = account_actions.add_parser("create", help="create a service account")
    account_create.add_argument("name")
    account_create.add_argument(
        "--project", type=int, action="append", required=True, help="project id (repeatable)"
    )
    data_dir_option(account_create)
    account_create.add_argument("--json", action="store_true", help="print JSON")
    account_create.set_defaults(run=_create_account)


def _create(args: argparse.Namespace) -> int:
    project = ProjectCatalog(args.data_dir).create(args.name, args.id_merge)
    if args.json:
        print(orjson.dumps(_json(project)).decode())
    else:
        print(f"id:     {project.id}\nname:   {project.name}")
        print(f"token:  {project.token}\nsecret: {project.secret}")
    return 0


def _list(args: argparse.Namespace) -> int:
    for project in ProjectCatalog(args.data_dir).all():
        if args.json:
            print(orjson.dumps(_json(project)).decode())
        else:
            print(f"{project.id}\t{project.name}\t{project.token}")
    return 0


def _json(project: Project) -> dict[str, object]:
    return {
        "id": project.id,
        "name": project.name,
        "token": project.token,
        "secret": project.secret,
    }


def _create_account(args: argparse.Namespace) -> int:
    account = ProjectCatalog(args.data_dir).create_service_account(args.name, args.project)
    if args.json:
        fields = {
            "username": account.username,
            "secret": account.secret,
            "project_ids": account.project_ids,
        }
        print(orjson.dumps(fields).decode())
    else:
        print(f"username: {account.username}\nsecret:   {account.secret}")
        print(f"projects: {account.project_ids}")
    return 0
