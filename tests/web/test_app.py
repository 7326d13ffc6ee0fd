"""Serving the web app's files: the page at /, modules and styles under /web/, the charting
library from the installed plotly package, with their content types and caching headers."""

from __future__ import annotations

import asyncio
import gzip
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from trackway.web.app import WebApp

STATIC = Path(__file__).resolve().parents[2] / "src" / "trackway" / "web" / "static"


def _get(
    app: WebApp, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    asyncio.run(app(scope, receive, send))
    start, body = sent
    return (
        start["status"],
        {k.decode(): v.decode() for k, v in start["headers"]},
        body["body"],
    )


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        pytest.param("/", "text/html; charset=utf-8", id="page"),
        pytest.param("/web/js/main.js", "text/javascript; charset=utf-8", id="module"),
        pytest.param("/web/css/base.css", "text/css; charset=utf-8", id="style"),
        pytest.param("/web/icon.svg", "image/svg+xml", id="icon"),
        pytest.param("/web/vendor/plotly.min.js", "text/javascript; charset=utf-8", id="plotly"),
    ],
)
def test_files_have_their_content_type(path: str, content_type: str) -> None:
    status, headers, body = _get(WebApp(), path)
    assert status == 200
    assert headers["content-type"] == content_type
    assert headers["x-content-type-options"] == "nosniff"
    assert int(headers["content-length"]) == len(body) > 0


def test_plotly_comes_from_the_installed_package() -> None:
    installed = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    app = WebApp()
    assert _get(app, "/web/vendor/plotly.min.js")[2] == installed
    status, headers, body = _get(
        app, "/web/vendor/plotly.min.js", headers={"accept-encoding": "gzip, br"}
    )
    assert (status, headers["content-encoding"]) == (200, "gzip")
    assert gzip.decompress(body) == installed
    assert not (STATIC / "vendor").exists()  # never copied into the repository


def test_an_unchanged_file_answers_304_and_head_has_no_body() -> None:
    app = WebApp()
    _, headers, body = _get(app, "/web/js/main.js")
    etag = headers["etag"]
    status, _, again = _get(app, "/web/js/main.js", headers={"if-none-match": etag})
    assert (status, again) == (304, b"")
    status, head_headers, head_body = _get(app, "/web/js/main.js", method="HEAD")
    assert (status, head_body) == (200, b"")
    assert head_headers["content-length"] == str(len(body))


@pytest.mark.parametrize(
    "path",
    [
        "/web/missing.js",
        "/web/../app.py",
        "/web/js/../../app.py",
        "/web/.hidden",
        "/web/",
        "/web//etc/passwd",
        "/web/js",
    ],
)
def test_only_the_apps_files_are_served(path: str) -> None:
    status, headers, body = _get(WebApp(), path)
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert b'"error_code":"not_found"' in body


def test_other_methods_answer_405() -> None:
    status, _, body = _get(WebApp(), "/", method="POST")
    assert status == 405
    assert b"method_not_allowed" in body


def test_every_module_the_page_loads_exists() -> None:
    """Each import and asset path in the app resolves to a file that is served."""
    app = WebApp()
    page = (STATIC / "index.html").read_text()
    wanted = set(re.findall(r'(?:src|href)="(/web/[^"]+)"', page))
    for module in STATIC.rglob("*.js"):
        for target in re.findall(r'^import .* from "(\.[^"]+)";', module.read_text(), re.M):
            resolved = (module.parent / target).resolve().relative_to(STATIC)
            wanted.add(f"/web/{resolved.as_posix()}")
    assert "/web/js/pages/insights.js" in wanted
    missing = [path for path in sorted(wanted) if _get(app, path)[0] != 200]
    assert not missing


def test_modules_stay_small() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in STATIC.rglob("*.js")}
    assert max(sizes.values()) < 300, sizes
