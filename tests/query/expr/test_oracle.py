"""The vector kernels against the row-at-a-time reference, on random expressions and rows."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.query.expr.batch import Batch
from tests.query.expr.strategies import expressions, leaves, rows
from tests.reference.expressions import Row, evaluate, same
from trackway.query.expr import ast, compile_expression
from trackway.query.expr.printer import to_text

BINARY_OPERATORS = [*ast.ARITHMETIC, *ast.COMPARISONS]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tree=expressions(),
    batch=st.lists(rows(), min_size=1, max_size=12),
    encode=st.booleans(),
    chunks=st.sampled_from([1, 2]),
)
def test_vectors_agree_with_the_reference(
    tree: ast.Node, batch: list[Row], encode: bool, chunks: int
) -> None:
    compiled = compile_expression(to_text(tree))
    resolver = Batch(batch, encode=encode, chunks=chunks)

    vector = compiled.evaluate(resolver, len(batch))
    mask = compiled.filter_mask(resolver, len(batch))

    for i, row in enumerate(batch):
        expected = evaluate(tree, row)
        assert same(vector.value_at(i), expected), (i, vector.value_at(i), expected)
        assert mask[i] == (expected is True)


@settings(max_examples=300, deadline=None)
@given(tree=expressions(), row=rows())
def test_one_row_or_many_rows_agree(tree: ast.Node, row: Row) -> None:
    # Uniform (constant) vectors take other paths than mixed ones: repeat a row among others.
    compiled = compile_expression(to_text(tree))
    alone = compiled.evaluate(Batch([row]), 1).value_at(0)
    mixed = compiled.evaluate(Batch([Row(), row, Row({"m": "z"})]), 3).value_at(1)
    assert same(alone, mixed)


@settings(max_examples=1500, deadline=None)
@given(
    tree=st.one_of(
        st.builds(ast.Binary, st.sampled_from(BINARY_OPERATORS), leaves, leaves),
        st.builds(ast.Call, st.sampled_from(ast.FUNCTIONS), leaves),
        st.builds(ast.Unary, st.sampled_from(["-", "not"]), leaves),
    ),
    batch=st.lists(rows(), min_size=1, max_size=12),
)
def test_each_operator_on_leaves_agrees_with_the_reference(
    tree: ast.Node, batch: list[Row]
) -> None:
    # Shallow trees put every operator straight onto awkward values, where bugs hide.
    vector = compile_expression(to_text(tree)).evaluate(Batch(batch), len(batch))
    for i, row in enumerate(batch):
        expected = evaluate(tree, row)
        assert same(vector.value_at(i), expected), (i, vector.value_at(i), expected)
