"""Formulas across metrics (``(A - B) / A * 100``): a small arithmetic parser, evaluated
bucket by bucket over the metrics' values. Division by zero gives null (None)."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from trackway.query.errors import SpecError

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|([A-Z])|(.))")
Values = npt.NDArray[np.float64]
Node = Callable[[dict[str, Values]], Values]
MAX_LENGTH = 1000


def compile_formula(text: str, letters: set[str]) -> Node:
    if len(text) > MAX_LENGTH:
        raise SpecError(f"Expected a formula of at most {MAX_LENGTH} characters")
    tokens: list[tuple[str, str, int]] = []
    for match in _TOKEN.finditer(text):
        number, letter, other = match.groups()
        if number is not None:
            tokens.append(("num", number, match.start(1)))
        elif letter is not None:
            if letter not in letters:
                raise SpecError(
                    f"Expected a metric letter ({', '.join(sorted(letters))}) in formula, got {letter!r} at position {match.start(2)}"
                )
            tokens.append(("var", letter, match.start(2)))
        elif other is not None and other.strip():
            if other not in "+-*/()":
                raise SpecError(
                    f"Expected a number, a metric letter or + - * / ( ) in formula, got {other!r} at position {match.start(3)}"
                )
            tokens.append(("op", other, match.start(3)))
    parser = _Parser(tokens, text)
    node = parser.expression(0)
    if parser.position != len(tokens):
        raise SpecError(
            f"Expected the end of the formula at position {tokens[parser.position][2]}: {text!r}"
        )
    return node


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.position = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def expression(self, depth: int) -> Node:
        if depth > 50:
            raise SpecError("Expected a formula nested at most 50 levels deep")
        node = self._term(depth)
        while (token := self._peek()) is not None and token[1] in "+-" and token[0] == "op":
            self.position += 1
            right = self._term(depth)
            node = _binary(token[1], node, right)
        return node

    def _term(self, depth: int) -> Node:
        node = self._factor(depth)
        while (token := self._peek()) is not None and token[1] in "*/" and token[0] == "op":
            self.position += 1
            right = self._factor(depth)
            node = _binary(token[1], node, right)
        return node

    def _factor(self, depth: int) -> Node:
        token = self._peek()
        if token is None:
            raise SpecError(
                f"Expected a number, a metric letter or `(` at the end of formula {self.text!r}"
            )
        self.position += 1
        kind, value, where = token
        if kind == "num":
            constant = float(value)
            return lambda env: np.full(len(next(iter(env.values()))), constant)
        if kind == "var":
            return lambda env: env[value]
        if value == "-":
            inner = self._factor(depth + 1)
            return lambda env: -inner(env)
        if value == "(":
            node = self.expression(depth + 1)
            closing = self._peek()
            if closing is None or closing[1] != ")":
                raise SpecError(
                    f"Expected `)` to close `(` at position {where} in formula {self.text!r}"
                )
            self.position += 1
            return node
        raise SpecError(
            f"Expected a number, a metric letter or `(` at position {where}, got {value!r}"
        )


def _binary(op: str, left: Node, right: Node) -> Node:
    if op == "+":
        return lambda env: left(env) + right(env)
    if op == "-":
        return lambda env: left(env) - right(env)
    if op == "*":
        return lambda env: left(env) * right(env)

    def divide(env: dict[str, Values]) -> Values:
        numerator, denominator = left(env), right(env)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = numerator / denominator
        out[denominator == 0] = np.nan
        return out

    return divide
