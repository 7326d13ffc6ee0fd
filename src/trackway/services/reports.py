"""Running reports. Every report the API or the CLI runs goes through here, the one place
that decides where a report executes (this process's query threads today)."""

from __future__ import annotations

from typing import Any

from trackway.projects import Project
from trackway.query.reports import Spec, decode_spec, report_kind, run_report
from trackway.services.context import Services


def run(services: Services, project: Project, spec: Spec) -> Any:
    """The report ``spec`` asks for (its kind is its type): a typed result."""
    return run_report(services.events, project, spec)


def run_json(services: Services, project: Project, kind: str, body: bytes) -> Any:
    """The report of kind ``kind`` whose spec is the JSON ``body``."""
    return run(services, project, decode_spec(report_kind(kind), body))
