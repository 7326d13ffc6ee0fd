"""The behavioural report specs: typed, immutable, decoded and validated at the edge.

As with Insights, these msgspec Structs are both the native JSON API's request bodies and the
engine's inputs. Every semantic they name is described in docs/behaviour.md.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

from trackway.query.breakdowns import Breakdown

LengthUnit = Literal["second", "minute", "hour", "day", "week"]
UNIT_MS = {
    "second": 1_000,
    "minute": 60_000,
    "hour": 3_600_000,
    "day": 86_400_000,
    "week": 7 * 86_400_000,
}
MAX_STEPS = 64
MAX_FLOW_STEPS = 10


class Length(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A span of time: ``{"length": 7, "unit": "day"}``."""

    length: int
    unit: LengthUnit = "day"

    def ms(self) -> int:
        return self.length * UNIT_MS[self.unit]


class Step(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Events that count as one step: one name, any of several, or any event (None); a
    filter; and, in ordered funnels, the allowed gap since the previous step."""

    event: str | list[str] | None = None
    where: str | None = None
    name: str | None = None
    min_gap: Length | None = None
    max_gap: Length | None = None

    def events(self) -> list[str] | None:
        if self.event is None:
            return None
        return [self.event] if isinstance(self.event, str) else list(self.event)

    def label(self) -> str:
        if self.name is not None:
            return self.name
        names = self.events()
        return "any event" if names is None else " or ".join(names)


class Exclusion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Attempts with such an event after reaching ``after_step`` and before reaching
    ``before_step`` (1-based; default: the whole funnel) do not count."""

    event: str | list[str] | None = None
    where: str | None = None
    after_step: int = 1
    before_step: int | None = None

    def step(self) -> Step:
        return Step(event=self.event, where=self.where)


class DropOffs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The users who reached ``step`` (1-based) and not the next one, paged."""

    step: int
    offset: int = 0
    limit: int = 100


class StartPeriods(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Periods of start dates, each counted as a funnel of its own: ``every`` calendar
    ``unit``s, the first beginning at ``from_date``'s day, week (Monday) or month."""

    unit: Literal["day", "week", "month"] = "day"
    every: int = 1


class FunnelSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    from_date: date
    to_date: date
    steps: list[Step]
    order: Literal["loose", "strict", "any"] = "loose"
    anchors: list[int] = []  # any order: steps (1-based) that stay in their place
    window: Length = Length(30, "day")
    exclusions: list[Exclusion] = []
    hold_constant: list[str] = []
    counting: Literal["uniques", "first", "totals", "sessions"] = "uniques"
    session_gap: Length = Length(30, "minute")
    grace: Length | None = None  # events this close count as simultaneous
    where: str | None = None
    breakdowns: list[Breakdown] = []
    attribution: Literal["first_touch", "last_touch"] | int = "first_touch"
    limit: int = 10  # segments shown; the rest add up to `$other`
    unit: Literal["day", "week", "month"] | None = None  # conversion over time by start date
    per_period: StartPeriods | None = None  # a funnel of its own per period (Mixpanel's)
    percentiles: list[float] = msgspec.field(default_factory=lambda: [50.0, 90.0])
    histogram_buckets: int = 10
    drop_offs: DropOffs | None = None
    timezone: str | None = None
    group: str | None = None  # count groups (this event property's values), not users


class RetentionSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    from_date: date
    to_date: date
    born: Step = Step()
    returning: Step = Step()
    retention_type: Literal["first_time", "recurring"] = "first_time"
    unit: Literal["day", "week", "month"] = "day"
    periods: int = 10  # periods after the birth period: counts[0 .. periods]
    mode: Literal["on", "on_or_after"] = "on"
    brackets: list[list[int]] | None = None  # [first, last] periods, inclusive
    alignment: Literal["calendar", "rolling"] = "calendar"
    measure: Literal["users", "sum", "average"] = "users"
    property: str | None = None  # what sum and average add up, on the return events
    min_returns: int = 1  # return events needed in a period for the user to count
    where: str | None = None
    timezone: str | None = None
    group: str | None = None  # count groups (this event property's values), not users


class FlowsSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    from_date: date
    to_date: date
    anchor: Step
    direction: Literal["after", "before"] = "after"
    end: Step | None = None  # paths between the anchor and this event
    steps: int = 5
    hide: list[str] = []
    collapse_repeats: bool = False
    counting: Literal["uniques", "totals"] = "uniques"
    window: Length = Length(7, "day")
    top: int = 10  # events shown per step; the rest add up to `$other`
    breakdown: Breakdown | None = None  # on the anchor event
    limit: int = 5  # segments shown; the rest add up to `$other`
    where: str | None = None
    timezone: str | None = None
    group: str | None = None  # count groups (this event property's values), not users


class _EventPeriods(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who did an event, period by period: what frequency and lifecycle both ask."""

    from_date: date
    to_date: date
    event: str | list[str] | None = None
    where: str | None = None
    unit: Literal["day", "week", "month"] = "week"
    timezone: str | None = None
    group: str | None = None  # count groups (this event property's values), not users


class FrequencySpec(_EventPeriods, frozen=True, forbid_unknown_fields=True):
    addiction_unit: Literal["hour", "day"] = "day"


class LifecycleSpec(_EventPeriods, frozen=True, forbid_unknown_fields=True):
    pass
