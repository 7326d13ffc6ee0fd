"""Hostile input: every bound answers an ExpressionError after work linear in the input's
length, itself capped (MAX_LENGTH), and says so in a short message.

Work is counted, not timed: every Python and C function call while compiling (and
evaluating), through ``sys.setprofile``. The count is the same on any machine, and a step
that went quadratic in the input would exceed the bound at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.query.expr.batch import Batch
from tests.reference.expressions import Row
from trackway.query.expr import ExpressionError, compile_expression
from trackway.query.expr.errors import MAX_DEPTH, MAX_LENGTH, MAX_LIST_ITEMS, MAX_STRING_LENGTH

# Calls per character of input read; measured at about 20 for the deepest nestings.
CALLS_PER_CHARACTER = 30
CALLS_AT_ALL = 1000


def calls(function: Callable[[], Any]) -> int:
    """How many function calls ``function()`` makes (an ExpressionError it raises counts)."""
    made = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal made
        if event in ("call", "c_call"):
            made += 1

    sys.setprofile(count)
    try:
        function()
    except ExpressionError:
        pass
    finally:
        sys.setprofile(None)
    return made


def bound(text: str) -> int:
    """The most work ``text`` may cost: linear in what is read of it, at most MAX_LENGTH."""
    return CALLS_PER_CHARACTER * min(len(text), MAX_LENGTH) + CALLS_AT_ALL


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
def test_hostile_input_fails_after_bounded_work(make: Callable[[], str]) -> None:
    text = make()
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert len(caught.value.message) < 1000  # never echoes the whole input
    assert calls(lambda: compile_expression(text)) <= bound(text)


def test_the_limits_themselves_are_accepted() -> None:
    deepest = "(" * (MAX_DEPTH - 1) + "1" + ")" * (MAX_DEPTH - 1)
    assert compile_expression(deepest).canonical() == "1"
    assert compile_expression('"' + "x" * MAX_STRING_LENGTH + '"')
    longest_list = "[" + ",".join(["1"] * (MAX_LIST_ITEMS // 2)) + "]"
    assert len(longest_list) <= MAX_LENGTH
    assert compile_expression(longest_list)


def test_a_long_flat_or_chain_evaluates_in_linear_work() -> None:
    # Chains of and/or are one node: as long as the length limit allows, and still linear.
    terms = MAX_LENGTH // len('properties["a"] == 1 or ')
    text = _chain('properties["a"] == 1', "or", terms)
    batch = Batch([Row({"a": 1}), Row()])
    compile_expression('properties["a"] == 1').evaluate(batch, 2)  # Arrow's lazy set-up
    assert compile_expression(text).filter_mask(batch, 2).tolist() == [True, False]
    assert calls(lambda: compile_expression(text).filter_mask(batch, 2)) <= bound(text)


def test_the_work_bound_catches_quadratic_work() -> None:
    text = "x" * 300
    quadratic = calls(lambda: [len(text[j:]) for _ in text for j in range(len(text))])
    assert quadratic > bound(text)


def test_length_is_checked_before_anything_else() -> None:
    with pytest.raises(ExpressionError, match=f"the limit is {MAX_LENGTH}"):
        compile_expression(" " * (MAX_LENGTH + 1))
