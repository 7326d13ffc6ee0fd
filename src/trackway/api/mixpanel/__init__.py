"""Mixpanel's Query API shapes, under ``/api/2.0`` and ``/api/query``: each module parses
Mixpanel's parameters into a report spec or a use case, and shapes the answer as Mixpanel
does (docs/api.md says where trackway goes beyond or falls short of that contract)."""

from trackway.api.endpoints import Endpoint
from trackway.api.mixpanel import cohorts, engage, export, funnels, insights, retention

PREFIXES = ("/api/2.0", "/api/query")
ROUTES: list[Endpoint] = [
    *export.ROUTES,
    *engage.ROUTES,
    *cohorts.ROUTES,
    *insights.ROUTES,
    *funnels.ROUTES,
    *retention.ROUTES,
]
