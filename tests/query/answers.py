"""Running a report as a test reads it: the typed result as the builtins the API's JSON
holds, so it compares with a reference's plain dicts."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from trackway.projects import Project
from trackway.query.reports import REPORTS, decode_spec, run_report
from trackway.storage.scan import EventReader


def answer(reader: EventReader, project: Project, spec: Any, now_ms: int = 0) -> Any:
    """The report ``spec`` asks for (its kind is its type), as builtins."""
    return msgspec.to_builtins(run_report(reader, project, spec, now_ms))


def answer_json(reader: EventReader, project: Project, kind: str, fields: dict[str, Any]) -> Any:
    """The report of ``kind`` whose spec is ``fields`` as JSON, decoded as the API decodes."""
    spec = decode_spec(REPORTS[kind], json.dumps(fields, default=str).encode())
    return answer(reader, project, spec)
