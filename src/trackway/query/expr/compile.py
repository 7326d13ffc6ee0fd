"""Expression text to a Compiled expression that evaluates over columns.

``compile_expression`` parses, checks what can be checked before seeing data (operands of
``and``/``or`` that can never be a boolean), and records what the expression reads so the
planner can fetch just those columns. Evaluation walks the tree once per batch, each node a
whole-column kernel; the tree is at most MAX_DEPTH high, so the recursion is bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from trackway.errors import InternalError
from trackway.query.expr import arithmetic, casts, compare, logic
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
    walk,
)
from trackway.query.expr.contains import contains, not_contains
from trackway.query.expr.errors import ExpressionError
from trackway.query.expr.parser import parse
from trackway.query.expr.printer import to_text
from trackway.query.expr.values import Value
from trackway.query.expr.vector import Vector


class Resolver(Protocol):
    """Where an expression's inputs come from, for one batch of ``n`` rows.

    Each method answers a Vector of exactly ``n`` rows. ``user_property`` raises
    ExpressionError("user properties are not available here") where there are no profiles,
    ``in_cohort`` (a boolean per row: is the row's user in the saved cohort) likewise where
    there are no cohorts.
    """

    def property(self, name: str) -> Vector: ...
    def time(self) -> Vector: ...
    def event_name(self) -> Vector: ...
    def user_property(self, name: str) -> Vector: ...
    def in_cohort(self, cohort_id: int) -> Vector: ...


BINARY: dict[str, Callable[[Vector, Vector], Vector]] = {
    "+": arithmetic.add,
    "-": arithmetic.subtract,
    "*": arithmetic.multiply,
    "/": arithmetic.divide,
    "%": arithmetic.modulo,
    "==": compare.equal,
    "!=": compare.not_equal,
    ">": compare.greater,
    ">=": compare.greater_equal,
    "<": compare.less,
    "<=": compare.less_equal,
    "in": contains,
    "not in": not_contains,
}
CALLS: dict[str, Callable[[Vector], Vector]] = {
    "boolean": casts.boolean,
    "ceil": arithmetic.ceil,
    "datetime": casts.datetime,
    "defined": casts.defined,
    "floor": arithmetic.floor,
    "number": casts.number,
    "round": arithmetic.round_half_up,
    "string": casts.string,
}
assert set(CALLS) == set(FUNCTIONS)


@dataclass(frozen=True, slots=True)
class Compiled:
    text: str
    tree: Node
    properties: frozenset[str]
    user_properties: frozenset[str]
    uses_time: bool
    uses_event_name: bool
    # The saved cohorts ``cohort(id)`` names: a cohort's definition may not name itself.
    cohorts: frozenset[int] = frozenset()
    # One-row vectors of the literals, by id() of their node: built once, broadcast per batch.
    constants: dict[int, Vector] = field(default_factory=dict, compare=False, repr=False)

    def evaluate(self, resolver: Resolver, n: int) -> Vector:
        """The expression's value on each of the ``n`` rows the resolver describes."""
        return _Evaluation(self.text, resolver, n, self.constants).run(self.tree)

    def filter_mask(self, resolver: Resolver, n: int) -> npt.NDArray[np.bool_]:
        """Rows a ``where`` keeps: those whose value is boolean true (not merely truthy).

        The array is the caller's own: it may be written to without touching any input.
        """
        return np.array(self.evaluate(resolver, n).truth(), dtype=np.bool_, copy=True)

    def canonical(self) -> str:
        """The expression re-spelt canonically (lower-case keywords, minimal parentheses)."""
        return to_text(self.tree)


def compile_expression(text: str) -> Compiled:
    tree = parse(text)
    nodes = walk(tree)
    for node in nodes:
        if isinstance(node, Logical):
            for operand in node.operands:
                _check_logical_operand(text, node.op, operand)
    fields = {EVENT_FIELDS[node.key] for node in nodes if isinstance(node, EventField)}
    return Compiled(
        text=text,
        tree=tree,
        properties=frozenset(node.name for node in nodes if isinstance(node, Property)),
        user_properties=frozenset(n.name for n in nodes if isinstance(n, UserProperty)),
        uses_time="time" in fields,
        uses_event_name="name" in fields,
        cohorts=frozenset(node.cohort_id for node in nodes if isinstance(node, Cohort)),
        constants={
            id(node): Vector.from_values([literal_value(node)])
            for node in nodes
            if isinstance(node, Number | String | Boolean | Null | ListLiteral)
        },
    )


# What each literal is called when it shows up where a boolean must be.
_NEVER_BOOLEAN = {Number: "a number", String: "a string", Null: "null", ListLiteral: "a list"}


def _check_logical_operand(text: str, op: str, operand: Node) -> None:
    """Refuse an operand of and/or that is certainly neither boolean nor undefined."""
    kind = _NEVER_BOOLEAN.get(type(operand))
    if isinstance(operand, EventField):
        kind = "a datetime" if EVENT_FIELDS[operand.key] == "time" else "a string"
    if kind is not None:
        raise ExpressionError.at(
            text, operand.position, f"Expected a boolean operand of `{op}`", kind
        )


def literal_value(node: Literal) -> Value:
    match node:
        case Number(value=value) | String(value=value) | Boolean(value=value):
            return value
        case ListLiteral(items=items):
            return tuple(literal_value(item) for item in items)
    return None


class _Evaluation:
    def __init__(self, text: str, resolver: Resolver, n: int, constants: dict[int, Vector]) -> None:
        self.text = text
        self.constants = constants
        self.resolver = resolver
        self.n = n
        self.inputs: dict[tuple[str, str], Vector] = {}

    def run(self, node: Node) -> Vector:
        match node:
            case Logical(op=op, operands=operands):
                values = [self.run(operand) for operand in operands]
                return logic.all_of(values) if op == "and" else logic.any_of(values)
            case Binary(op=op, left=left, right=right):
                return BINARY[op](self.run(left), self.run(right))
            case Unary(op="not", operand=operand):
                return logic.negation(self.run(operand))
            case Unary(operand=operand):
                return arithmetic.negate(self.run(operand))
            case Call(function=function, argument=argument):
                return CALLS[function](self.run(argument))
            case Property(name=name):
                return self.input("property", name, lambda: self.resolver.property(name))
            case UserProperty(name=name):
                return self.input("user", name, lambda: self.user_property(node))
            case Cohort(cohort_id=cohort_id):
                return self.input("cohort", str(cohort_id), lambda: self.in_cohort(node))
            case EventField(key=key) if EVENT_FIELDS[key] == "time":
                return self.input("event", "time", self.resolver.time)
            case EventField():
                return self.input("event", "name", self.resolver.event_name)
        return self.constants[id(node)].broadcast(self.n)

    def input(self, source: str, name: str, fetch: Callable[[], Vector]) -> Vector:
        """A resolver's vector, fetched once per evaluation however often it is named."""
        key = (source, name)
        vector = self.inputs.get(key)
        if vector is None:
            vector = self.inputs[key] = fetch()
            if len(vector) != self.n:
                raise InternalError(
                    f"Expected {self.n} rows for {source} {name!r}, got {len(vector)}"
                )
        return vector

    def user_property(self, node: UserProperty) -> Vector:
        return self.located(node.position, lambda: self.resolver.user_property(node.name))

    def in_cohort(self, node: Cohort) -> Vector:
        return self.located(node.position, lambda: self.resolver.in_cohort(node.cohort_id))

    def located(self, position: int, fetch: Callable[[], Vector]) -> Vector:
        try:
            return fetch()
        except ExpressionError as error:
            if error.position is not None:
                raise
            # Point at the user["…"] or cohort(…) that asked, keeping the resolver's reason.
            raise ExpressionError.at(self.text, position, error.message) from error
