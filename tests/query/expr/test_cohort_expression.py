"""`cohort(12)`: parsing, printing, what a compiled expression names, evaluation through a
Resolver, and the errors (the random trees of test_oracle and test_parser cover it too)."""

from __future__ import annotations

import pytest

from tests.query.expr.batch import Batch
from tests.reference.expressions import Row
from trackway.query.expr import ExpressionError, Vector, compile_expression
from trackway.query.expr.ast import Cohort, Logical, Property, Unary
from trackway.query.expr.parser import parse
from trackway.query.expr.printer import to_text


@pytest.mark.parametrize(
    ("text", "tree", "printed"),
    [
        pytest.param("cohort(12)", Cohort(12), "cohort(12)", id="plain"),
        pytest.param(" cohort ( 3 ) ", Cohort(3), "cohort(3)", id="spaces"),
        pytest.param(
            'not cohort(1) and properties["a"]',
            Logical("and", (Unary("not", Cohort(1)), Property("a"))),
            'not cohort(1) and properties["a"]',
            id="in a chain",
        ),
    ],
)
def test_parse_and_print(text: str, tree: Cohort, printed: str) -> None:
    assert parse(text) == tree
    assert to_text(tree) == printed
    assert parse(printed) == tree


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param('cohort("a")', "Expected a cohort id (an integer) inside `cohort(...)`", id="text"),
        pytest.param("cohort(1.5)", "Expected a cohort id (an integer)", id="float"),
        pytest.param("cohort(-1)", "Expected a cohort id (an integer)", id="negative"),
        pytest.param("cohort(1, 2)", "Expected `)` at position 8", id="two arguments"),
        pytest.param("cohort", "Expected `(`", id="bare"),
        pytest.param('cohort(properties["x"])', "Expected a cohort id", id="expression"),
        pytest.param("COHORT(1)", "Unknown function or name `COHORT`", id="upper case"),
        pytest.param("cohort(1) and 2", "Expected a boolean operand of `and`", id="and operand"),
    ],
)  # fmt: skip
def test_errors(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert fragment in caught.value.message, caught.value.message


def test_compiled_names_its_cohorts() -> None:
    compiled = compile_expression('cohort(1) or (cohort(2) and not cohort(1)) or properties["a"]')
    assert compiled.cohorts == {1, 2}
    assert compile_expression('properties["a"] == 1').cohorts == frozenset()


def test_evaluation_asks_the_resolver_once_per_cohort() -> None:
    calls: list[int] = []

    class Counting(Batch):
        def in_cohort(self, cohort_id: int) -> Vector:
            calls.append(cohort_id)
            return super().in_cohort(cohort_id)

    rows = [Row(cohorts=frozenset({1})), Row(cohorts=frozenset({2})), Row()]
    compiled = compile_expression("cohort(1) or cohort(2) and not cohort(1)")
    assert compiled.filter_mask(Counting(rows), 3).tolist() == [True, True, False]
    assert sorted(calls) == [1, 2]
    assert compile_expression("cohort(2)").evaluate(Batch(rows), 3).to_pylist() == [
        False,
        True,
        False,
    ]


def test_an_unavailable_cohort_points_at_the_call() -> None:
    class NoCohorts(Batch):
        def in_cohort(self, cohort_id: int) -> Vector:
            raise ExpressionError(f"cohort({cohort_id}): cohorts are not available here")

    with pytest.raises(ExpressionError) as caught:
        compile_expression('properties["a"] == 1 or cohort(7)').evaluate(NoCohorts([Row()]), 1)
    assert caught.value.message.startswith(
        "cohort(7): cohorts are not available here at position 24 (line 1, column 25)"
    )
