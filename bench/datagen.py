"""The shared benchmark events (``trackway.datagen``) with what a storage benchmark adds.

``trackway.datagen`` draws users with Zipf-like activity, in sessions, ~30 event names and
``browser`` / ``campaign`` / ``product_id`` / ``price`` as columns. What it leaves out
matters to storage, so :func:`with_sdk_fields` adds it: a ``$insert_id`` of 32 random hex
digits (SDK ids are random; datagen's ``e<row>`` compress far better), an
``mp_processing_time_ms`` a little after each event's time, and a nearly unique, URL-like
``$current_url``.

The result, :class:`SdkEvents`, comes out in each form the pipeline sees: as the dicts of
ingest's normal form (:meth:`~SdkEvents.normal_events`), as a browser SDK sends them to
``/track`` (:meth:`~SdkEvents.track_events`), as the Arrow table the storage worker writes
(:meth:`~SdkEvents.table`, vectorised) and as JSON lines (:meth:`~SdkEvents.json_lines_bytes`,
vectorised). :func:`check_equivalence` asserts on a sample that the vectorised forms equal
what ``events_to_table`` and orjson make of the dicts, so the fast path cannot drift from
the real one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from trackway.datagen import BROWSERS, EVENT_NAMES, Events, generate
from trackway.storage.batches import events_to_table
from trackway.storage.sharding import shard_of, user_hash

_SECTIONS = ("products", "category", "search", "blog", "help", "account", "deals")
_SOURCES = ("google", "newsletter", "facebook", "direct", "partner", "tiktok", "bing")


class Users:
    """The distinct_ids of ``trackway.datagen``'s users and their hashes, built once."""

    def __init__(self, count: int) -> None:
        self.distinct_ids = pa.array([f"user-{u}" for u in range(count)], pa.string())

    @cached_property
    def hashes(self) -> npt.NDArray[np.int64]:
        ids = self.distinct_ids.to_pylist()
        return np.fromiter((user_hash(d) for d in ids), np.int64, len(ids))


@dataclass(frozen=True, slots=True)
class SdkEvents:
    base: Events
    users: Users
    received: npt.NDArray[np.int64]  # mp_processing_time_ms
    urls: pa.Array  # $current_url
    insert_ids: pa.Array  # 32 hex digits each

    def __len__(self) -> int:
        return len(self.base)

    # ------------------------------------------------------------ columns as strings

    def _strings(self) -> dict[str, pa.Array]:
        e = self.base
        return {
            "event": pa.array(EVENT_NAMES).take(e.event),
            "distinct_id": self.users.distinct_ids.take(e.user),
            "browser": pa.array(BROWSERS).take(e.browser),
            "campaign": pc.binary_join_element_wise(
                "campaign-", pc.cast(pa.array(e.campaign), pa.string()), ""
            ),
            "product_id": pc.binary_join_element_wise(
                "sku-", pc.cast(pa.array(e.product_id), pa.string()), ""
            ),
        }

    def _purchases(self) -> npt.NDArray[np.bool_]:
        result: npt.NDArray[np.bool_] = ~np.isnan(self.base.price)
        return result

    # ------------------------------------------------------------ the events as dicts

    def normal_events(self) -> list[dict[str, Any]]:
        """The events in ingest's normal form (``time`` in ms)."""
        return [{"event": name, "properties": props} for name, props in self._rows()]

    def track_events(self, token: str) -> list[dict[str, Any]]:
        """As a browser SDK sends them to ``/track``: ``token``, ``time`` in float seconds,
        no ``mp_processing_time_ms``, and ``$insert_id`` last."""
        out = []
        for name, props in self._rows():
            props["time"] = props["time"] / 1000
            props["token"] = token
            del props["mp_processing_time_ms"]
            props["$insert_id"] = props.pop("$insert_id")
            out.append({"event": name, "properties": props})
        return out

    def _rows(self) -> list[tuple[str, dict[str, Any]]]:
        strings = {name: array.to_pylist() for name, array in self._strings().items()}
        prices = self.base.price.tolist()
        columns = zip(
            strings["event"],
            self.base.time.tolist(),
            strings["distinct_id"],
            self.insert_ids.to_pylist(),
            self.received.tolist(),
            strings["browser"],
            strings["campaign"],
            strings["product_id"],
            self.urls.to_pylist(),
            prices,
            strict=True,
        )
        rows = []
        for (
            name,
            ms,
            distinct_id,
            insert_id,
            received,
            browser,
            campaign,
            product,
            url,
            price,
        ) in columns:
            props: dict[str, Any] = {
                "time": ms,
                "distinct_id": distinct_id,
                "$insert_id": insert_id,
                "mp_processing_time_ms": received,
                "browser": browser,
                "campaign": campaign,
                "product_id": product,
                "$current_url": url,
            }
            if not math.isnan(price):  # a purchase
                props["price"] = price
            rows.append((name, props))
        return rows

    # ------------------------------------------------------------ vectorised forms

    def table(self, shards: int) -> pa.Table:
        """What ``events_to_table(self.normal_events(), shards)`` returns, vectorised."""
        e = self.base
        hashes = self.users.hashes[e.user]
        shard = shard_of(hashes, shards)
        order = np.lexsort((e.time, hashes, shard))
        strings = self._strings()
        purchases = self._purchases()
        arrays: dict[str, pa.Array] = {
            "shard": pa.array(shard[order]),
            "user_hash": pa.array(hashes[order]),
            "time": pa.array(e.time[order]),
            "event": strings["event"].take(order).dictionary_encode(),
            "distinct_id": strings["distinct_id"].take(order),
            "insert_id": self.insert_ids.take(order),
            "received_ms": pa.array(self.received[order]),
        }
        # Property columns in name order, as events_to_table makes them.
        properties = {
            "ps_$current_url": self.urls,
            "ps_browser": strings["browser"],
            "ps_campaign": strings["campaign"],
            "ps_product_id": strings["product_id"],
        }
        if purchases.any():
            arrays["pf_price"] = pa.array(e.price[order], pa.float64(), mask=~purchases[order])
        for name, values in properties.items():
            arrays[name] = values.take(order).dictionary_encode()
        return pa.table(arrays)

    def json_lines_bytes(self) -> int:
        """Bytes of the normal-form events as orjson JSON lines, vectorised."""
        strings = self._strings()
        purchases = self._purchases()
        # orjson's float text, exactly, for the few events that have a price.
        price_text = [orjson.dumps(p).decode() for p in self.base.price[purchases].tolist()]
        price_piece = np.full(len(self), None, dtype=object)
        price_piece[purchases] = [f',"price":{text}' for text in price_text]
        lines = pc.binary_join_element_wise(
            '{"event":"',
            strings["event"],
            '","properties":{"time":',
            pc.cast(pa.array(self.base.time), pa.string()),
            ',"distinct_id":"',
            strings["distinct_id"],
            '","$insert_id":"',
            self.insert_ids,
            '","mp_processing_time_ms":',
            pc.cast(pa.array(self.received), pa.string()),
            ',"browser":"',
            strings["browser"],
            '","campaign":"',
            strings["campaign"],
            '","product_id":"',
            strings["product_id"],
            '","$current_url":"',
            self.urls,
            '"',
            pa.array(price_piece, pa.string()),
            "}}\n",
            "",
            null_handling="replace",
            null_replacement="",
        )
        return int(pc.sum(pc.binary_length(lines)).as_py() or 0)


