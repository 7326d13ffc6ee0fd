"""A reference for profile updates, written from docs/storage.md, not from profile_ops.py.

Slow and obviously correct: every step builds a new state. Values compare as JSON does, so a
boolean never equals a number (Python's ``True == 1`` would say otherwise).
"""

from __future__ import annotations

from typing import Any

OPERATIONS = ("$set", "$set_once", "$add", "$append", "$union", "$remove", "$unset", "$delete")
CREATING = ("$set", "$set_once", "$add", "$append", "$union")


def json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _step(op: str, props: dict[str, Any], operand: Any) -> dict[str, Any]:
    if op == "$set":
        return {**props, **operand}
    if op == "$set_once":
        return {**operand, **props}
    if op == "$unset":
        return {k: v for k, v in props.items() if k not in operand}
    out = dict(props)
    for name, value in operand.items():
        current = props.get(name)
        if op == "$add":
            base = props.get(name, 0)
            if _is_number(base):
                total = base + value
                # Beyond 64-bit integers a JSON number is a float (profile_updates.py).
                big = isinstance(total, int) and not -(2**63) <= total < 2**64
                out[name] = float(total) if big else total
        elif op == "$append":
            if current is None:
                out[name] = [value]
            elif isinstance(current, list):
                out[name] = [*current, value]
        elif op == "$union":
            if current is not None and not isinstance(current, list):
                continue
            merged = list(current or [])
            for item in value:
                if not any(json_equal(item, kept) for kept in merged):
                    merged.append(item)
            out[name] = merged
        elif op == "$remove" and isinstance(current, list):
            out[name] = [item for item in current if not json_equal(item, value)]
    return out


def apply(state: dict[str, Any] | None, update: dict[str, Any]) -> dict[str, Any] | None:
    """The profile after ``update`` (ingest's normal form); None is no profile."""
    at = update["$time"]
    for op, operand in update.items():
        if op not in OPERATIONS:
            continue
        if op == "$delete":
            state = None
            continue
        if state is None:
            if op not in CREATING:
                continue
            state = {"properties": {}, "created_ms": at, "last_seen_ms": at}
        state = {
            "properties": _step(op, state["properties"], operand),
            "created_ms": state["created_ms"],
            "last_seen_ms": (
                state["last_seen_ms"] if update["$ignore_time"] else max(state["last_seen_ms"], at)
            ),
        }
    return state
