"""The saved document: a collection per kind of saved object, each with the next id to give.

It keeps the references between saved objects whole: deleting a report takes it off every
dashboard in the same change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import msgspec

from trackway.errors import NotFoundError
from trackway.saved.objects import Dashboard, SavedCohort, SavedReport


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


Item = TypeVar("Item", bound=_Identified)


class Collection(msgspec.Struct, Generic[Item]):
    """Saved objects of one kind, in the order they were saved."""

    next_id: int = 1  # ids are never reused, so a deleted object's id stays unknown
    items: list[Item] = []

    def get(self, item_id: int, what: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise NotFoundError(f"Expected the id of a saved {what} of this project, got {item_id}")

    def add(self, make: Callable[[int], Item]) -> Item:
        """The object ``make`` builds with the next id, appended."""
        item = make(self.next_id)
        self.items.append(item)
        self.next_id += 1
        return item

    def replace(self, item: Item, what: str) -> Item:
        self.get(item.id, what)
        self.items = [item if old.id == item.id else old for old in self.items]
        return item

    def remove(self, item_id: int, what: str) -> Item:
        found = self.get(item_id, what)
        self.items = [item for item in self.items if item.id != item_id]
        return found


class Saved(msgspec.Struct):
    """The whole document."""

    cohorts: Collection[SavedCohort] = msgspec.field(default_factory=Collection)
    reports: Collection[SavedReport] = msgspec.field(default_factory=Collection)
    dashboards: Collection[Dashboard] = msgspec.field(default_factory=Collection)

    def remove_report(self, report_id: int, now_ms: int) -> SavedReport:
        """The report deleted and taken off every dashboard that shows it."""
        removed = self.reports.remove(report_id, "report")
        self.dashboards.items = [
            msgspec.structs.replace(
                d, report_ids=[i for i in d.report_ids if i != report_id], updated_ms=now_ms
            )
            if report_id in d.report_ids
            else d
            for d in self.dashboards.items
        ]
        return removed
