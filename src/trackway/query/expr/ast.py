"""The syntax tree of an expression: immutable nodes, compared without their positions."""

from __future__ import annotations

from dataclasses import dataclass, field

# Every function takes exactly one argument; the parser and the evaluator share this list.
FUNCTIONS = ("boolean", "ceil", "datetime", "defined", "floor", "number", "round", "string")
# `event[...]` keys and the field each one reads.
EVENT_FIELDS = {"$time": "time", "time": "time", "name": "name", "$name": "name"}
COMPARISONS = ("==", "!=", ">", ">=", "<", "<=", "in", "not in")
ARITHMETIC = ("+", "-", "*", "/", "%")


@dataclass(frozen=True, slots=True)
class Number:
    value: int | float
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class String:
    value: str
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Boolean:
    value: bool
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Null:
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ListLiteral:
    """``[1, "a", null]``: items are literals (possibly nested lists), never expressions."""

    items: tuple[Literal, ...]
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Property:
    """``properties["name"]``: an event property (a profile property under /engage)."""

    name: str
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class UserProperty:
    """``user["name"]``: a property of the profile the row belongs to."""

    name: str
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class EventField:
    """``event["$time"]`` or ``event["name"]``; ``key`` is one of EVENT_FIELDS as written."""

    key: str
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Cohort:
    """``cohort(12)``: is the row's user (or group) in saved cohort 12, as of the query."""

    cohort_id: int
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # one of ARITHMETIC or COMPARISONS
    left: Node
    right: Node
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Logical:
    """An unparenthesised chain ``a or b or c`` is one node, so long chains stay shallow."""

    op: str  # "and" or "or"
    operands: tuple[Node, ...]
    position: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Call:
    function: str  # one of FUNCTIONS
    argument: Node
    position: int = field(default=0, compare=False, repr=False)


Literal = Number | String | Boolean | Null | ListLiteral
Node = Literal | Property | UserProperty | EventField | Cohort | Unary | Binary | Logical | Call


def children(node: Node) -> tuple[Node, ...]:
    match node:
        case Unary(operand=operand) | Call(argument=operand):
            return (operand,)
        case Binary(left=left, right=right):
            return (left, right)
        case Logical(operands=operands):
            return operands
        case _:
            return ()


def walk(node: Node) -> list[Node]:
    """Every node of the tree, parents before children (iterative: trees may be wide)."""
    found: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(children(current)))
    return found
