"""A slow, obviously-correct cohort evaluator: one user at a time, plain Python, straight from
docs/cohorts.md. It shares the expression reference interpreter, not the engine's kernels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.reference.expressions import Row, evaluate
from trackway.query.expr import ast
from trackway.query.expr.ast import walk
from trackway.query.expr.parser import parse

Event = dict[str, Any]


def local_midnight(day: date, tz: str) -> int:
    return int(datetime.combine(day, datetime.min.time(), ZoneInfo(tz)).timestamp() * 1000)


@dataclass
class Reference:
    events: list[Event]
    profiles: dict[str, dict[str, Any]]  # user → properties
    definitions: dict[int, dict[str, Any]]  # cohort id → condition
    now_ms: int
    tz: str
    _memo: dict[int, set[str]] = field(default_factory=dict)

    def universe(self) -> set[str]:
        seen = {e["properties"]["distinct_id"] for e in self.events if self._time(e) <= self.now_ms}
        return seen | set(self.profiles)

    def members(self, cohort_id: int) -> set[str]:
        if cohort_id not in self._memo:
            condition = self.definitions[cohort_id]
            self._memo[cohort_id] = {u for u in self.universe() if self.holds(condition, u)}
        return self._memo[cohort_id]

    def holds(self, condition: dict[str, Any], user: str) -> bool:
        ((kind, value),) = condition.items()
        if kind == "all":
            return all(self.holds(c, user) for c in value)
        if kind == "any":
            return any(self.holds(c, user) for c in value)
        if kind == "not":
            return not self.holds(value, user)
        if kind == "cohort":
            return user in self.members(value)
        if kind == "profile":
            if user not in self.profiles:
                return False
            text = value.replace("user[", "properties[")
            return evaluate(parse(text), self._row(user, self.profiles[user], text)) is True
        assert kind == "did"
        count = sum(1 for e in self.events if self._counts(value, e, user))
        at_most = value.get("at_most")
        return value.get("at_least", 1) <= count and (at_most is None or count <= at_most)

    def _counts(self, did: dict[str, Any], event: Event, user: str) -> bool:
        props = event["properties"]
        if props["distinct_id"] != user:
            return False
        if did.get("event") is not None and event["event"] != did["event"]:
            return False
        start, end = self.window(did)
        if not start <= self._time(event) < end:
            return False
        if did.get("where"):
            row = self._row(user, props, did["where"], self._time(event), event["event"])
            return evaluate(parse(did["where"]), row) is True
        return True

    def window(self, did: dict[str, Any]) -> tuple[float, float]:
        """[start, end) in ms: local days of the project's zone, never past now."""
        end = self.now_ms + 1
        if did.get("within_days") is not None:
            today = datetime.fromtimestamp(self.now_ms / 1000, ZoneInfo(self.tz)).date()
            first = today - timedelta(days=did["within_days"] - 1)
            return local_midnight(first, self.tz), end
        start: float = -float("inf")
        if did.get("from_date"):
            start = local_midnight(date.fromisoformat(did["from_date"]), self.tz)
        if did.get("to_date"):
            after = date.fromisoformat(did["to_date"]) + timedelta(days=1)
            end = min(end, local_midnight(after, self.tz))
        return start, end

    def _row(
        self, user: str, properties: dict[str, Any], text: str, time_ms: int = 0, name: str = "e"
    ) -> Row:
        """The row an expression sees: the properties (without the ones storage keeps in
        fixed columns) and the cohorts it names that the user is in."""
        fixed = ("time", "distinct_id", "$insert_id", "mp_processing_time_ms")
        plain = {k: v for k, v in properties.items() if k not in fixed}
        named = {n.cohort_id for n in walk(parse(text)) if isinstance(n, ast.Cohort)}
        cohorts = frozenset(c for c in named if user in self.members(c))
        return Row(plain, time_ms, name, cohorts)

    @staticmethod
    def _time(event: Event) -> int:
        time: int = event["properties"]["time"]
        return time
