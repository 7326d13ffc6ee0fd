"""A deterministic generator of realistic product events, for benchmarks and ``trackway demo``.

Users have Zipf-like activity and browse in sessions; about thirty event names, among them
the funnel Page View -> Add to Cart -> Checkout -> Purchase with falling conversion, and
properties of low (``browser``, 6 values), mid (``campaign``, ~2,000) and high
(``product_id``, up to ~1M) cardinality, with a ``price`` on purchases. Everything is
generated column by column with numpy from one seed, so the same arguments always give the
same events. Sizes used by the benchmarks: S = 1M events / 100k users, M = 10M / 1M.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.storage.columns import FIXED_SCHEMA
from trackway.storage.sharding import shard_of, user_hash

DAY_MS = 86_400_000
FUNNEL = ("Page View", "Add to Cart", "Checkout", "Purchase")
OTHER_EVENTS = tuple(
    f"{verb} {thing}"
    for verb, thing in [
        ("Viewed", "Home"),
        ("Viewed", "Search Results"),
        ("Searched", "Products"),
        ("Clicked", "Banner"),
        ("Opened", "Menu"),
        ("Viewed", "Reviews"),
        ("Added", "Wishlist"),
        ("Removed", "From Cart"),
        ("Applied", "Coupon"),
        ("Viewed", "Help"),
        ("Started", "Chat"),
        ("Signed", "Up"),
        ("Logged", "In"),
        ("Logged", "Out"),
        ("Updated", "Profile"),
        ("Shared", "Product"),
        ("Viewed", "Category"),
        ("Filtered", "Results"),
        ("Sorted", "Results"),
        ("Played", "Video"),
        ("Subscribed", "Newsletter"),
        ("Rated", "Product"),
        ("Viewed", "Orders"),
        ("Contacted", "Support"),
        ("Downloaded", "App"),
        ("Viewed", "Pricing"),
    ]
)
EVENT_NAMES = FUNNEL + OTHER_EVENTS
BROWSERS = ("Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Opera")
_BROWSER_WEIGHTS = np.array([0.55, 0.25, 0.08, 0.06, 0.04, 0.02])
# Probability that a session moves on from funnel step k to k+1.
_FUNNEL_ADVANCE = (0.35, 0.5, 0.6)


@dataclass(frozen=True, slots=True)
class Events:
    """Generated events as columns, in (user, time) order."""

    user: npt.NDArray[np.int64]  # user number; distinct_id is f"user-{user}"
    time: npt.NDArray[np.int64]  # ms UTC
    event: npt.NDArray[np.int16]  # index into EVENT_NAMES
    browser: npt.NDArray[np.int8]  # index into BROWSERS (per user)
    campaign: npt.NDArray[np.int32]  # campaign number, ~2,000 values
    product_id: npt.NDArray[np.int64]  # high cardinality
    price: npt.NDArray[np.float64]  # NaN except on purchases
    users: int

    def __len__(self) -> int:
        return len(self.time)

    def distinct_ids(self) -> pa.Array:
        return pa.array([f"user-{u}" for u in range(self.users)], pa.string()).take(self.user)


def generate(
    events: int, users: int, days: int = 30, start_ms: int = 1_780_272_000_000, seed: int = 7
) -> Events:
    rng = np.random.default_rng(seed)
    # Zipf-like activity: user i's weight ~ 1 / (i + 10)^0.9, users shuffled.
    weights = 1.0 / (np.arange(users) + 10.0) ** 0.9
    rng.shuffle(weights)
    per_user = rng.multinomial(events, weights / weights.sum())
    # Sessions of ~8 events; each session starts at a random moment in the window.
    session_lengths, session_user = _sessions(per_user, rng)
    sessions = len(session_lengths)
    session_start = start_ms + rng.integers(0, days * DAY_MS - 3_600_000, sessions)
    row_session = np.repeat(np.arange(sessions), session_lengths)
    gaps = rng.exponential(45_000, events).astype(np.int64) + 1_000
    offsets = _cumsum_within(gaps, session_lengths)
    time = session_start[row_session] + offsets
    event = _event_names(session_lengths, rng)
    user = session_user[row_session]
    order = np.lexsort((time, user))
    user, time, event = user[order], time[order], event[order]
    browser_of_user = rng.choice(len(BROWSERS), users, p=_BROWSER_WEIGHTS).astype(np.int8)
    campaign = (rng.zipf(1.3, events) % 2000).astype(np.int32)
    product_id = rng.integers(0, max(events // 10, 1000), events)
    price = np.where(
        event == FUNNEL.index("Purchase"), np.round(rng.gamma(2.0, 25.0, events), 2), np.nan
    )
    return Events(user, time, event, browser_of_user[user], campaign, product_id, price, users)


def _sessions(
    per_user: npt.NDArray[np.int64], rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    count = np.maximum(1, np.ceil(per_user / 8)).astype(np.int64) * (per_user > 0)
    session_user = np.repeat(np.arange(len(per_user)), count)
    # Split each user's events over their sessions as evenly as integer division allows.
    base = np.repeat(per_user // np.maximum(count, 1), count)
    extra = np.repeat(per_user % np.maximum(count, 1), count)
    rank = _positions(count)
    lengths = base + (rank < extra)
    keep = lengths > 0
    return lengths[keep], session_user[keep]


def _positions(lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """0, 1, ... within each run of the given lengths."""
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(int(lengths.sum())) - starts


def _cumsum_within(
    values: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Running sums that restart at each run of the given lengths."""
    total = np.cumsum(values)
    first = np.cumsum(lengths) - lengths
    before: npt.NDArray[np.int64] = np.repeat(total[first] - values[first], lengths)
    return np.asarray(total - before, np.int64)


