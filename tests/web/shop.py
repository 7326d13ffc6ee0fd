"""A small shop's two weeks of events for the behavioural pages' browser tests: visitors who
view pages, search, add to cart, check out and buy, and some who come back on later days.
Seeded, so every run (and every screenshot) sees the same data."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.query.store import event

DAYS = 14
USERS = 160
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge"]
COUNTRIES = ["FR", "DE", "US", "GB"]
PLANS = ["free", "free", "pro", "team"]
COMPANIES = 12  # users are in companies (the `company` property) but every fifth one


def first_day() -> date:
    """Two weeks ending yesterday: the pickers offer what the last 31 days hold."""
    return datetime.now(UTC).date() - timedelta(days=DAYS)


def last_day() -> date:
    return first_day() + timedelta(days=DAYS - 1)


def shop_events(seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime.combine(first_day(), datetime.min.time(), UTC)
    out: list[dict[str, Any]] = []

    def add(name: str, user: str, at: datetime, **props: Any) -> None:
        ms = int(at.timestamp() * 1000)
        out.append(event(name, user, ms, f"e{len(out)}", ms, **props))

    for n in range(USERS):
        user = f"user{n:03d}"
        props = {"browser": rng.choice(BROWSERS), "country": rng.choice(COUNTRIES)}
        if n % 5:
            props["company"] = f"Company {n % COMPANIES:02d}"
        day = rng.randrange(DAYS)
        at = start + timedelta(days=day, hours=rng.randrange(8, 20), minutes=rng.randrange(60))
        visits = 0
        while at < start + timedelta(days=DAYS) and visits < 6:
            visits += 1
            add("Page View", user, at, **props)
            if rng.random() < 0.5:
                at += timedelta(minutes=rng.randrange(1, 5))
                add("Search", user, at, **props)
            if rng.random() < 0.55:
                at += timedelta(minutes=rng.randrange(1, 30))
                add("Add to Cart", user, at, **props, price=rng.choice([9, 19, 49]))
                if rng.random() < 0.6:
                    at += timedelta(minutes=rng.randrange(1, 90))
                    add("Checkout", user, at, **props)
                    if rng.random() < 0.7:
                        at += timedelta(minutes=rng.randrange(1, 20))
                        add("Purchase", user, at, **props, price=rng.choice([9, 19, 49]))
            if rng.random() > 0.45 - 0.05 * visits:
                break
            at += timedelta(days=rng.choice([1, 1, 2, 3, 6]), minutes=rng.randrange(-90, 90))
    return out


def shop_profiles(seed: int = 7) -> list[dict[str, Any]]:
    """/engage updates: two users in three have a profile with a plan and a name."""
    rng = random.Random(seed)
    seen = int(datetime.combine(last_day(), datetime.min.time(), UTC).timestamp() * 1000)
    return [
        {
            "$distinct_id": f"user{n:03d}",
            "$time": seen,
            "$set": {
                "plan": rng.choice(PLANS),
                "$name": f"Customer {n}",
                "seats": rng.randrange(1, 20),
            },
        }
        for n in range(USERS)
        if n % 3
    ]
