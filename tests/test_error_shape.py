"""Every HTTP error outside Mixpanel's /track, /engage and /groups answers one JSON shape."""

from __future__ import annotations

from pathlib import Path

from tests.api.client import call
from tests.live_server import make_project, running_server

SHAPE = {"code", "error", "status", "error_code"}


def test_one_error_shape(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    cases = [
        ("GET", "/nowhere", {}, None, 404),
        ("GET", "/api/2.0/nowhere", {}, project.secret, 404),
        ("DELETE", "/api/2.0/export", {}, project.secret, 405),
        ("GET", "/api/2.0/export", {}, None, 401),
        ("GET", "/api/2.0/export", {"from_date": "2026-01-02"}, project.secret, 400),
        (
            "GET",
            "/api/2.0/export",
            {"from_date": "2026-01-02", "to_date": "2026-01-01"},
            project.secret,
            400,
        ),
        (
            "GET",
            "/api/2.0/export",
            {"from_date": "2026-01-01", "to_date": "2026-01-01", "limit": "-1"},
            project.secret,
            400,
        ),
        (
            "GET",
            "/api/2.0/export",
            {"from_date": "2026-01-01", "to_date": "2026-01-01", "event": "[1]"},
            project.secret,
            400,
        ),
        ("POST", "/import", {}, "wrong", 401),
        ("POST", "/import", {}, project.secret, 400),
    ]
    with running_server(tmp_path) as server:
        for method, path, params, user, status in cases:
            answer = call(server.port, method, path, params, user=user)
            assert answer.status == status, (path, params, answer.body)
            body = answer.json()
            assert set(body) >= SHAPE, (path, body)
            assert body["code"] == status
            assert body["error"].startswith(("Expected", "Invalid", "request")), body
        verbose = call(server.port, "GET", "/track", {"verbose": 1, "data": "{"})
        assert verbose.status == 400
        assert set(verbose.json()) == {"status", "error", "error_code"}
