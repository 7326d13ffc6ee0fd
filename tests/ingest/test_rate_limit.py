from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trackway.ingest.rate_limit import RateLimiter


def test_a_minute_of_allowance_then_a_retry_hint() -> None:
    limiter = RateLimiter(events_per_minute=600)
    assert limiter.take(1, 600, now_s=0.0) is None
    assert limiter.take(1, 10, now_s=0.0) == 1  # 10 events refill in 1 s at 10/s
    assert limiter.take(2, 600, now_s=0.0) is None  # projects do not share a bucket
    assert limiter.take(1, 10, now_s=1.0) is None


def test_zero_disables_the_limit() -> None:
    assert RateLimiter(0).take(1, 10**9, now_s=0.0) is None


@given(st.lists(st.tuples(st.integers(1, 200), st.floats(0, 5)), max_size=60))
def test_never_more_than_the_allowance_in_any_window(requests: list[tuple[int, float]]) -> None:
    limiter = RateLimiter(events_per_minute=600)
    now = 0.0
    granted = 0
    for events, gap in requests:
        now += gap
        if limiter.take(1, events, now) is None:
            granted += events
    assert granted <= 600 + now * 10 + 1e-6
