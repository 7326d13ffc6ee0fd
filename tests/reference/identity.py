"""Identity resolution, slowly and obviously: docs/identity.md read as plain Python over
event dicts in ingest's normal form.

Nothing from ``trackway``: the rules are replayed event by event in arrival order over a
plain dict of canonical ids, clusters are found by scanning that dict, and every event's
``distinct_id`` is then rewritten to its canonical id. The existing report references run
over the rewritten events give what the engine must answer over the stored ones.

Readings taken where the docs leave a choice:

* Ids sent as integers are their decimal text, as ingest makes a ``distinct_id`` of them;
  empty ids name no one.
* Every stored copy of an event is replayed, also copies that deduplication drops from
  reports: a retried event takes effect at its first arrival, so a retry changes nothing.
* ``$identify``: the anonymous id "is already merged into another identified id" when its
  canonical id is neither itself nor the identified id's canonical id.
* ``$create_alias``: the alias "already belongs to a cluster" when its cluster holds another
  id too.
* Identity events of equal arrival and time are applied in the order given (the docs say
  storage order, which the caller does not know): the tests never send such ties.
"""

from __future__ import annotations

import string
from typing import Any

Event = dict[str, Any]
IDENTITY_EVENTS = ("$identify", "$create_alias", "$merge")
CLUSTER_LIMIT = 500
_UUID_GROUPS = [8, 4, 4, 4, 12]


def text_id(value: Any) -> str | None:
    """An id as ingest keeps it: a non-empty string, or an integer as its decimal text."""
    if type(value) is int:
        return str(value)
    if type(value) is str and value != "":
        return value
    return None


def looks_anonymous(anon_id: str) -> bool:
    """A UUID as SDKs write it (8-4-4-4-12 hex digits), bare or as ``$device:<uuid>``."""
    uuid = anon_id.removeprefix("$device:")
    groups = uuid.split("-")
    return [len(g) for g in groups] == _UUID_GROUPS and all(
        c in string.hexdigits for g in groups for c in g
    )


def _arrival(event: Event) -> tuple[int, int]:
    props = event["properties"]
    return props["mp_processing_time_ms"], props["time"]


# -- simplified ID merge -----------------------------------------------------------------


def _simplified(events: list[Event]) -> dict[str, str]:
    """The first event (arrival, time, smaller user id) carrying both ids ties the device."""
    claims = []
    for event in events:
        props = event["properties"]
        device, user = text_id(props.get("$device_id")), text_id(props.get("$user_id"))
        if device is not None and user is not None:
            claims.append((*_arrival(event), user, "$device:" + device))
    owner: dict[str, str] = {}
    for *_, user, device in sorted(claims):
        owner.setdefault(device, user)
    return {device: user for device, user in owner.items() if device != user}


# -- original ID merge -------------------------------------------------------------------


class _Clusters:
    """Every id that ever joined another → its cluster's canonical id."""

    def __init__(self) -> None:
        self.canonical_of: dict[str, str] = {}

    def canonical(self, distinct_id: str) -> str:
        return self.canonical_of.get(distinct_id, distinct_id)

    def members(self, distinct_id: str) -> set[str]:
        root = self.canonical(distinct_id)
        return {d for d, c in self.canonical_of.items() if c == root} | {root}

    def join(self, into: str, other: str) -> None:
        """``other``'s cluster joins ``into``'s, whose canonical id stays."""
        kept, moved = self.members(into), self.members(other)
        if kept == moved or len(kept | moved) > CLUSTER_LIMIT:
            return
        root = self.canonical(into)
        for distinct_id in kept | moved:
            self.canonical_of[distinct_id] = root


def _original(events: list[Event]) -> dict[str, str]:
    clusters = _Clusters()
    identity = [e for e in events if e["event"] in IDENTITY_EVENTS]
    for event in sorted(identity, key=_arrival):  # stable: ties keep the given order
        props = event["properties"]
        if event["event"] == "$identify":
            identified = text_id(props.get("$identified_id"))
            anon = text_id(props.get("$anon_id"))
            if identified is None or anon is None or not looks_anonymous(anon):
                continue
            if clusters.canonical(anon) in (anon, clusters.canonical(identified)):
                clusters.join(identified, anon)
        elif event["event"] == "$create_alias":
            existing = text_id(props.get("distinct_id"))
            alias = text_id(props.get("alias"))
            if existing is None or alias is None or len(clusters.members(alias)) > 1:
                continue
            clusters.join(existing, alias)
        else:
            ids = props.get("$distinct_ids")
            if props.get("$import") is not True or type(ids) is not list or len(ids) != 2:
                continue
            first, second = (text_id(i) for i in ids)
            if first is not None and second is not None:
                clusters.join(first, second)
    return {d: c for d, c in clusters.canonical_of.items() if d != c}


# -- the result --------------------------------------------------------------------------


def canonical_ids(events: list[Event], mode: str) -> dict[str, str]:
    """Every distinct_id that is not its cluster's canonical id → that canonical id."""
    if mode == "simplified":
        return _simplified(events)
    if mode == "original":
        return _original(events)
    raise ValueError(f"Expected `simplified` or `original`, got {mode!r}")


def resolved(events: list[Event], mode: str) -> list[Event]:
    """The events with their ``distinct_id`` replaced by its canonical id."""
    canonical = canonical_ids(events, mode)
    out = []
    for event in events:
        props = dict(event["properties"])
        props["distinct_id"] = canonical.get(props["distinct_id"], props["distinct_id"])
        out.append({"event": event["event"], "properties": props})
    return out
