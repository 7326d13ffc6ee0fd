"""Hypothesis strategies: random rows of awkwardly typed properties and random expressions."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.reference.expressions import Row
from trackway.query.expr import ast
from trackway.query.expr.values import UNDEFINED, JsonObject

TEXTS = ["", "a", "ab", "b", "A", "1", "2.5", " 3 ", "-0", "1e3", "7", "true", "false", "null"]
TEXTS += ["2020-01-02", "2020-01-02T03:04:05", "2020-02-30", "Chrome"]
texts = st.sampled_from(TEXTS)
ints = st.one_of(
    st.integers(-5, 10),
    st.sampled_from([2**53, 2**53 + 1, 2**60 + 1, -(2**63), 2**63 - 1, 86400, 10**12]),
)
floats = st.one_of(
    st.sampled_from([0.0, -0.0, 0.5, -2.5, 2.5, 7.0, 1e21, 1.5e-7, 2.0**53, 2.0**60, 1e300]),
    st.floats(allow_nan=False, allow_infinity=False),
)
numbers = st.one_of(ints, floats)
scalars = st.one_of(numbers, texts, st.booleans(), st.none())
lists = st.lists(st.one_of(scalars, st.just(JsonObject('{"a":1}'))), max_size=3).map(tuple)
anything = st.one_of(scalars, lists, st.just(JsonObject('{"a":1}')))
missing = st.just(UNDEFINED)
# Saved cohort ids a row's user may be in; 3 never holds anyone.
COHORTS = [1, 2, 3]
# Property name → the values it takes; "x" is never set.
PROPERTIES: dict[str, st.SearchStrategy[Any]] = {
    "n": st.one_of(numbers, missing),
    "s": st.one_of(texts, missing, st.none()),
    "b": st.one_of(st.booleans(), missing),
    "m": st.one_of(anything, missing),
    "x": missing,
}


@st.composite
def rows(draw: st.DrawFn) -> Row:
    properties = {}
    for name, values in PROPERTIES.items():
        value = draw(values)
        if value is not UNDEFINED:
            properties[name] = value
    time_ms = draw(st.sampled_from([0, 1000, 86_400_000, 1_600_000_000_000, -1]))
    cohorts = frozenset(draw(st.sets(st.sampled_from(COHORTS[:2]))))
    return Row(properties, time_ms, draw(st.sampled_from(["a", "b", "Chrome"])), cohorts)


literal_leaves: st.SearchStrategy[ast.Literal] = st.one_of(
    numbers.map(ast.Number),
    texts.map(ast.String),
    st.booleans().map(ast.Boolean),
    st.just(ast.Null()),
)
literals = st.one_of(
    literal_leaves,
    st.lists(literal_leaves, max_size=3).map(lambda items: ast.ListLiteral(tuple(items))),
)
leaves = st.one_of(
    st.sampled_from(list(PROPERTIES)).map(ast.Property),
    literals,
    st.sampled_from(["$time", "name"]).map(ast.EventField),
    st.sampled_from(COHORTS).map(ast.Cohort),
)
_NOT_BOOLEAN = (ast.Number, ast.String, ast.Null, ast.ListLiteral, ast.EventField)


def expressions(depth: int = 4) -> st.SearchStrategy[ast.Node]:
    """Trees up to ``depth`` high whose root is an operator or a call."""
    sub = _subtrees(depth - 1)
    operands = sub.filter(lambda node: not isinstance(node, _NOT_BOOLEAN))
    ops = st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", ">", ">=", "<", "<=", "in"])
    return st.one_of(
        st.builds(ast.Binary, st.one_of(ops, st.just("not in")), sub, sub),
        st.builds(ast.Unary, st.sampled_from(["-", "not"]), sub),
        st.builds(
            ast.Logical,
            st.sampled_from(["and", "or"]),
            st.lists(operands, min_size=2, max_size=3).map(tuple),
        ),
        st.builds(ast.Call, st.sampled_from(list(ast.FUNCTIONS)), sub),
    )


def _subtrees(depth: int) -> st.SearchStrategy[ast.Node]:
    if depth == 0:
        return leaves
    # one_of flattens nested one_ofs, and `leaves` has many branches: wrapping both sides
    # keeps the choice between a leaf and an operator an even one at every level.
    compound = expressions(depth)
    return st.one_of(st.deferred(lambda: compound), st.deferred(lambda: leaves))
