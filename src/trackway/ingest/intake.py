"""From a decoded request to log records: authenticate, limit, validate, group by project.

Synchronous and without IO but for the first look at a project's property names (kept in
memory afterwards): the ASGI app feeds it a request, has the records that bring new property
names admitted (``names.admit``, which takes the names file's lock), and appends what
``Draft.finish`` returns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from trackway.errors import AuthError, PayloadError, TooLargeError
from trackway.ingest.decode import Decoded
from trackway.ingest.events import EventContext, event_insert_id, normalise_event
from trackway.ingest.failures import FailedRecord, RecordRejectedError
from trackway.ingest.names import KIND_OF_ENDPOINT, Unknown, unknown_names
from trackway.ingest.profiles import ProfileContext, normalise_update
from trackway.log import LogRecord
from trackway.projects import Project, ProjectCatalog
from trackway.property_names import PropertyNames
from trackway.settings import Settings

ENDPOINTS = ("track", "import", "engage", "groups")
_TRUE = frozenset({"1", "true", "True"})


@dataclass(frozen=True, slots=True)
class Prepared:
    records: list[LogRecord]
    failures: list[FailedRecord]
    total: int

    @property
    def accepted(self) -> int:
        return sum(len(record.items) for record in self.records)


@dataclass(frozen=True, slots=True)
class Draft:
    """A request's valid records before their new property names are admitted."""

    endpoint: str
    received_ms: int
    total: int
    by_project: dict[int, list[dict[str, Any]]]  # normal forms, in request order
    failures: list[FailedRecord]
    # Records bringing a property name this process has not seen (``names.admit``).
    unknown: list[Unknown]

    def finish(self, refused: list[FailedRecord] | None = None) -> Prepared:
        """The log records, one per project, without the ``refused`` records."""
        by_project = self.by_project
        failures = self.failures
        if refused:
            at = {record.index: record for record in self.unknown}
            dropped: dict[int, set[int]] = {}
            for failure in refused:
                record = at[failure.index]
                dropped.setdefault(record.project_id, set()).add(record.position)
            by_project = {
                pid: [n for i, n in enumerate(normals) if i not in dropped.get(pid, ())]
                for pid, normals in by_project.items()
            }
            by_project = {pid: normals for pid, normals in by_project.items() if normals}
            failures = sorted([*failures, *refused], key=lambda failure: failure.index)
        records = [
            LogRecord(pid, self.endpoint, self.received_ms, normals)
            for pid, normals in by_project.items()
        ]
        return Prepared(records, failures, self.total)


def flag(params: dict[str, str], name: str, default: bool = False) -> bool:
    value = params.get(name)
    return default if value is None else value in _TRUE


def prepare(
    endpoint: str,
    decoded: Decoded,
    import_project: Project | None,
    client_ip: str | None,
    received_ms: int,
    catalog: ProjectCatalog,
    settings: Settings,
    names: PropertyNames,
) -> Draft:
    items = decoded.items
    if not items:
        raise PayloadError("Expected at least one record, got an empty array")
    if len(items) > settings.max_records_per_request:
        raise TooLargeError(
            f"Expected at most {settings.max_records_per_request} records per request, got {len(items)}"
        )
    params = decoded.params
    # Only a payload bigger than the per-record limit can hold a record over it.
    check_sizes = decoded.payload_bytes > settings.max_event_bytes
    by_project: dict[int, list[dict[str, Any]]] = {}
    unknown: list[Unknown] = []
    failures: list[FailedRecord] = []
    kind = KIND_OF_ENDPOINT[endpoint]
    known_sets: dict[int, frozenset[str]] = {}  # the project's names, looked up once
    token_failures = 0
    contexts = _Contexts(
        endpoint,
        received_ms,
        settings,
        strict=flag(params, "strict", default=endpoint == "import"),
        ip_id=_ip_distinct_id(client_ip) if flag(params, "ip") else None,
        needs_cleaning=decoded.needs_cleaning,
    )
    for index, item in enumerate(items):
        try:
            if index in decoded.bad_lines:
                raise RecordRejectedError("", decoded.bad_lines[index])
            if check_sizes:
                _check_size(item, index, settings)
            project = import_project or contexts.project_for(item, index, catalog)
            normal = contexts.normalise(item, index, project)
        except _TokenError as exc:
            token_failures += 1
            failures.append(FailedRecord(index, event_insert_id(item), exc.field, exc.message))
            continue
        except RecordRejectedError as exc:
            failures.append(FailedRecord(index, event_insert_id(item), exc.field, exc.message))
            continue
        known = known_sets.get(project.id)
        if known is None:
            known = known_sets[project.id] = names.known(project.id, kind)
        kept = by_project.setdefault(project.id, [])
        # The common case, checked inline: an event whose property names are all known.
        if kind == "events" and known.issuperset(normal["properties"]):
            brought = None
        else:
            brought = unknown_names(normal, kind, known)
        if brought is not None:
            insert_id = event_insert_id(item)
            unknown.append(Unknown(index, project.id, len(kept), insert_id, brought))
        kept.append(normal)
    if items and token_failures == len(items):
        raise AuthError(failures[0].message)
    return Draft(endpoint, received_ms, len(items), by_project, failures, unknown)


