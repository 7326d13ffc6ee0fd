"""Per-project ingestion rate limit: a token bucket refilled continuously.

A bucket holds one minute's allowance, so a project may burst up to its per-minute limit and
then sustain limit/60 events per second - Mixpanel's "rolling one-minute window". Sans-IO: the
caller passes the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_s: float


@dataclass(slots=True)
class RateLimiter:
    events_per_minute: int
    _buckets: dict[int, _Bucket] = field(default_factory=dict)

    def take(self, project_id: int, events: int, now_s: float) -> int | None:
        """Spend ``events`` tokens; None when allowed, else the seconds to wait before retrying."""
        limit = self.events_per_minute
        if limit <= 0:
            return None
        bucket = self._buckets.get(project_id)
        if bucket is None:
            bucket = self._buckets[project_id] = _Bucket(float(limit), now_s)
        rate = limit / 60.0
        bucket.tokens = min(float(limit), bucket.tokens + (now_s - bucket.updated_s) * rate)
        bucket.updated_s = now_s
        if events <= bucket.tokens:
            bucket.tokens -= events
            return None
        missing = min(events, limit) - bucket.tokens
        return max(1, math.ceil(missing / rate))
