"""Original ID merge rules (storage/identity.py ``original_map``) and cluster lookups."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from trackway.storage.identity import CLUSTER_LIMIT, identity_map, original_map
from trackway.storage.identity_clusters import clusters_of, with_clusters
from trackway.storage.identity_edges import DEVICE_EDGES, MergeEdge, first_edges

UUID = "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"
UUID2 = "00c0ffee-1234-4abc-9def-0123456789ab"


def edge(kind: str, a: str, b: str, received_ms: int, time: int = 0) -> tuple[int, MergeEdge]:
    return 0, MergeEdge(received_ms, time, received_ms, kind, (a, b))


def clusters(edges: list[tuple[int, MergeEdge]]) -> dict[str, list[str]]:
    """canonical id -> its other ids, sorted."""
    out: dict[str, list[str]] = {}
    for member, root in sorted(original_map(edges).items()):
        out.setdefault(root, []).append(member)
    return out


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        pytest.param(
            [edge("identify", "alice", UUID, 1)], {"alice": [UUID]}, id="identify joins a UUID"
        ),
        pytest.param(
            [edge("identify", "alice", "$device:" + UUID, 1)],
            {"alice": ["$device:" + UUID]},
            id="identify joins a $device: UUID",
        ),
        pytest.param(
            [edge("identify", "alice", "my-phone", 1)], {}, id="identify ignores a non-UUID anon id"
        ),
        pytest.param(
            [edge("identify", "alice", UUID, 1), edge("identify", "bob", UUID, 2)],
            {"alice": [UUID]},
            id="identify ignores an anon id merged into another identified id",
        ),
        pytest.param(
            [edge("identify", "alice", UUID, 1), edge("identify", "alice", UUID, 2)],
            {"alice": [UUID]},
            id="identify again with the same ids changes nothing",
        ),
        pytest.param(
            [edge("identify", "bob", UUID, 2), edge("identify", "alice", UUID, 1)],
            {"alice": [UUID]},
            id="arrival order decides, not the order given",
        ),
        pytest.param(
            [edge("identify", "bob", UUID, 1, time=9), edge("identify", "alice", UUID, 1, time=3)],
            {"alice": [UUID]},
            id="equal arrival: event time decides",
        ),
        pytest.param(
            [edge("alias", "alice", "a1", 1), edge("alias", "a1", "a2", 2)],
            {"alice": ["a1", "a2"]},
            id="a chain of aliases is one cluster",
        ),
        pytest.param(
            [edge("alias", "alice", "a1", 1), edge("alias", "bob", "a1", 2)],
            {"alice": ["a1"]},
            id="an alias already taken is ignored",
        ),
        pytest.param(
            [edge("alias", "bob", "x", 1), edge("alias", "alice", "bob", 2)],
            {"bob": ["x"]},
            id="an id that already is in a cluster cannot become an alias",
        ),
        pytest.param(
            [edge("merge", "a", "b", 1), edge("merge", "c", "a", 2)],
            {"c": ["a", "b"]},
            id="merge: the second cluster joins the first's canonical id",
        ),
        pytest.param(
            [edge("identify", "alice", UUID, 1), edge("merge", "bob", "alice", 2)],
            {"bob": sorted(["alice", UUID])},
            id="merge joins whole clusters, any ids",
        ),
        pytest.param(
            [edge("identify", "alice", UUID, 1), edge("identify", UUID2, UUID, 2)],
            {"alice": [UUID]},
            id="canonical is the identified id, kept when others join",
        ),
    ],
)
def test_original_merge_rules(
    edges: list[tuple[int, MergeEdge]], expected: dict[str, list[str]]
) -> None:
    assert clusters(edges) == expected


def test_a_join_past_the_cluster_limit_is_ignored() -> None:
    grow = [edge("merge", "root", f"m{i}", i) for i in range(1, CLUSTER_LIMIT)]
    full = clusters(grow)
    assert len(full["root"]) == CLUSTER_LIMIT - 1  # 500 ids with the root
    over = clusters([*grow, edge("merge", "root", "late", CLUSTER_LIMIT)])
    assert "late" not in over["root"] and len(over["root"]) == CLUSTER_LIMIT - 1
    into_other = clusters([*grow, edge("merge", "late", "root", CLUSTER_LIMIT)])
    assert "late" not in into_other and len(into_other["root"]) == CLUSTER_LIMIT - 1


def test_two_clusters_joining_past_the_limit_stay_apart() -> None:
    half = CLUSTER_LIMIT // 2
    left = [edge("merge", "L", f"l{i}", i) for i in range(half)]
    right = [edge("merge", "R", f"r{i}", i) for i in range(half)]
    joined = clusters([*left, *right, edge("merge", "L", "R", 10_000)])
    assert set(joined) == {"L", "R"}  # 250 + 251 ids would pass 500
    fits = [edge("merge", "L", f"l{i}", i) for i in range(half - 2)]  # 249 + 251 ids
    assert set(clusters([*fits, *right, edge("merge", "L", "R", 10_000)])) == {"L"}


def test_cluster_lookups() -> None:
    identity = identity_map(original_map([edge("identify", "alice", UUID, 1)]))
    assert clusters_of(identity, [UUID])[UUID] == ["alice", UUID]
    assert clusters_of(identity, [UUID, "alice", "nobody"]) == {
        UUID: ["alice", UUID],
        "alice": ["alice", UUID],
        "nobody": ["nobody"],
    }
    assert with_clusters(identity, ["nobody", UUID, "alice"]) == ["nobody", "alice", UUID]


def test_first_edges_take_each_devices_earliest_edge() -> None:
    """By arrival, then event time, then the smaller user id; many ties."""
    rng = random.Random(4)
    rows = [
        {
            "received": rng.randrange(3),
            "time": rng.randrange(3),
            "user": f"u{rng.randrange(5)}",
            "device": f"$device:d{(d := rng.randrange(6))}",
            "device_hash": d,
            "user_hash": 0,
        }
        for _ in range(300)
    ]
    columns = {name: [row[name] for row in rows] for name in DEVICE_EDGES.names}
    table = pa.table(
        [
            pa.array(columns[n], f.type)
            for n, f in zip(DEVICE_EDGES.names, DEVICE_EDGES, strict=True)
        ],
        schema=DEVICE_EDGES,
    )
    expected = {}
    for row in rows:
        known = expected.get(row["device"])
        key = (row["received"], row["time"], row["user"])
        if known is None or key < known:
            expected[row["device"]] = key
    got = first_edges(table)
    assert got.column("device_hash").to_pylist() == sorted(got.column("device_hash").to_pylist())
    found = {
        d: (r, t, u)
        for d, r, t, u in zip(
            *(got.column(n).to_pylist() for n in ("device", "received", "time", "user")),
            strict=True,
        )
    }
    assert found == expected
