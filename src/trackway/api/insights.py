"""Native Insights: ``POST /api/v1/projects/{id}/insights`` with the full spec as JSON."""

from __future__ import annotations

from typing import Any

import msgspec

from trackway.api.context import ApiContext
from trackway.errors import PayloadError
from trackway.projects import Project
from trackway.query.insights import run_insights
from trackway.query.spec import InsightsSpec

_decoder = msgspec.json.Decoder(InsightsSpec)


def decode_spec(body: bytes) -> InsightsSpec:
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"Invalid Insights spec: {exc}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"Expected a JSON Insights spec: {exc}") from None


def insights(context: ApiContext, project: Project, body: bytes) -> dict[str, Any]:
    return run_insights(context.events, project, decode_spec(body))
