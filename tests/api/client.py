"""A tiny HTTP client for API tests against a live server."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def lines(self) -> list[dict[str, Any]]:
        body = (
            gzip.decompress(self.body)
            if self.headers.get("content-encoding") == "gzip"
            else self.body
        )
        return [json.loads(line) for line in body.splitlines()]


def call(
    port: int,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
    user: str | None = None,
    password: str = "",
    headers: dict[str, str] | None = None,
) -> Answer:
    query = f"?{urlencode(params)}" if params else ""
    all_headers = dict(headers or {})
    body = None
    if form is not None:
        body = urlencode(form)
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    if user is not None:
        all_headers["Authorization"] = (
            "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path + query, body, all_headers)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def track(port: int, token: str, events: list[dict[str, Any]]) -> None:
    for event in events:
        event["properties"]["token"] = token
    answer = call(port, "POST", "/track", {"verbose": 1}, {"data": json.dumps(events)})
    assert answer.json() == {"status": 1, "error": None}, answer.body


def engage(port: int, token: str, updates: list[dict[str, Any]]) -> None:
    for update in updates:
        update["$token"] = token
    answer = call(port, "POST", "/engage", {"verbose": 1}, {"data": json.dumps(updates)})
    assert answer.json() == {"status": 1, "error": None}, answer.body
