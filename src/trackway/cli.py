"""The ``trackway`` command line: serve, project create|list, log dump."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from trackway.errors import TrackwayError, UserError
from trackway.projects import Project, ProjectCatalog
from trackway.server import DATA_DIR_ENV
from trackway.storage.worker import run_worker

DEFAULT_DATA_DIR = "trackway-data"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except UserError as exc:
        print(f"trackway: {exc.message}", file=sys.stderr)
        return 2
    except TrackwayError as exc:
        print(f"trackway: {exc}", file=sys.stderr)
        return 1
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trackway", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the HTTP endpoints")
    _data_dir(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="ingest processes (default 1)")
    serve.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    serve.set_defaults(run=_serve)

    project = commands.add_parser("project", help="create and list projects")
    project_commands = project.add_subparsers(required=True, metavar="ACTION")
    create = project_commands.add_parser("create", help="create a project, print its credentials")
    create.add_argument("name")
    _data_dir(create)
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(run=_project_create)
    listing = project_commands.add_parser("list", help="list projects")
    _data_dir(listing)
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    listing.set_defaults(run=_project_list)

    log = commands.add_parser("log", help="inspect the write-ahead log")
    log_commands = log.add_subparsers(required=True, metavar="ACTION")
    dump = log_commands.add_parser("dump", help="print every record in the log as JSON lines")
    _data_dir(dump)
    dump.set_defaults(run=_log_dump)
    return parser


def _data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR)),
        help=f"data directory (default ${DATA_DIR_ENV} or ./{DEFAULT_DATA_DIR})",
    )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only `serve` needs the server stack

    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    catalog = ProjectCatalog(data_dir)
    url = f"http://{args.host}:{args.port}"
    if not catalog.all():
        _print_first_run(catalog.create("Default"), url)
    print(f"trackway serving {data_dir} at {url}", flush=True)
    os.environ[DATA_DIR_ENV] = str(data_dir)
    # The storage worker runs as its own process: log -> Delta tables, deletions, compaction.
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    worker = context.Process(target=run_worker, args=(str(data_dir), stop), name="trackway-storage")
    worker.start()
    try:
        uvicorn.run(
            "trackway.server:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            loop="uvloop",
            http="httptools",
            access_log=False,
        )
    finally:
        stop.set()
        worker.join(timeout=30)
        if worker.is_alive():
            worker.terminate()
    return 0


def _print_first_run(project: Project, url: str) -> None:
    event = (
        f'{{"event":"Signed up","properties":{{"token":"{project.token}","distinct_id":"user-1"}}}}'
    )
    print(
        f"""Created project {project.id} "{project.name}".
  token:  {project.token}
  secret: {project.secret}
Send an event:
  curl -s '{url}/track?verbose=1' --data-urlencode 'data={event}'
""",
        flush=True,
    )


def _project_create(args: argparse.Namespace) -> int:
    project = ProjectCatalog(args.data_dir).create(args.name)
    if args.json:
        print(orjson.dumps(_project_json(project)).decode())
    else:
        print(f"id:     {project.id}\nname:   {project.name}")
        print(f"token:  {project.token}\nsecret: {project.secret}")
    return 0


def _project_list(args: argparse.Namespace) -> int:
    for project in ProjectCatalog(args.data_dir).all():
        if args.json:
            print(orjson.dumps(_project_json(project)).decode())
        else:
            print(f"{project.id}\t{project.name}\t{project.token}")
    return 0


def _project_json(project: Project) -> dict[str, object]:
    return {
        "id": project.id,
        "name": project.name,
        "token": project.token,
        "secret": project.secret,
    }


def _log_dump(args: argparse.Namespace) -> int:
    from trackway.log import decode_record, replay  # noqa: PLC0415

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


if __name__ == "__main__":
    sys.exit(main())
