"""Reading query-API parameters: from the query string and a url-encoded form body, typed,
with messages that name the parameter and what was expected."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from trackway.errors import PayloadError

_MAX_FIELDS = 64


async def request_params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        if body and "json" in content_type:
            try:
                decoded = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise PayloadError(f"Expected a JSON object body: {exc}") from None
            if not isinstance(decoded, dict):
                raise PayloadError("Expected a JSON object body")
            params.update(
                {
                    k: v if isinstance(v, str) else orjson.dumps(v).decode()
                    for k, v in decoded.items()
                }
            )
        elif body:
            try:
                pairs = parse_qsl(
                    body.decode(),
                    keep_blank_values=True,
                    errors="strict",
                    max_num_fields=_MAX_FIELDS,
                )
            except (UnicodeDecodeError, ValueError) as exc:
                raise PayloadError(f"Expected a url-encoded form body: {exc}") from None
            params.update(pairs)
    return params


def required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise PayloadError(f"Expected the `{name}` parameter, it is missing")
    return value


def day(params: dict[str, str], name: str) -> date:
    raw = required(params, name)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise PayloadError(f"Expected `{name}` as a date YYYY-MM-DD, got {raw!r}") from None


def integer(
    params: dict[str, str], name: str, default: int | None, low: int, high: int
) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PayloadError(f"Expected `{name}` as an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise PayloadError(f"Expected `{name}` between {low} and {high}, got {value}")
    return value


def boolean(params: dict[str, str], name: str) -> bool:
    return params.get(name, "").lower() in ("1", "true", "yes")


def json_list(params: dict[str, str], name: str, item_type: type = str) -> list[Any] | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, item_type) for v in value):
        raise PayloadError(
            f"Expected `{name}` as a JSON array of {item_type.__name__}s, got {raw[:100]!r}"
        )
    return value


def as_of(params: dict[str, str]) -> int | datetime | None:
    """``as_of_version`` (a table version) or ``as_of_timestamp`` (ISO 8601): time travel."""
    version = integer(params, "as_of_version", None, 0, 2**62)
    if version is not None:
        return version
    raw = params.get("as_of_timestamp")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise PayloadError(f"Expected `as_of_timestamp` in ISO 8601, got {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def choice(params: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = params.get(name) or default
    if value not in choices:
        raise PayloadError(f"Expected `{name}` one of {', '.join(choices)}, got {value!r}")
    return value


def dates(params: dict[str, str]) -> tuple[date, date]:
    """``from_date`` and ``to_date``, the second on or after the first."""
    start, end = day(params, "from_date"), day(params, "to_date")
    if end < start:
        raise PayloadError(f"Expected `to_date` on or after `from_date`, got {end} before {start}")
    return start, end
