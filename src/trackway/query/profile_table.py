"""User and group profiles as columns a report looks up by each row's unit: ``user["plan"]``.

Rows carry their unit's hash: the canonical distinct_id's (users, after identity clusters)
or, in group analytics, the group id's. A ProfileTable holds one profile per hash, sorted,
and answers a property per row by binary search; properties become columns only when an
expression asks for them. One table serves a query's every shard; it is kept in the
reader's cache while the profiles, the identity clusters and the group stay the same.

Which profile is a user's: profiles are stored by distinct_id, and several distinct_ids may
be one person. Each profile belongs to the canonical id of its key; when several belong to
one person, the canonical id's own profile wins, otherwise the one seen last (the latest
``last_seen_ms``, ties to the lowest distinct_id). Profiles are not merged property by
property, so a user's properties always come from one profile, as /engage shows it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from trackway.query.context import ReportContext
from trackway.query.expr import UNDEFINED, Vector
from trackway.query.expr.values import Value
from trackway.query.expr.vector import text_array
from trackway.storage.identity import IdentityMap
from trackway.storage.profile_store import GROUP_SEPARATOR
from trackway.storage.profile_updates import Profile
from trackway.storage.sharding import positions_in, user_hash

# What the cache is charged per profile: its hash, id and list slot (the property dicts
# are the profile reader's own); columns built later are small beside it.
_BYTES_PER_PROFILE = 160


class ProfileTable:
    """The current profiles of one kind, one per unit: ``hashes`` sorted, ``ids`` (the
    canonical distinct_id or the group id) in the same order."""

    def __init__(self, ids: list[str], profiles: list[Profile]) -> None:
        hashes = np.fromiter((user_hash(i) for i in ids), np.int64, len(ids))
        order = np.argsort(hashes, kind="stable")
        self.hashes: npt.NDArray[np.int64] = hashes[order]
        self.ids = text_array([ids[i] for i in order.tolist()])
        self._profiles = [profiles[i] for i in order.tolist()]
        self._columns: dict[str, Vector] = {}
        self._lock = threading.Lock()

    @classmethod
    def build(cls, context: ReportContext) -> ProfileTable:
        """The profiles a report's rows belong to: users, or the groups of ``context.group``.
        Reused from the reader's cache when nothing they depend on changed."""
        reader, project, group = context.reader, context.project, context.group
        kind = "users" if group is None else "groups"
        identity = context.identity if group is None else None
        key = (
            "profile_table",
            reader.profiles.version(project, kind),
            None if identity is None else identity.fingerprint,
            group,
        )
        table: ProfileTable | None = reader.cache.get(key)
        if table is None:
            table = cls.from_states(reader.profiles.current(project, kind), identity, group)
            reader.cache.put(key, table, table.nbytes)
        return table

    @classmethod
    def from_states(
        cls, states: Mapping[str, Profile], identity: IdentityMap | None, group: str | None
    ) -> ProfileTable:
        """From profile states by key (``ProfileReader.current``): user profiles resolved
        through ``identity``, or, with ``group``, the group profiles of that group key."""
        if group is not None:
            prefix = group + GROUP_SEPARATOR
            groups = {k[len(prefix) :]: s for k, s in states.items() if k.startswith(prefix)}
            return cls(list(groups), list(groups.values()))
        owned = dict(states) if not identity else _owners(states, identity)
        return cls(list(owned), list(owned.values()))

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def nbytes(self) -> int:
        return _BYTES_PER_PROFILE * len(self)

    def column(self, name: str) -> Vector:
        """The property ``name`` of every profile, in ``hashes`` order (undefined where a
        profile does not have it). Built on first use, then kept with the table."""
        with self._lock:
            column = self._columns.get(name)
            if column is None:
                column = self._columns[name] = Vector.from_values(self._values(name))
            return column

    def vector(self, name: str, users: npt.NDArray[np.int64]) -> Vector:
        """The property ``name`` of each row's unit: undefined where the unit has no profile
        or its profile does not have the property (JSON null stays null)."""
        if len(self) == 0 or len(users) == 0:
            return Vector.undefined(len(users))
        return self.column(name).gather(positions_in(self.hashes, users))

    def _values(self, name: str) -> list[Value]:
        # `$created` and `$last_seen` read as /engage shows them (api/engage.py).
        if name == "$last_seen":
            return [_iso(p["last_seen_ms"]) for p in self._profiles]
        if name == "$created":
            return [
                p["properties"][name] if name in p["properties"] else _iso(p["created_ms"])
                for p in self._profiles
            ]
        values: list[Value] = [p["properties"].get(name, UNDEFINED) for p in self._profiles]
        return values


def _owners(states: Mapping[str, Profile], identity: IdentityMap) -> dict[str, Profile]:
    """Each canonical id's profile, by the rule in the module docstring."""
    chosen: dict[str, tuple[str, Profile]] = {}
    for key, state in states.items():
        owner = identity.canonical(key)
        held = chosen.get(owner)
        if held is None or _prefer(owner, key, state, *held):
            chosen[owner] = (key, state)
    return {owner: state for owner, (_, state) in chosen.items()}


def _prefer(owner: str, key: str, state: Profile, held_key: str, held: Profile) -> bool:
    """Whether profile ``key`` beats ``held_key`` as ``owner``'s profile."""
    if (key == owner) != (held_key == owner):
        return key == owner
    seen, held_seen = state.get("last_seen_ms") or 0, held.get("last_seen_ms") or 0
    if seen != held_seen:
        return bool(seen > held_seen)
    return key < held_key


def _iso(ms: int | None) -> Value:
    if ms is None:
        return UNDEFINED
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