def with_sdk_fields(events: Events, users: Users, seed: int) -> SdkEvents:
    """``events`` plus a random ``$insert_id``, ``mp_processing_time_ms`` and
    ``$current_url`` each, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    n = len(events)
    urls = pc.binary_join_element_wise(
        "https://shop.example.com/",
        pa.array(_SECTIONS).take(rng.integers(0, len(_SECTIONS), n)),
        "/",
        pc.cast(pa.array(rng.integers(0, 2**40, n)), pa.string()),
        "?utm_source=",
        pa.array(_SOURCES).take(rng.integers(0, len(_SOURCES), n)),
        "",
    )
    hex_ids = np.frombuffer(rng.bytes(16 * n).hex().encode(), "S32")
    return SdkEvents(
        base=events,
        users=users,
        received=events.time + rng.integers(50, 5_000, n),
        urls=urls,
        insert_ids=pa.array(hex_ids).cast(pa.string()),
    )


def time_slices(events: Events, count: int) -> list[Events]:
    """``events`` cut into ``count`` runs of consecutive time, as they would arrive."""
    order = np.argsort(events.time, kind="stable")
    return [
        Events(
            user=events.user[rows],
            time=events.time[rows],
            event=events.event[rows],
            browser=events.browser[rows],
            campaign=events.campaign[rows],
            product_id=events.product_id[rows],
            price=events.price[rows],
            users=events.users,
        )
        for rows in np.array_split(order, count)
    ]


def check_equivalence(shards: int, seed: int, count: int = 20_000) -> None:
    """Raise if the vectorised table or JSON size differ from trackway's and orjson's."""
    users = Users(max(1, count // 10))
    sample = with_sdk_fields(generate(count, users=len(users.distinct_ids), seed=seed), users, seed)
    events = sample.normal_events()
    expected = events_to_table(events, shards)
    got = sample.table(shards)
    if not got.equals(expected):
        raise AssertionError(
            f"bench.datagen's table differs from events_to_table's:\n{got.schema}\n---\n"
            f"{expected.schema}"
        )
    json_bytes = sum(len(orjson.dumps(event)) + 1 for event in events)
    if sample.json_lines_bytes() != json_bytes:
        raise AssertionError(
            f"bench.datagen counts {sample.json_lines_bytes()} bytes of JSON, orjson {json_bytes}"
        )