def _event_names(lengths: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.int16]:
    """Each session starts with Page View and walks the funnel with falling conversion;
    events after it drops out are drawn from the other names."""
    n = int(lengths.sum())
    event = rng.integers(len(FUNNEL), len(EVENT_NAMES), n).astype(np.int16)
    session_start = np.cumsum(lengths) - lengths
    reached = np.zeros(len(lengths), np.int16)  # funnel step each session reached
    for step, advance in enumerate(_FUNNEL_ADVANCE, start=1):
        moves = (reached == step - 1) & (rng.random(len(lengths)) < advance) & (lengths > 2 * step)
        reached[moves] = step
    event[session_start] = 0  # Page View opens every session
    for step in range(1, len(FUNNEL)):
        sessions = np.flatnonzero(reached >= step)
        event[session_start[sessions] + 2 * step] = step
    return event


def to_table(events: Events, shards: int, received_ms: int | None = None) -> pa.Table:
    """The events in trackway's stored layout (see storage/columns.py), sorted by shard,
    user and time, with unique insert ids."""
    ids = [f"user-{u}" for u in range(events.users)]
    hashes_of_user = np.fromiter((user_hash(d) for d in ids), np.int64, events.users)
    hashes = hashes_of_user[events.user]
    shard = shard_of(hashes, shards)
    order = np.lexsort((events.time, hashes, shard))
    n = len(events)
    names = pa.DictionaryArray.from_arrays(
        pa.array(events.event.astype(np.int32)), pa.array(EVENT_NAMES)
    )
    browsers = pa.DictionaryArray.from_arrays(
        pa.array(events.browser.astype(np.int32)), pa.array(BROWSERS)
    )
    campaigns = pa.array(np.char.add("campaign-", events.campaign.astype(str))).dictionary_encode()
    products = pa.array(np.char.add("sku-", events.product_id.astype(str)))
    price = pa.array(events.price, pa.float64(), mask=np.isnan(events.price))
    columns = {
        "shard": pa.array(shard),
        "user_hash": pa.array(hashes),
        "time": pa.array(events.time),
        "event": names,
        "distinct_id": pa.array(ids, pa.string()).take(pa.array(events.user)),
        "insert_id": pa.array(np.char.add("e", np.arange(n).astype(str))),
        "received_ms": pa.array(
            np.full(n, received_ms if received_ms is not None else int(events.time.max()), np.int64)
        ),
        "ps_browser": browsers,
        "ps_campaign": campaigns,
        "ps_product_id": products,
        "pf_price": price,
    }
    table = pa.table(columns).take(pa.array(order))
    assert table.schema.names[: len(FIXED_SCHEMA)] == FIXED_SCHEMA.names
    return table
