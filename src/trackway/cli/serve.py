"""``trackway serve``: the HTTP server and, beside it, the storage worker process."""

from __future__ import annotations

import argparse
import multiprocessing
import os
from datetime import UTC, datetime
from pathlib import Path

from trackway.cli.demo import create_demo_project
from trackway.cli.options import Commands, data_dir_option
from trackway.projects import Project, ProjectCatalog
from trackway.server import DATA_DIR_ENV
from trackway.settings import Settings
from trackway.storage.stored_names import seed_property_names
from trackway.storage.worker import StorageWorker, run_worker


def register(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="serve the HTTP endpoints")
    data_dir_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="HTTP processes (default 1)")
    serve.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    serve.add_argument(
        "--demo", action="store_true", help="on first run, fill the first project with demo events"
    )
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only `serve` needs the server stack

    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    catalog = ProjectCatalog(data_dir)
    url = f"http://{args.host}:{args.port}"
    if not catalog.all():
        first = create_demo_project(data_dir) if args.demo else catalog.create("Default")
        _print_first_run(first, url)
    print(f"trackway serving {data_dir} at {url}", flush=True)
    print(f"Open {url}/ in a browser and sign in with a project's API secret.", flush=True)
    os.environ[DATA_DIR_ENV] = str(data_dir)
    # Files a crash left written but uncommitted go before anything is served (the worker
    # would remove them too, but only once it has started).
    StorageWorker(data_dir, Settings.from_env()).remove_orphans()
    # A data directory from before the per-project property names (or a table written
    # directly) counts the names its tables hold against the cap from the first request.
    seed_property_names(data_dir, catalog.all())
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
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    print(
        f"""Created project {project.id} "{project.name}".
  token:  {project.token}
  secret: {project.secret}
Send an event:
  curl -s '{url}/track?verbose=1' --data-urlencode 'data={event}'
Read today's events back:
  curl -s -u '{project.secret}:' '{url}/api/2.0/export?from_date={today}&to_date={today}'
""",
        flush=True,
    )
