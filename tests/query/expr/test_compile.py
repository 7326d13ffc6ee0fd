"""compile_expression: what an expression reads, and evaluation through a Resolver."""

from __future__ import annotations

import numpy as np
import pytest

from tests.query.expr.batch import Batch
from tests.reference.expressions import Row
from trackway.errors import InternalError
from trackway.query.expr import Vector, compile_expression


def test_it_reports_what_the_expression_reads() -> None:
    compiled = compile_expression(
        'properties["a"] == 1 and (user["plan"] == "pro" or properties["b"] in [1, 2])'
        ' and event["$time"] > datetime("2024-01-01") and properties["a"] > 0'
    )
    assert compiled.properties == {"a", "b"}
    assert compiled.user_properties == {"plan"}
    assert compiled.uses_time
    assert not compiled.uses_event_name
    assert compile_expression('event["name"] == "x"').uses_event_name


def test_canonical_spelling() -> None:
    compiled = compile_expression("(properties['a'])   AND NOT ((1 + 2) * 3 == 9)")
    assert compiled.canonical() == 'properties["a"] and not (1 + 2) * 3 == 9'


class _Counting(Batch):
    calls: int = 0

    def property(self, name: str) -> Vector:
        self.calls += 1
        return super().property(name)


def test_each_property_is_fetched_once_per_evaluation() -> None:
    resolver = _Counting([Row({"a": 1})])
    compiled = compile_expression(
        'properties["a"] > 0 and properties["a"] < 2 or properties["a"] == 5'
    )
    assert compiled.filter_mask(resolver, 1).tolist() == [True]
    assert resolver.calls == 1


def test_a_resolver_answering_the_wrong_row_count_is_a_system_fault() -> None:
    class Short(Batch):
        def property(self, name: str) -> Vector:
            return Vector.constant(1, 1)

    with pytest.raises(InternalError, match="Expected 2 rows for property 'a', got 1"):
        compile_expression('properties["a"] == 1').evaluate(Short([Row(), Row()]), 2)


def test_an_empty_batch_evaluates_to_an_empty_vector() -> None:
    compiled = compile_expression(
        'string(properties["a"]) + "x" == "1x" or "a" in properties["b"] or not (1 > 0)'
    )
    assert compiled.filter_mask(Batch([]), 0).tolist() == []


def test_evaluation_can_be_repeated_over_batches() -> None:
    compiled = compile_expression('properties["a"] in [1, "x"]')
    assert compiled.filter_mask(Batch([Row({"a": 1})]), 1).tolist() == [True]
    assert compiled.filter_mask(Batch([Row({"a": "y"}), Row({"a": "x"})]), 2).tolist() == [
        False,
        True,
    ]
    assert isinstance(compiled.filter_mask(Batch([Row()]), 1), np.ndarray)


def test_the_filter_mask_belongs_to_the_caller() -> None:
    flags = Batch([Row({"f": True}), Row({"f": False})])
    for text in ('properties["f"]', "true"):
        mask = compile_expression(text).filter_mask(flags, 2)
        mask[:] = False  # neither a broadcast constant nor the resolver's column
    assert compile_expression('properties["f"]').filter_mask(flags, 2).tolist() == [True, False]
