"""Tokens to a syntax tree: a Pratt parser whose recursion and tree height are both bounded.

Binding powers, loosest first: ``or`` 1, ``and`` 2, prefix ``not`` 3, comparisons and ``in``
4, ``+ -`` 5, ``* / %`` 6, prefix ``-`` 7. Binary operators are left-associative; a chain of
``and`` or ``or`` becomes one Logical node so that ``a or b or …`` stays one level deep.
"""

from __future__ import annotations

from trackway.query.expr.ast import (
    EVENT_FIELDS,
    FUNCTIONS,
    Binary,
    Boolean,
    Call,
    Cohort,
    EventField,
    ListLiteral,
    Literal,
    Logical,
    Node,
    Null,
    Number,
    Property,
    String,
    Unary,
    UserProperty,
)
from trackway.query.expr.errors import MAX_DEPTH, MAX_LIST_ITEMS, ExpressionError
from trackway.query.expr.lexer import Kind, Token, tokenize
from trackway.query.expr.values import INT64_MAX, INT64_MIN

_INFIX = {"or": 1, "and": 2, "in": 4, "not in": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
_INFIX |= dict.fromkeys(("==", "!=", ">", ">=", "<", "<="), 4)
NOT_POWER = 3
MINUS_POWER = 7
# Keywords are written all lower-case or, as Mixpanel's UI writes them, all upper-case.
KEYWORDS = ("and", "or", "not", "in", "true", "false", "null")
_SOURCES = ("properties", "user", "event")


def parse(text: str) -> Node:
    """The syntax tree of ``text``, or an ExpressionError pointing at the first fault."""
    return _Parser(text).parse()


def keyword(token: Token) -> str | None:
    """The keyword a NAME token spells (``AND`` → ``and``), or None."""
    if token.kind is not Kind.NAME:
        return None
    lower = token.text.lower()
    if lower in KEYWORDS and token.text in (lower, lower.upper()):
        return lower
    return None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    def parse(self) -> Node:
        node, _ = self.expression(0)
        end = self.peek()
        if end.kind is not Kind.END:
            raise self.error(end, "Expected an operator or the end of the expression")
        return node

    # -- token helpers -------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.peek()
        if token.kind is not Kind.OPERATOR or token.text != text:
            raise self.error(token, f"Expected `{text}`")
        return self.advance()

    def error(self, token: Token, expected: str) -> ExpressionError:
        return ExpressionError.at(self.text, token.position, expected, token.describe())

    def infix(self) -> str | None:
        token = self.peek()
        if token.kind is Kind.OPERATOR:
            return token.text if token.text in _INFIX else None
        word = keyword(token)
        if word == "not" and keyword(self.peek(1)) == "in":
            return "not in"
        return word if word in _INFIX else None

    # -- the Pratt loop ------------------------------------------------------------------

    def expression(self, power: int) -> tuple[Node, int]:
        """The longest expression binding tighter than ``power``, and its height."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.too_deep(self.peek())
        left, height = self.prefix()
        while (op := self.infix()) is not None and _INFIX[op] > power:
            start = self.peek()
            if op in ("and", "or"):
                operands, heights = [left], [height]
                while self.infix() == op:
                    self.advance()
                    right, right_height = self.expression(_INFIX[op])
                    operands.append(right)
                    heights.append(right_height)
                left, height = Logical(op, tuple(operands), start.position), max(heights) + 1
            else:
                self.index += 2 if op == "not in" else 1
                right, right_height = self.expression(_INFIX[op])
                left = Binary(op, left, right, start.position)
                height = max(height, right_height) + 1
            if height > MAX_DEPTH:
                raise self.too_deep(start)
        self.depth -= 1
        return left, height

    def too_deep(self, token: Token) -> ExpressionError:
        return ExpressionError.at(
            self.text,
            token.position,
            f"Expression nests deeper than {MAX_DEPTH} levels (parentheses, prefix operators,"
            " function calls and each operator of a chain count one level)",
        )

    def prefix(self) -> tuple[Node, int]:
        token = self.peek()
        word = keyword(token)
        if word == "not":
            self.advance()
            operand, height = self.expression(NOT_POWER)
            return Unary("not", operand, token.position), height + 1
        if token.kind is Kind.OPERATOR and token.text == "-":
            self.advance()
            if self.peek().kind is Kind.NUMBER:
                return self.number(self.advance(), token), 1
            operand, height = self.expression(MINUS_POWER)
            return Unary("-", operand, token.position), height + 1
        if token.kind is Kind.OPERATOR and token.text == "(":
            self.advance()
            inner, height = self.expression(0)
            self.expect(")")
            return inner, height
        if token.kind is Kind.NAME and word is None:
            return self.name(token)
        return self.literal(), 1

    def literal(self) -> Literal:
        token = self.advance()
        word = keyword(token)
        if token.kind is Kind.NUMBER:
            return self.number(token)
        if token.kind is Kind.STRING:
            assert isinstance(token.value, str)
            return String(token.value, token.position)
        if word in ("true", "false"):
            return Boolean(word == "true", token.position)
        if word == "null":
            return Null(token.position)
        if token.kind is Kind.OPERATOR and token.text == "[":
            return self.list_literal(token)
        raise self.error(token, "Expected an expression")

    def number(self, token: Token, minus: Token | None = None) -> Number:
        """A number literal, negated when a ``-`` token stands right before it."""
        value = token.value
        assert isinstance(value, int | float)
        value = -value if minus is not None else value
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            value = float(value)  # integers are int64, as storage keeps them
        return Number(value, (minus or token).position)

    def list_literal(self, opening: Token) -> ListLiteral:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.too_deep(opening)
        items: list[Literal] = []
        while not (self.peek().kind is Kind.OPERATOR and self.peek().text == "]"):
            if items:
                self.expect(",")
            if len(items) == MAX_LIST_ITEMS:
                raise self.error(self.peek(), f"List literal longer than {MAX_LIST_ITEMS} items")
            items.append(self.list_item())
        self.advance()
        self.depth -= 1
        return ListLiteral(tuple(items), opening.position)

    def list_item(self) -> Literal:
        token = self.peek()
        if token.kind is Kind.OPERATOR and token.text == "-" and self.peek(1).kind is Kind.NUMBER:
            self.advance()
            return self.number(self.advance(), token)
        if token.kind is Kind.NAME and keyword(token) is None:
            raise self.error(token, "Expected a literal (list items cannot be expressions)")
        return self.literal()

    def name(self, token: Token) -> tuple[Node, int]:
        self.advance()
        if token.text in _SOURCES:
            self.expect("[")
            key = self.advance()
            if key.kind is not Kind.STRING:
                raise self.error(key, f"Expected a quoted name inside `{token.text}[...]`")
            self.expect("]")
            assert isinstance(key.value, str)
            if token.text == "event" and key.value not in EVENT_FIELDS:
                known = ", ".join(f'event["{k}"]' for k in EVENT_FIELDS)
                raise self.error(key, f"Expected one of {known}")
            source: Node
            if token.text == "properties":
                source = Property(key.value, token.position)
            elif token.text == "user":
                source = UserProperty(key.value, token.position)
            else:
                source = EventField(key.value, token.position)
            return source, 1
        if token.text == "cohort":
            return self.cohort(token), 1
        if token.text not in FUNCTIONS:
            known = ", ".join(FUNCTIONS)
            raise ExpressionError.at(
                self.text,
                token.position,
                f"Unknown function or name `{token.text}` (functions: {known};"
                ' values: properties["…"], event["…"], user["…"], cohort(id))',
            )
        self.expect("(")
        argument, height = self.expression(0)
        if self.peek().kind is Kind.OPERATOR and self.peek().text == ",":
            raise self.error(self.peek(), f"Expected `)`: {token.text}() takes one argument")
        self.expect(")")
        return Call(token.text, argument, token.position), height + 1

    def cohort(self, token: Token) -> Cohort:
        """``cohort(12)``: the argument is a cohort id, an integer literal, not an expression."""
        self.expect("(")
        number = self.advance()
        if number.kind is not Kind.NUMBER or not isinstance(number.value, int):
            raise self.error(number, "Expected a cohort id (an integer) inside `cohort(...)`")
        if number.value > INT64_MAX:
            raise self.error(number, f"Expected a cohort id up to {INT64_MAX}")
        self.expect(")")
        return Cohort(number.value, token.position)
