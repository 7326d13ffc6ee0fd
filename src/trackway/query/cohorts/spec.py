"""A cohort's definition: its wire shape (msgspec, checked at the edge) and the condition tree
it parses into.

A condition is one JSON object with exactly one key: ``all``, ``any``, ``not``, ``profile``,
``did``, ``cohort`` or ``users`` (docs/cohorts.md). msgspec cannot tell such objects apart by
a tag field, so the tree is walked here, each node decoded by msgspec, and every error names
its path from the definition's root (``$.condition.all[1].did.at_least``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import msgspec

from trackway.query.errors import SpecError
from trackway.query.expr import Compiled, ExpressionError, compile_expression
from trackway.saved.objects import SavedCohort

MAX_CONDITIONS = 1000  # nodes of one tree: bounds the work a definition can ask for
MAX_DEPTH = 32
MAX_WITHIN_DAYS = 36_600
MAX_LISTED = 100_000  # ids of one `users` condition
KINDS = ("all", "any", "not", "profile", "did", "cohort", "users")
CONDITION_HELP = (
    "One object with one key: `all`/`any` (arrays of conditions), `not` (a condition), "
    "`profile` (an expression), `did` (event, where, at_least, at_most, within_days or "
    "from_date/to_date), `cohort` (a saved cohort id), `users` (an array of distinct_ids)"
)
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9999, 12, 30)  # local days any zone can convert


class CohortDefinition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a client saves: the condition stays JSON, as it was written."""

    name: str
    condition: Annotated[dict[str, Any], msgspec.Meta(description=CONDITION_HELP)]
    description: str = ""
    group: str | None = None  # a group key: the cohort's members are groups of that key


class DidSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    event: str | None = None  # None: any event
    where: str | None = None
    at_least: int = 1
    at_most: int | None = None
    within_days: int | None = None
    from_date: date | None = None
    to_date: date | None = None


# The parsed tree: immutable nodes, each knowing where it sits in the definition.


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition


@dataclass(frozen=True, slots=True)
class Profile:
    expression: Compiled
    path: str


@dataclass(frozen=True, slots=True)
class Did:
    spec: DidSpec
    where: Compiled | None
    path: str


@dataclass(frozen=True, slots=True)
class InCohort:
    cohort_id: int
    path: str


@dataclass(frozen=True, slots=True)
class Listed:
    """The users (or groups) named by id: a fixed list, such as a report's selection."""

    ids: tuple[str, ...]
    path: str


Condition = AllOf | AnyOf | Not | Profile | Did | InCohort | Listed

_definition_decoder = msgspec.json.Decoder(CohortDefinition)


def decode_definition(body: bytes) -> CohortDefinition:
    """A definition from a request body; it is checked with ``parse_condition`` after."""
    try:
        return _definition_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise SpecError(f"Invalid cohort definition: {exc}") from None
    except msgspec.DecodeError as exc:
        raise SpecError(f"Expected a JSON cohort definition: {exc}") from None


def definition_of(saved: SavedCohort) -> CohortDefinition:
    return CohortDefinition(saved.name, saved.condition, saved.description, saved.group)


def condition_of(saved: SavedCohort) -> Condition:
    """A saved cohort's condition tree (it was checked when saved)."""
    return check_definition(definition_of(saved))


def check_definition(definition: CohortDefinition) -> Condition:
    if not definition.name.strip():
        raise SpecError("Invalid cohort definition: expected a non-empty `name`", "$.name")
    if definition.group is not None and not definition.group:
        raise SpecError("Invalid cohort definition: expected a group key", "$.group")
    return parse_condition(definition.condition, "$.condition")


def parse_condition(raw: Any, path: str) -> Condition:
    """The tree of a JSON condition; a SpecError names the path of the first fault."""
    counter = [0]
    return _parse(raw, path, 0, counter)


