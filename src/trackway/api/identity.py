"""GET /api/v1/projects/{id}/identity: the identity cluster a distinct_id belongs to, as
reports see it right now (docs/identity.md has the rules)."""

from __future__ import annotations

from typing import Any

from trackway.api import params as p
from trackway.api.behaviour import only
from trackway.api.context import ApiContext
from trackway.projects import Project
from trackway.storage.identity_clusters import clusters_of
from trackway.storage.scan import EventReader

IDENTITY_PARAMS = {"distinct_id"}


def identity(context: ApiContext, project: Project, params: dict[str, str]) -> dict[str, Any]:
    only(params, "/identity", IDENTITY_PARAMS)
    return lookup(context.events, project, p.required(params, "distinct_id"))


def lookup(reader: EventReader, project: Project, distinct_id: str) -> dict[str, Any]:
    """The id's cluster, canonical id first; an id no event merged is a cluster of its own."""
    cluster = clusters_of(reader.identity(project), [distinct_id])[distinct_id]
    return {
        "distinct_id": distinct_id,
        "canonical_id": cluster[0],
        "cluster": cluster,
        "id_merge": project.id_merge,
    }
