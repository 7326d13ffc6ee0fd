"""Whole identity clusters of given ids, for the reads and deletions that name a person by
any of their ids (the identity lookup, the activity feed, GDPR deletion)."""

from __future__ import annotations

from collections.abc import Iterable

from trackway.storage.identity import IdentityMap


def clusters_of(identity: IdentityMap, distinct_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each given id → every id of its cluster, the canonical one first, the others sorted.

    One pass over the map for all the ids: a map may hold millions of devices, and a
    deletion names up to 2000 users."""
    wanted = list(dict.fromkeys(distinct_ids))
    roots = {d: identity.canonical(d) for d in wanted}
    members: dict[str, list[str]] = {root: [] for root in roots.values()}
    for member, root in identity.canonical_of.items():
        found = members.get(root)
        if found is not None:
            found.append(member)
    return {d: [roots[d], *sorted(members[roots[d]])] for d in wanted}


def with_clusters(identity: IdentityMap, distinct_ids: Iterable[str]) -> list[str]:
    """The given ids and every other id of their clusters, each once, cluster by cluster."""
    out: dict[str, None] = {}
    for cluster in clusters_of(identity, distinct_ids).values():
        out.update(dict.fromkeys(cluster))
    return list(out)
