"""Hostile input: every bound answers an ExpressionError quickly, with bounded memory."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.query.expr.batch import Batch
from tests.query.expr.reference import Row
from trackway.query.expr import ExpressionError, compile_expression
from trackway.query.expr.errors import MAX_DEPTH, MAX_LENGTH, MAX_LIST_ITEMS, MAX_STRING_LENGTH

# Generous for a slow CI machine; each case takes milliseconds.
BUDGET_S = 0.5


def _chain(term: str, op: str, count: int) -> str:
    return f" {op} ".join([term] * count)


HOSTILE: list[tuple[str, Callable[[], str]]] = [
    ("100k open parentheses", lambda: "(" * 100_000),
    ("100k minus signs", lambda: "-" * 100_000 + "1"),
    ("50k nots", lambda: "not " * 50_000 + "true"),
    ("10 MB string literal", lambda: '"' + "x" * 10_000_000 + '"'),
    ("10 MB unterminated literal", lambda: '"' + "x" * 10_000_000),
    ("1e5-term or chain", lambda: _chain('properties["a"] == 1', "or", 100_000)),
    ("deep parentheses within the length", lambda: "(" * 8000 + "1" + ")" * 8000),
    ("deep minus within the length", lambda: "-" * 16_000 + "1"),
    ("deep not within the length", lambda: "not " * 4000 + "true"),
    ("deep calls within the length", lambda: "floor(" * 2000 + "1" + ")" * 2000),
    ("deep lists within the length", lambda: "[" * 8000 + "]" * 8000),
    ("long + chain within the length", lambda: _chain("1", "+", 8000)),
    ("long == chain within the length", lambda: _chain("1", "==", 5000)),
    ("string just over its limit", lambda: '"' + "x" * (MAX_STRING_LENGTH + 1) + '"'),
    ("escapes over the string limit", lambda: '"' + "\\n" * 5000 + "x" * 4000 + '"'),
    ("huge number", lambda: "9" * 400),
    ("huge exponent", lambda: "1e99999999999"),
    ("list longer than allowed", lambda: "[" + ",".join(["1"] * (MAX_LIST_ITEMS + 1)) + "]"),
    ("nul bytes", lambda: "\x00" * 1000),
]


@pytest.mark.parametrize("make", [pytest.param(m, id=name) for name, m in HOSTILE])
def test_hostile_input_fails_fast(make: Callable[[], str]) -> None:
    text = make()
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert time.perf_counter() - started < BUDGET_S
    assert len(caught.value.message) < 1000  # never echoes the whole input


def test_the_limits_themselves_are_accepted() -> None:
    deepest = "(" * (MAX_DEPTH - 1) + "1" + ")" * (MAX_DEPTH - 1)
    assert compile_expression(deepest).canonical() == "1"
    assert compile_expression('"' + "x" * MAX_STRING_LENGTH + '"')
    longest_list = "[" + ",".join(["1"] * (MAX_LIST_ITEMS // 2)) + "]"
    assert len(longest_list) <= MAX_LENGTH
    assert compile_expression(longest_list)


def test_a_long_flat_or_chain_evaluates_quickly() -> None:
    # Chains of and/or are one node: as long as the length limit allows, and still fast.
    terms = MAX_LENGTH // len('properties["a"] == 1 or ')
    text = _chain('properties["a"] == 1', "or", terms)
    compile_expression('properties["a"] == 1').evaluate(
        Batch([Row({"a": "x"})]), 1
    )  # warm Arrow up
    started = time.perf_counter()
    compiled = compile_expression(text)
    assert compiled.filter_mask(Batch([Row({"a": 1}), Row()]), 2).tolist() == [True, False]
    assert time.perf_counter() - started < BUDGET_S


def test_length_is_checked_before_anything_else() -> None:
    with pytest.raises(ExpressionError, match=f"the limit is {MAX_LENGTH}"):
        compile_expression(" " * (MAX_LENGTH + 1))