class _TokenError(RecordRejectedError):
    pass


def _project_for(item: Any, index: int, endpoint: str, catalog: ProjectCatalog) -> Project:
    """The project an item's token names; 401-style failure when it names none."""
    if type(item) is not dict:
        raise RecordRejectedError(
            "", f"Expected an object, got {type(item).__name__} - at `$[{index}]`"
        )
    if endpoint == "track":
        props = item.get("properties")
        token = props.get("token") if type(props) is dict else None
        field = "properties.token"
    else:
        token = item.get("$token")
        field = "$token"
    if type(token) is not str or not token:
        raise _TokenError(
            field, f"Expected the project token in `{field}` - at `$[{index}].{field}`"
        )
    project = catalog.by_token(token)
    if project is None:
        raise _TokenError(
            field, f"Invalid credentials: unknown project token - at `$[{index}].{field}`"
        )
    return project


@dataclass(slots=True)
class _Contexts:
    """Builds each project's validation context once per request, not once per record."""

    endpoint: str
    received_ms: int
    settings: Settings
    strict: bool
    ip_id: str | None
    needs_cleaning: bool
    _events: dict[int, EventContext] = field(default_factory=dict)
    _last_token: tuple[str, Project] | None = None

    def project_for(self, item: Any, index: int, catalog: ProjectCatalog) -> Project:
        # Batches almost always carry one token: remember the last one resolved.
        if self._last_token is not None and type(item) is dict:
            props = item.get("properties") if self.endpoint == "track" else None
            token = props.get("token") if type(props) is dict else item.get("$token")
            if token == self._last_token[0]:
                return self._last_token[1]
        project = _project_for(item, index, self.endpoint, catalog)
        self._last_token = (project.token, project)
        return project

    def normalise(self, item: Any, index: int, project: Project) -> dict[str, Any]:
        if self.endpoint in {"engage", "groups"}:
            ctx = ProfileContext(self.endpoint == "groups", self.received_ms, self.settings)
            return normalise_update(item, index, ctx)
        event_ctx = self._events.get(project.id)
        if event_ctx is None:
            event_ctx = self._events[project.id] = EventContext(
                is_import=self.endpoint == "import",
                received_ms=self.received_ms,
                settings=self.settings,
                strict=self.strict,
                simplified_id_merge=project.id_merge == "simplified",
                ip_distinct_id=self.ip_id,
                needs_cleaning=self.needs_cleaning,
            )
        return normalise_event(item, index, event_ctx)


def _check_size(item: Any, index: int, settings: Settings) -> None:
    size = len(orjson.dumps(item))
    if size > settings.max_event_bytes:
        raise RecordRejectedError(
            "",
            f"Expected a record under {settings.max_event_bytes} bytes, got {size} - at `$[{index}]`",
        )


def _ip_distinct_id(client_ip: str | None) -> str | None:
    if not client_ip:
        return None
    return "$ip:" + hashlib.sha256(client_ip.encode()).hexdigest()[:20]
