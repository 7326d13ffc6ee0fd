"""Saved funnels: named funnel definitions per project, which Mixpanel's ``/funnels?funnel_id=``
and ``/funnels/list`` name, kept in the project's directory as ``saved_funnels.json``.

A definition is a ``FunnelSpec`` without its dates: the dates come with every run. It is
checked when it is saved, so a saved funnel always decodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import orjson

from trackway.api.context import ApiContext
from trackway.errors import NotFoundError, PayloadError
from trackway.files import atomic_write, exclusive_lock
from trackway.projects import Project
from trackway.query.behaviour.funnels import check
from trackway.query.behaviour.spec import FunnelSpec
from trackway.query.expr import ExpressionError, compile_expression
from trackway.query.timebuckets import zone
from trackway.storage.layout import ProjectPaths

FILE_NAME = "saved_funnels.json"
_DATES = ("from_date", "to_date")
# Any day does to check a definition: the dates are given when the funnel runs.
_ANY_DAY = date(2000, 1, 1)


class SavedFunnel(msgspec.Struct, frozen=True):
    funnel_id: int
    name: str
    funnel: dict[str, Any]  # FunnelSpec fields except the dates, as they were saved
    created_ms: int


class _File(msgspec.Struct):
    next_id: int = 1  # ids are never reused, so a deleted funnel's id stays unknown
    funnels: list[SavedFunnel] = []


class _SaveRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    funnel: dict[str, Any]


_file_decoder = msgspec.json.Decoder(_File)
_request_decoder = msgspec.json.Decoder(_SaveRequest)
_spec_decoder = msgspec.json.Decoder(FunnelSpec)


def funnel_spec(definition: dict[str, Any], from_date: date, to_date: date) -> FunnelSpec:
    """The saved ``definition`` as a spec over the given days; a bad one names its field."""
    dated = [name for name in _DATES if name in definition]
    if dated:
        raise PayloadError(
            f"Expected a funnel definition without dates, got `{dated[0]}` - at `$.funnel`: "
            "the dates are given when the funnel runs"
        )
    body = orjson.dumps({**definition, "from_date": from_date, "to_date": to_date})
    try:
        return _spec_decoder.decode(body)
    except msgspec.ValidationError as exc:
        # Paths are relative to the definition; name them as the save request does.
        message = str(exc).replace("- at `$", "- at `$.funnel", 1)
        raise PayloadError(f"Invalid funnel definition: {message}") from None


def check_definition(spec: FunnelSpec) -> None:
    """Refuse now what the engine would refuse when the funnel runs."""
    try:
        check(spec)
        if spec.timezone is not None:
            zone(spec.timezone)
    except PayloadError as exc:
        raise PayloadError(f"Invalid funnel definition: {exc.message}") from None
    for path, text in _expressions(spec):
        try:
            compile_expression(text)
        except ExpressionError as exc:
            raise PayloadError(
                f"Invalid funnel definition at `$.funnel.{path}`: {exc.message}"
            ) from None


def _expressions(spec: FunnelSpec) -> Iterator[tuple[str, str]]:
    if spec.where:
        yield "where", spec.where
    for i, step in enumerate(spec.steps):
        if step.where:
            yield f"steps[{i}].where", step.where
    for i, exclusion in enumerate(spec.exclusions):
        if exclusion.where:
            yield f"exclusions[{i}].where", exclusion.where
    for i, breakdown in enumerate(spec.breakdowns):
        if breakdown.expression:
            yield f"breakdowns[{i}].expression", breakdown.expression


class SavedFunnels:
    """One project's saved funnels. Several server processes share the file: writers take an
    exclusive lock and replace it atomically; readers read it whole (it is small)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @classmethod
    def of(cls, data_dir: Path, project_id: int) -> SavedFunnels:
        return cls(ProjectPaths(data_dir, project_id).root / FILE_NAME)

    def add(self, name: str, definition: dict[str, Any], now_ms: int) -> SavedFunnel:
        if not name.strip():
            raise PayloadError("Expected a non-empty `name` - at `$.name`")
        check_definition(funnel_spec(definition, _ANY_DAY, _ANY_DAY))
        with exclusive_lock(self._path.with_suffix(".lock")):
            current = self._read()
            saved = SavedFunnel(current.next_id, name, definition, now_ms)
            current.funnels.append(saved)
            current.next_id += 1
            atomic_write(self._path, msgspec.json.encode(current))
        return saved

    def all(self) -> list[SavedFunnel]:
        return self._read().funnels

    def get(self, funnel_id: int) -> SavedFunnel:
        for saved in self._read().funnels:
            if saved.funnel_id == funnel_id:
                return saved
        raise NotFoundError(f"Expected the id of a saved funnel of this project, got {funnel_id}")

    def remove(self, funnel_id: int) -> None:
        with exclusive_lock(self._path.with_suffix(".lock")):
            current = self._read()
            kept = [f for f in current.funnels if f.funnel_id != funnel_id]
            if len(kept) == len(current.funnels):
                raise NotFoundError(
                    f"Expected the id of a saved funnel of this project, got {funnel_id}"
                )
            current.funnels = kept
            atomic_write(self._path, msgspec.json.encode(current))

    def _read(self) -> _File:
        try:
            return _file_decoder.decode(self._path.read_bytes())
        except FileNotFoundError:
            return _File()


def funnel_id(raw: str) -> int:
    """A funnel id from a path or a query parameter."""
    if not raw.isdigit() or len(raw) > 18:
        raise NotFoundError(f"Expected a saved funnel id (an integer), got {raw[:40]!r}")
    return int(raw)


# The native routes: /api/v1/projects/{id}/saved-funnels[/{funnel_id}]


def create(context: ApiContext, project: Project, body: bytes, now_ms: int) -> dict[str, Any]:
    try:
        request = _request_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"Invalid saved funnel: {exc}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"Expected a JSON saved funnel: {exc}") from None
    saved = SavedFunnels.of(context.data_dir, project.id).add(request.name, request.funnel, now_ms)
    return {"funnel_id": saved.funnel_id, "name": saved.name}


def list_all(context: ApiContext, project: Project) -> dict[str, Any]:
    funnels = SavedFunnels.of(context.data_dir, project.id).all()
    return {"funnels": msgspec.to_builtins(funnels)}


def get_one(context: ApiContext, project: Project, raw_id: str) -> dict[str, Any]:
    saved = SavedFunnels.of(context.data_dir, project.id).get(funnel_id(raw_id))
    result: dict[str, Any] = msgspec.to_builtins(saved)
    return result


def delete(context: ApiContext, project: Project, raw_id: str) -> dict[str, Any]:
    number = funnel_id(raw_id)
    SavedFunnels.of(context.data_dir, project.id).remove(number)
    return {"funnel_id": number, "deleted": True}
