"""A syntax tree back to text: canonical spelling, parentheses only where precedence needs them.

``parse(to_text(tree)) == tree`` for every tree the parser can produce.
"""

from __future__ import annotations

from trackway.query.expr.ast import (
    Binary,
    Boolean,
    Call,
    Cohort,
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
from trackway.query.expr.parser import MINUS_POWER, NOT_POWER

_POWER = {"or": 1, "and": 2, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
_POWER |= dict.fromkeys(("==", "!=", ">", ">=", "<", "<=", "in", "not in"), 4)
_ATOM = 8
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def to_text(node: Node) -> str:
    return _text(node)[0]


def _text(node: Node) -> tuple[str, int]:
    """The node's text and the binding power of its outermost operator."""
    match node:
        case Logical(op=op, operands=operands):
            power = _POWER[op]
            return f" {op} ".join(_wrap(o, power + 1) for o in operands), power
        case Binary(op=op, left=left, right=right):
            power = _POWER[op]
            return f"{_wrap(left, power)} {op} {_wrap(right, power + 1)}", power
        case Unary(op="not", operand=operand):
            return f"not {_wrap(operand, NOT_POWER)}", NOT_POWER
        case Unary(operand=operand):
            # `-5` would read back as the literal -5, so a minus on a literal keeps parentheses.
            inner = f"({to_text(operand)})" if isinstance(operand, Number) else None
            inner = inner or _wrap(operand, MINUS_POWER)
            return ("- " if inner.startswith("-") else "-") + inner, MINUS_POWER
        case Call(function=function, argument=argument):
            return f"{function}({to_text(argument)})", _ATOM
        case Property(name=name):
            return f"properties[{quote(name)}]", _ATOM
        case UserProperty(name=name):
            return f"user[{quote(name)}]", _ATOM
        case EventField(key=key):
            return f"event[{quote(key)}]", _ATOM
        case Cohort(cohort_id=cohort_id):
            return f"cohort({cohort_id})", _ATOM
        case Number(value=value):
            return repr(value), MINUS_POWER if value < 0 or str(value)[0] == "-" else _ATOM
        case String(value=value):
            return quote(value), _ATOM
        case Boolean(value=value):
            return ("true" if value else "false"), _ATOM
        case Null():
            return "null", _ATOM
        case ListLiteral(items=items):
            return "[" + ", ".join(to_text(item) for item in items) + "]", _ATOM
    raise AssertionError(node)


def _wrap(node: Node, power: int) -> str:
    text, own = _text(node)
    return text if own >= power else f"({text})"


def quote(value: str) -> str:
    """A double-quoted literal the lexer reads back as ``value``."""
    out = []
    for char in value:
        escaped = _ESCAPES.get(char)
        if escaped is None and char < " ":
            escaped = f"\\u{ord(char):04x}"
        out.append(escaped or char)
    return '"' + "".join(out) + '"'
