"""Applying one profile update (ingest's normal form) to a profile's state. Pure functions.

A state is ``{"properties": {...}, "created_ms": int, "last_seen_ms": int}``; None is no
profile. Operations apply in the order the update lists them; updates in arrival order.
"""

from __future__ import annotations

from typing import Any

Profile = dict[str, Any]
# Operations that bring a missing profile into being; $remove and $unset do not.
_CREATING = frozenset({"$set", "$set_once", "$add", "$append", "$union"})


def apply_update(state: Profile | None, update: dict[str, Any]) -> Profile | None:
    at = update["$time"]
    for op, operand in update.items():
        if not op.startswith("$") or op in ("$time", "$ignore_time", "$ignore_alias"):
            continue
        if op == "$delete":
            state = None
            continue
        if op not in _OPS:
            continue  # identity keys ($distinct_id, $group_key, $group_id)
        if state is None:
            if op not in _CREATING:
                continue
            state = {"properties": {}, "created_ms": at, "last_seen_ms": at}
        _OPS[op](state["properties"], operand)
        if not update.get("$ignore_time"):
            state["last_seen_ms"] = max(state["last_seen_ms"], at)
    return state


def apply_logged(
    state: Profile | None, update: dict[str, Any], received_ms: int, erased_at: int | None
) -> tuple[bool, Profile | None]:
    """Apply an update received at ``received_ms`` to a profile whose user was deleted (GDPR)
    at ``erased_at``, if ever: an update received before the deletion is erased with it; one
    received after starts from an empty profile unless the deletion was applied already.
    Returns (whether the update counts, the new state). ``state`` is changed in place."""
    if erased_at is not None:
        if received_ms <= erased_at:
            return False, state
        if state is not None and state.get("erased_ms", -1) < erased_at:
            state = None
    new = apply_update(state, update)
    if new is not None and erased_at is not None:
        new["erased_ms"] = erased_at
    return True, new


def _set(props: dict[str, Any], operand: dict[str, Any]) -> None:
    props.update(operand)


def _set_once(props: dict[str, Any], operand: dict[str, Any]) -> None:
    for name, value in operand.items():
        props.setdefault(name, value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _add(props: dict[str, Any], operand: dict[str, Any]) -> None:
    for name, amount in operand.items():
        current = props.get(name, 0)
        if _is_number(current):  # adding to a non-number is ignored, as Mixpanel does
            total = current + amount
            # JSON numbers beyond 64-bit integers are kept as floats, as JSON readers do.
            props[name] = (
                float(total) if isinstance(total, int) and not -(2**63) <= total < 2**64 else total
            )


def _append(props: dict[str, Any], operand: dict[str, Any]) -> None:
    for name, value in operand.items():
        current = props.get(name)
        if current is None:
            props[name] = [value]
        elif isinstance(current, list):
            props[name] = [*current, value]


def _union(props: dict[str, Any], operand: dict[str, Any]) -> None:
    for name, values in operand.items():
        current = props.get(name)
        if current is None:
            current = []
        elif not isinstance(current, list):
            continue
        merged = list(current)
        for value in values:
            if not any(_same(value, item) for item in merged):
                merged.append(value)
        props[name] = merged


def _remove(props: dict[str, Any], operand: dict[str, Any]) -> None:
    for name, value in operand.items():
        current = props.get(name)
        if isinstance(current, list):
            props[name] = [item for item in current if not _same(item, value)]


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1 (Python's bool is an int), 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _unset(props: dict[str, Any], names: list[str]) -> None:
    for name in names:
        props.pop(name, None)


_OPS: dict[str, Any] = {
    "$set": _set,
    "$set_once": _set_once,
    "$add": _add,
    "$append": _append,
    "$union": _union,
    "$remove": _remove,
    "$unset": _unset,
}
