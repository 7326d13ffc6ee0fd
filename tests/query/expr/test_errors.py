"""Error messages: what was expected, what was found, and where (with a caret)."""

from __future__ import annotations

import pytest

from tests.query.expr.batch import Batch
from tests.reference.expressions import Row
from trackway.errors import UserError
from trackway.query.expr import ExpressionError, compile_expression

KNOWN = "boolean, ceil, datetime, defined, floor, number, round, string"


def error_of(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    return caught.value


def test_the_message_names_expected_found_and_place_with_a_caret() -> None:
    error = error_of('properties["a"] == (1, 2)')
    first, caret = error.message.split("\n")
    assert first == (
        'Expected `)` at position 21 (line 1, column 22), got `,` in: properties["a"] == (1, 2)'
    )
    assert caret.index("^") == first.index("in: ") + len("in: ") + 21
    assert error.position == 21


def test_it_is_a_400_user_error() -> None:
    error = error_of("(")
    assert isinstance(error, UserError)
    assert (error.status, error.code) == (400, "invalid_expression")


@pytest.mark.parametrize(
    ("text", "start", "position"),
    [
        pytest.param("", "Expected an expression", 0, id="empty"),
        pytest.param('properties["a"] ==', "Expected an expression", 18, id="missing operand"),
        pytest.param('properties["a"] 1', "Expected an operator or the end", 16, id="two operands"),
        pytest.param('properties["a"', "Expected `]`", 14, id="unclosed bracket"),
        pytest.param(
            "properties[a]",
            "Expected a quoted name inside `properties[...]`",
            11,
            id="unquoted name",
        ),
        pytest.param("properties.a", "Unexpected character `.`", 10, id="dot access"),
        pytest.param('"abc', "Unterminated string literal", 0, id="unterminated string"),
        pytest.param(r'"a\qb"', "Expected a valid escape sequence", 2, id="bad escape"),
        pytest.param(r'"\u12"', "Expected four hex digits", 1, id="short unicode escape"),
        pytest.param(
            r'"\ud800"', "String literal holds an unpaired surrogate", 0, id="lone surrogate"
        ),
        pytest.param("1e999", "Expected a finite number", 0, id="infinite number"),
        pytest.param("12abc", "Expected an operator after a number", 2, id="number then letters"),
        pytest.param(
            "1 = 1", "Unexpected character `=` (did you mean `==`?)", 2, id="single equals"
        ),
        pytest.param(
            "1 && 2", "Unexpected character `&` (did you mean `and`?)", 2, id="double ampersand"
        ),
        pytest.param(
            "frobnicate(1)",
            f"Unknown function or name `frobnicate` (functions: {KNOWN}",
            0,
            id="unknown function",
        ),
        pytest.param(
            "floor(1, 2)", "Expected `)`: floor() takes one argument", 7, id="two arguments"
        ),
        pytest.param("floor()", "Expected an expression", 6, id="no argument"),
        pytest.param('event["x"]', 'Expected one of event["$time"]', 6, id="unknown event field"),
        pytest.param(
            '[1, properties["a"]]',
            "Expected a literal (list items cannot be expressions)",
            4,
            id="expression in a list",
        ),
        pytest.param("[1 2]", "Expected `,`", 3, id="list without comma"),
        pytest.param(
            'properties["a"] and 1', "Expected a boolean operand of `and`", 20, id="number in and"
        ),
        pytest.param(
            '"x" or properties["a"]', "Expected a boolean operand of `or`", 0, id="string in or"
        ),
        pytest.param(
            'properties["a"] and event["$time"]',
            "Expected a boolean operand of `and`",
            20,
            id="datetime in and",
        ),
        pytest.param("not", "Expected an expression", 3, id="lone not"),
        pytest.param("a not b", "Unknown function or name `a`", 0, id="bare word"),
    ],
)
def test_error(text: str, start: str, position: int) -> None:
    error = error_of(text)
    assert error.message.startswith(start), error.message
    assert error.position == position


def test_position_counts_lines_and_columns() -> None:
    error = error_of('properties["a"] == 1 and\n  properties["b"] ==')
    assert (
        "at position 45 (line 2, column 21), got end of expression in:   properties"
        in error.message
    )


def test_a_long_line_is_quoted_around_the_fault() -> None:
    text = " or ".join(['properties["a"] == 1'] * 200) + " )"
    first, caret = error_of(text).message.split("\n")
    assert len(first) < 250
    assert "…" in first
    assert caret.endswith("^")
    assert first[len(caret) - 1] == ")"


def test_user_properties_may_be_unavailable() -> None:
    compiled = compile_expression('properties["a"] == 1 or user["plan"] == "pro"')
    assert compiled.user_properties == {"plan"}
    with pytest.raises(ExpressionError) as caught:
        compiled.evaluate(Batch([Row()]), 1)
    assert caught.value.message.startswith(
        "user properties are not available here at position 24 (line 1, column 25)"
    )
