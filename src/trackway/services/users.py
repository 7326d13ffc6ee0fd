"""People rather than ids: the identity cluster a distinct_id belongs to, and deleting users
(GDPR), which deletes every id of each one's cluster."""

from __future__ import annotations

from typing import Any

from trackway.projects import Project
from trackway.services.context import Services
from trackway.storage.deletions import Deletion, DeletionList
from trackway.storage.identity_clusters import clusters_of
from trackway.storage.layout import ProjectPaths


def identity(services: Services, project: Project, distinct_id: str) -> dict[str, Any]:
    """The id's cluster, canonical id first; an id no event merged is a cluster of its own."""
    cluster = clusters_of(services.events.identity(project), [distinct_id])[distinct_id]
    return {
        "distinct_id": distinct_id,
        "canonical_id": cluster[0],
        "cluster": cluster,
        "id_merge": project.id_merge,
    }


def delete_users(
    services: Services, project: Project, distinct_ids: list[str], now_ms: int
) -> list[Deletion]:
    """One deletion per id deleted: the ids asked for and the rest of their clusters."""
    deletions = DeletionList(ProjectPaths(services.data_dir, project.id).deletions)
    return deletions.add(distinct_ids, now_ms, services.events.identity(project))