def _parse(raw: Any, path: str, depth: int, counter: list[int]) -> Condition:
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise _invalid(f"Expected at most {MAX_CONDITIONS} conditions in one definition", path)
    if depth > MAX_DEPTH:
        raise _invalid(f"Expected conditions nested at most {MAX_DEPTH} deep", path)
    if not isinstance(raw, dict) or len(raw) != 1:
        found = f"an object with keys {sorted(raw)}" if isinstance(raw, dict) else _kind(raw)
        raise _invalid(f"Expected an object with one of the keys {', '.join(KINDS)}", path, found)
    ((kind, value),) = raw.items()
    inner = f"{path}.{kind}"
    if kind in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise _invalid("Expected a non-empty array of conditions", inner, _kind(value))
        items = tuple(
            _parse(item, f"{inner}[{i}]", depth + 1, counter) for i, item in enumerate(value)
        )
        return AllOf(items) if kind == "all" else AnyOf(items)
    if kind == "not":
        return Not(_parse(value, inner, depth + 1, counter))
    if kind == "profile":
        if not isinstance(value, str):
            raise _invalid("Expected an expression (a string)", inner, _kind(value))
        compiled = _compile(value, inner)
        if compiled.uses_time or compiled.uses_event_name:
            raise _invalid(
                'Expected an expression over profile properties, not `event["…"]`', inner
            )
        return Profile(compiled, inner)
    if kind == "did":
        return parse_did(value, inner)
    if kind == "cohort":
        if type(value) is not int or value < 1:
            raise _invalid("Expected a saved cohort id (an integer from 1)", inner, _kind(value))
        return InCohort(value, inner)
    if kind == "users":
        return _listed(value, inner)
    raise _invalid(f"Expected one of the keys {', '.join(KINDS)}", path, f"`{kind}`")


def parse_did(value: Any, path: str) -> Did:
    """One ``did`` condition's object (also /engage's ``behaviors``)."""
    try:
        spec = msgspec.convert(value, DidSpec)
    except msgspec.ValidationError as exc:
        message = str(exc).replace("- at `$", f"- at `{path}", 1)
        if "- at `" not in message:
            message += f" - at `{path}`"
        raise SpecError(f"Invalid cohort definition: {message}") from None
    if spec.event is not None and not spec.event:
        raise _invalid("Expected an event name, or null for any event", f"{path}.event")
    if spec.at_least < 0:
        raise _invalid("Expected `at_least` of 0 or more", f"{path}.at_least", str(spec.at_least))
    if spec.at_most is not None and spec.at_most < spec.at_least:
        raise _invalid(
            f"Expected `at_most` of at least `at_least` ({spec.at_least})",
            f"{path}.at_most",
            str(spec.at_most),
        )
    if spec.within_days is not None:
        if spec.from_date is not None or spec.to_date is not None:
            raise _invalid("Expected either `within_days` or `from_date`/`to_date`, not both", path)
        if not 1 <= spec.within_days <= MAX_WITHIN_DAYS:
            raise _invalid(
                f"Expected `within_days` between 1 and {MAX_WITHIN_DAYS}",
                f"{path}.within_days",
                str(spec.within_days),
            )
    for name in ("from_date", "to_date"):
        day = getattr(spec, name)
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise _invalid(
                f"Expected a day from {FIRST_DAY} to {LAST_DAY}", f"{path}.{name}", str(day)
            )
    if spec.from_date and spec.to_date and spec.to_date < spec.from_date:
        raise _invalid(
            f"Expected `to_date` on or after `from_date` ({spec.from_date})",
            f"{path}.to_date",
            str(spec.to_date),
        )
    where = _compile(spec.where, f"{path}.where") if spec.where else None
    return Did(spec, where, path)


def _listed(value: Any, path: str) -> Listed:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_LISTED:
        found = f"{len(value)} ids" if isinstance(value, list) else _kind(value)
        raise _invalid(f"Expected an array of 1 to {MAX_LISTED} ids", path, found)
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise _invalid(
                "Expected a distinct_id (a non-empty string)", f"{path}[{i}]", _kind(item)
            )
    return Listed(tuple(value), path)


def _compile(text: str, path: str) -> Compiled:
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        raise SpecError(f"Invalid cohort definition at `{path}`: {exc.message}") from None


def referenced(condition: Condition) -> set[int]:
    """Every saved cohort the tree depends on: ``{"cohort": N}`` and ``cohort(N)`` in its
    expressions."""
    found: set[int] = set()
    stack: list[Condition] = [condition]
    while stack:
        node = stack.pop()
        match node:
            case AllOf(conditions=items) | AnyOf(conditions=items):
                stack.extend(items)
            case Not(condition=item):
                stack.append(item)
            case Profile(expression=expression):
                found |= expression.cohorts
            case Did(where=where):
                found |= where.cohorts if where is not None else set()
            case InCohort(cohort_id=cohort_id):
                found.add(cohort_id)
    return found


def _invalid(expected: str, path: str, found: str | None = None) -> SpecError:
    got = f", got {found}" if found is not None else ""
    return SpecError(f"Invalid cohort definition: {expected}{got}", path)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {value}"
    return names.get(type(value), type(value).__name__)
