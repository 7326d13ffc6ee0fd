"""Parsing: precedence, spellings, the canonical printer and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.query.expr.strategies import expressions
from trackway.query.expr import ExpressionError
from trackway.query.expr.ast import (
    Binary,
    Boolean,
    Call,
    EventField,
    ListLiteral,
    Logical,
    Node,
    Null,
    Number,
    Property,
    String,
    Unary,
    UserProperty,
)
from trackway.query.expr.parser import parse
from trackway.query.expr.printer import to_text

A, B, C = Property("a"), Property("b"), Property("c")


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        pytest.param('properties["a"]', A, id="property"),
        pytest.param("properties['a']", A, id="single quotes"),
        pytest.param('user["$email"]', UserProperty("$email"), id="user property"),
        pytest.param('event["$time"]', EventField("$time"), id="event time"),
        pytest.param('event["name"]', EventField("name"), id="event name"),
        pytest.param("12", Number(12), id="integer"),
        pytest.param("1.5e3", Number(1500.0), id="exponent"),
        pytest.param(".5", Number(0.5), id="leading point"),
        pytest.param("-3", Number(-3), id="negative literal"),
        pytest.param("- 3", Number(-3), id="negative literal with a space"),
        pytest.param("-(3)", Unary("-", Number(3)), id="minus of a parenthesised literal"),
        pytest.param(r'"a\"b\\c\n\t\u00e9\ud83d\ude00"', String('a"b\\c\n\té😀'), id="escapes"),
        pytest.param("'it\\'s'", String("it's"), id="escaped single quote"),
        pytest.param("true", Boolean(True), id="true"),
        pytest.param("FALSE", Boolean(False), id="upper-case false"),
        pytest.param("null", Null(), id="null"),
        pytest.param("[]", ListLiteral(()), id="empty list"),
        pytest.param(
            '[1, -2.5, "x", [true, null]]',
            ListLiteral(
                (
                    Number(1),
                    Number(-2.5),
                    String("x"),
                    ListLiteral((Boolean(True), Null())),
                )
            ),
            id="list literal",
        ),
        pytest.param(
            'properties["a"] or properties["b"] and properties["c"]',
            Logical("or", (A, Logical("and", (B, C)))),
            id="and binds tighter than or",
        ),
        pytest.param(
            'properties["a"] OR properties["b"] Or2',
            None,
            id="mixed case is no keyword",
        ),
        pytest.param(
            'properties["a"] AND properties["b"] AND properties["c"]',
            Logical("and", (A, B, C)),
            id="upper-case chain is one node",
        ),
        pytest.param(
            '(properties["a"] or properties["b"]) or properties["c"]',
            Logical("or", (Logical("or", (A, B)), C)),
            id="parentheses keep a nested chain",
        ),
        pytest.param(
            'not properties["a"] == 1',
            Unary("not", Binary("==", A, Number(1))),
            id="not binds looser than comparison",
        ),
        pytest.param(
            'not properties["a"] and properties["b"]',
            Logical("and", (Unary("not", A), B)),
            id="not binds tighter than and",
        ),
        pytest.param(
            'properties["a"] + properties["b"] * 2 > 1',
            Binary(">", Binary("+", A, Binary("*", B, Number(2))), Number(1)),
            id="arithmetic precedence",
        ),
        pytest.param(
            'properties["a"] - properties["b"] - 1',
            Binary("-", Binary("-", A, B), Number(1)),
            id="left associative",
        ),
        pytest.param(
            '-properties["a"] * 2',
            Binary("*", Unary("-", A), Number(2)),
            id="unary minus binds tightest",
        ),
        pytest.param('"x" in properties["a"]', Binary("in", String("x"), A), id="in"),
        pytest.param(
            'properties["a"] not in [1]',
            Binary("not in", A, ListLiteral((Number(1),))),
            id="not in",
        ),
        pytest.param(
            'properties["a"] NOT IN [1]',
            Binary("not in", A, ListLiteral((Number(1),))),
            id="upper-case not in",
        ),
        pytest.param(
            'not defined(properties["a"])',
            Unary("not", Call("defined", A)),
            id="function call",
        ),
        pytest.param(
            'properties["a"] == not properties["b"]',
            Binary("==", A, Unary("not", B)),
            id="not as an operand",
        ),
        pytest.param(
            '\n properties["a"]\t==\r\n1 ',
            Binary("==", A, Number(1)),
            id="whitespace",
        ),
    ],
)
def test_parse(text: str, tree: Node | None) -> None:
    if tree is None:
        with pytest.raises(ExpressionError):
            parse(text)
        return
    assert parse(text) == tree
    assert parse(to_text(tree)) == tree


@pytest.mark.parametrize(
    ("tree", "text"),
    [
        pytest.param(
            Binary("*", Binary("+", A, B), C),
            '(properties["a"] + properties["b"]) * properties["c"]',
            id="parentheses where needed",
        ),
        pytest.param(
            Binary("-", A, Binary("-", B, C)),
            'properties["a"] - (properties["b"] - properties["c"])',
            id="right operand of the same power",
        ),
        pytest.param(Unary("-", Number(5)), "-(5)", id="minus of a literal"),
        pytest.param(Unary("-", Number(-5)), "-(-5)", id="minus of a negative literal"),
        pytest.param(Unary("-", Unary("-", A)), '- -properties["a"]', id="double minus"),
        pytest.param(
            Unary("not", Logical("and", (A, B))),
            'not (properties["a"] and properties["b"])',
            id="not of and",
        ),
        pytest.param(String('say "hi"\x01'), '"say \\"hi\\"\\u0001"', id="string escapes"),
    ],
)
def test_printer(tree: Node, text: str) -> None:
    assert to_text(tree) == text
    assert parse(text) == tree


@settings(max_examples=500, deadline=None)
@given(tree=expressions())
def test_printing_then_parsing_gives_the_tree_back(tree: Node) -> None:
    text = to_text(tree)
    assert parse(text) == tree
    assert to_text(parse(text)) == text


def test_keywords_are_lower_or_upper_case_only() -> None:
    assert parse("TRUE AND NOT FALSE") == Logical(
        "and", (Boolean(True), Unary("not", Boolean(False)))
    )
    for text in ("True", "tRUE and true", "true And true", "Null"):
        with pytest.raises(ExpressionError):
            parse(text)


def test_function_names_are_lower_case() -> None:
    with pytest.raises(ExpressionError, match="Unknown function or name `DEFINED`"):
        parse('DEFINED(properties["a"])')
