"""What an API route is: an endpoint of one of the two faces (Mixpanel's shapes under
``/api/2.0``, the native routes under ``/api/v1/projects/{id}``), its handler, and what the
OpenAPI document says of it. The route tables of ``api/mixpanel/`` and ``api/native/`` are
the one list both the server and the document read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from trackway.errors import NotFoundError, PayloadError
from trackway.projects import Project
from trackway.services.context import Services

T = TypeVar("T")
Params = dict[str, str]
# A handler runs on a worker thread, after authentication, with the request's parameters
# (query string and form or JSON body) and its raw body in ``request.state.body``.
Handler = Callable[[Services, Project, Params, Request], Response]
# Parameters of Mixpanel's contract that trackway does not implement, and why.
NOT_IMPLEMENTED = {
    "workspace_id": "data views are not supported",
    "on": "segmenting by `on` is not supported on this endpoint",
    "limit": "`limit` goes with `on`, which is not supported on this endpoint",
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str  # relative to its face's prefix
    handler: Handler
    summary: str
    required: tuple[str, ...] = ()  # query parameters
    optional: tuple[str, ...] = ()
    strict: bool = False  # any other parameter is refused by name rather than ignored
    body: type[Any] | None = None  # the JSON request body, for the document
    result: type[Any] | None = None  # the JSON answer, for the document
    example: dict[str, Any] | None = None  # a request body that works, for the document

    def check_params(self, params: Params) -> None:
        if not self.strict:
            return
        accepted = {*self.required, *self.optional}
        unknown = sorted(set(params) - accepted - {"project_id"})
        if not unknown:
            return
        name = unknown[0]
        why = NOT_IMPLEMENTED.get(name, "it is not a parameter trackway implements")
        expected = ", ".join(f"`{a}`" for a in sorted(accepted)) or "no parameter but `project_id`"
        raise PayloadError(f"Expected {expected} for {self.path}, got `{name}`: {why}")


def json(value: Any) -> Response:
    """``value`` (builtins or msgspec Structs, typed results among them) as JSON."""
    return Response(msgspec.json.encode(value), media_type="application/json")


def decode(body: bytes, kind: type[T], what: str) -> T:
    """A request body of type ``kind``; a message naming the field when it does not decode."""
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"Invalid {what}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"Expected a JSON {what}: {exc}") from None


def path_id(request: Request, key: str, what: str) -> int:
    """A saved object's id from the path: a malformed one is a 404 in the one error shape."""
    raw = str(request.path_params[key])
    return object_id(raw, what)


def object_id(raw: str, what: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise NotFoundError(f"Expected a saved {what} id (an integer), got {raw[:40]!r}")
    return int(raw)
