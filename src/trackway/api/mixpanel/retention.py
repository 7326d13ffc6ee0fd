"""Mixpanel's ``/retention`` (birth or compounded cohorts) and ``/retention/addiction``
(frequency), over the retention and frequency reports."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from trackway.api import params as p
from trackway.api.endpoints import Endpoint, Params, json
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.behaviour.result import FrequencyResult, RetentionResult
from trackway.query.behaviour.spec import FrequencySpec, RetentionSpec, Step
from trackway.services import reports
from trackway.services.context import Services

_PERIOD_UNITS = ("day", "week", "month")
_RETENTION_TYPES = {"birth": "first_time", "compounded": "recurring"}


def retention(services: Services, project: Project, params: Params, _: Request) -> Response:
    start, end = p.dates(params)
    kind = p.choice(params, "retention_type", tuple(_RETENTION_TYPES), "birth")
    event = params.get("event") or None
    where = params.get("where") or None
    returning = Step(event=event, where=where)
    if kind == "birth":
        born = Step(event=p.required(params, "born_event"), where=params.get("born_where") or None)
    else:
        for name in ("born_event", "born_where"):
            if params.get(name):
                raise PayloadError(
                    f"Expected `{name}` only with retention_type=birth: compounded cohorts "
                    "are the users who did `event`"
                )
        born = returning
    interval = p.integer(params, "interval", 1, 1, 10_000)
    if interval != 1:
        raise PayloadError(
            f"Expected `interval` 1, got {interval}: buckets of several units are not "
            "supported; use `unit` (day, week or month)"
        )
    spec = RetentionSpec(
        from_date=start,
        to_date=end,
        born=born,
        returning=returning,
        retention_type=_RETENTION_TYPES[kind],  # type: ignore[arg-type]
        unit=p.choice(params, "unit", _PERIOD_UNITS, "day"),  # type: ignore[arg-type]
        periods=p.integer(params, "interval_count", 1, 0, 3_660) or 0,
        mode="on_or_after" if p.boolean(params, "unbounded_retention") else "on",
    )
    result: RetentionResult = reports.run(services, project, spec)
    return json(
        {
            cohort.cohort: {"counts": cohort.counts, "first": cohort.size}
            for cohort in result.cohorts
        }
    )


def addiction(services: Services, project: Project, params: Params, _: Request) -> Response:
    start, end = p.dates(params)
    spec = FrequencySpec(
        from_date=start,
        to_date=end,
        event=params.get("event") or None,
        where=params.get("where") or None,
        unit=p.choice(params, "unit", _PERIOD_UNITS, "week"),  # type: ignore[arg-type]
        addiction_unit=p.choice(params, "addiction_unit", ("hour", "day"), "day"),  # type: ignore[arg-type]
    )
    result: FrequencyResult = reports.run(services, project, spec)
    return json({"data": dict(zip(result.buckets, result.at_least, strict=True))})


_DATES = ("from_date", "to_date")
ROUTES = [
    Endpoint(
        "GET",
        "/retention",
        retention,
        "Retention cohorts: first-time (`birth`) or recurring (`compounded`)",
        _DATES,
        (
            "retention_type",
            "born_event",
            "event",
            "born_where",
            "where",
            "unit",
            "interval",
            "interval_count",
            "unbounded_retention",
        ),
        strict=True,
    ),
    Endpoint(
        "GET",
        "/retention/addiction",
        addiction,
        "Frequency: users active in at least k hours or days of each period",
        _DATES,
        ("unit", "addiction_unit", "event", "where"),
        strict=True,
    ),
]
