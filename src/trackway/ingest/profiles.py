"""Validate and normalise one user-profile (/engage) or group-profile (/groups) update.

The normal form keeps the operations in the order the client wrote them (storage applies
them in that order) next to ``$distinct_id`` (or ``$group_key``/``$group_id``), ``$time`` in
integer ms and ``$ignore_time``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trackway.ingest.events import to_epoch_ms
from trackway.ingest.failures import RecordRejectedError, type_name
from trackway.ingest.values import clean_nested, clean_properties
from trackway.settings import Settings

USER_OPS = frozenset(
    {"$set", "$set_once", "$add", "$append", "$union", "$remove", "$unset", "$delete"}
)
GROUP_OPS = USER_OPS - {"$add", "$append"}
# Keys the SDKs put next to the operations; accepted, and only the ones that matter are kept.
MODIFIERS = frozenset(
    {
        "$token",
        "$distinct_id",
        "$group_key",
        "$group_id",
        "$time",
        "$ip",
        "$ignore_time",
        "$ignore_alias",
        "$device_id",
        "$user_id",
        "$had_persisted_distinct_id",
        "$latitude",
        "$longitude",
    }
)


@dataclass(frozen=True, slots=True)
class ProfileContext:
    is_group: bool
    received_ms: int
    settings: Settings


def normalise_update(item: Any, index: int, ctx: ProfileContext) -> dict[str, Any]:
    where = f"$[{index}]"
    if type(item) is not dict:
        raise RecordRejectedError(
            "", f"Expected an update object, got {type_name(item)} - at `{where}`"
        )
    allowed = GROUP_OPS if ctx.is_group else USER_OPS
    out: dict[str, Any] = _identity(item, where, ctx.is_group)
    out["$time"] = _update_time(item.get("$time"), where, ctx.received_ms)
    out["$ignore_time"] = item.get("$ignore_time") is True
    if item.get("$ignore_alias") is True:
        out["$ignore_alias"] = True
    operations = 0
    for key, operand in item.items():
        if key in allowed:
            out[key] = _operand(key, operand, f"{where}.{key}", ctx.settings)
            operations += 1
        elif key not in MODIFIERS:
            endpoint = "/groups" if ctx.is_group else "/engage"
            raise RecordRejectedError(
                key,
                f"Expected one of {', '.join(sorted(allowed))} on {endpoint}, got {key!r} - at `{where}`",
            )
    if operations == 0:
        raise RecordRejectedError(
            "", f"Expected at least one operation ({', '.join(sorted(allowed))}) - at `{where}`"
        )
    return out


def _identity(item: dict[str, Any], where: str, is_group: bool) -> dict[str, Any]:
    keys = ("$group_key", "$group_id") if is_group else ("$distinct_id",)
    out: dict[str, Any] = {}
    for key in keys:
        value = item.get(key)
        if key == "$distinct_id" and value is None:
            value = item.get("$user_id")  # mixpanel-browser sends $user_id next to people ops
        if type(value) is int:
            value = str(value)
        if type(value) is not str or not value:
            raise RecordRejectedError(
                key,
                f"Expected `{key}` as a non-empty string, got {type_name(value)} - at `{where}.{key}`",
            )
        out[key] = value
    return out


def _update_time(value: Any, where: str, received_ms: int) -> int:
    if value is None:
        return received_ms
    if type(value) is not int and type(value) is not float:
        raise RecordRejectedError(
            "$time",
            f"Expected `number` (unix seconds or ms), got `{type_name(value)}` - at `{where}.$time`",
        )
    return to_epoch_ms(value)


def _operand(op: str, operand: Any, path: str, settings: Settings) -> Any:
    if op == "$delete":
        return ""
    if op == "$unset":
        if type(operand) is not list or not all(type(name) is str for name in operand):
            raise RecordRejectedError(op, f"Expected an array of property names - at `{path}`")
        return operand
    if type(operand) is not dict:
        raise RecordRejectedError(op, f"Expected an object, got {type_name(operand)} - at `{path}`")
    cleaned = clean_properties(operand, path, settings)
    if op == "$add":
        for name, value in cleaned.items():
            if type(value) is not int and type(value) is not float:
                raise RecordRejectedError(
                    op, f"Expected `number`, got `{type_name(value)}` - at `{path}.{name}`"
                )
    elif op == "$union":
        for name, value in cleaned.items():
            if type(value) is not list:
                cleaned[name] = clean_nested([value], 1, f"{path}.{name}", settings)
    return cleaned
