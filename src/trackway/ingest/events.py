"""Validate and normalise one event of a /track or /import batch.

The normal form every later layer relies on: ``{"event": str, "properties": {...}}`` with
``time`` in integer milliseconds UTC, a string ``distinct_id`` (``""`` means no user), a
``$insert_id``, and ``mp_processing_time_ms``. The project token is dropped: the log record
already names the project.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trackway.ingest.failures import RecordRejectedError, type_name
from trackway.ingest.values import clean_properties
from trackway.settings import Settings

# Mixpanel rejects these distinct_ids: SDK placeholders that would merge strangers into one user.
DISALLOWED_DISTINCT_IDS = frozenset(
    {
        "00000000-0000-0000-0000-000000000000",
        "anon",
        "anonymous",
        "nil",
        "none",
        "null",
        "n/a",
        "na",
        "undefined",
        "unknown",
        "<nil>",
        "0",
        "-1",
        "true",
        "false",
        "[]",
        "{}",
    }
)
# Original ID merge: the events that join identity clusters (docs/identity.md).
IDENTITY_EVENTS = frozenset({"$identify", "$create_alias", "$merge"})
# A number at or above this magnitude is milliseconds: 1e11 s is the year 5138, 1e11 ms 1973.
MS_THRESHOLD = 100_000_000_000
_INSERT_ID = re.compile(r"[A-Za-z0-9-]+")
# Generated $insert_ids: a random per-process prefix plus a counter, unique without a syscall.
_ID_PREFIX = os.urandom(8).hex()
_id_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class EventContext:
    is_import: bool
    received_ms: int
    settings: Settings
    strict: bool
    simplified_id_merge: bool
    ip_distinct_id: str | None = None
    needs_cleaning: bool = True  # see Decoded.needs_cleaning


def event_insert_id(item: object) -> str | None:
    """The client's $insert_id of a raw item, if it has a usable one (for failure reports)."""
    if isinstance(item, dict):
        props = item.get("properties")
        if isinstance(props, dict):
            value = props.get("$insert_id")
            if isinstance(value, str):
                return value
    return None


def normalise_event(item: Any, index: int, ctx: EventContext) -> dict[str, Any]:
    where = f"$[{index}]"
    if type(item) is not dict:
        raise RecordRejectedError(
            "", f"Expected an event object, got {type_name(item)} - at `{where}`"
        )
    name = item.get("event")
    if type(name) is not str or not name:
        raise RecordRejectedError(
            "event",
            f"Expected `event` to be a non-empty string, got {type_name(name)} - at `{where}.event`",
        )
    props = item.get("properties", {})
    if type(props) is not dict:
        raise RecordRejectedError(
            "properties",
            f"Expected `properties` to be an object, got {type_name(props)} - at `{where}.properties`",
        )
    settings = ctx.settings
    props = clean_properties(props, f"{where}.properties", settings, ctx.needs_cleaning)
    props.pop("token", None)
    props["time"] = _event_time(props.get("time"), where, ctx)
    if not ctx.simplified_id_merge and name in IDENTITY_EVENTS:
        _identity_event(name, props, where, ctx)
    props["distinct_id"] = _distinct_id(props, where, ctx)
    props["$insert_id"] = _insert_id(props.get("$insert_id"), where, ctx)
    props["mp_processing_time_ms"] = ctx.received_ms
    if ctx.is_import:
        props["$import"] = True
    return {"event": name[: settings.max_string_length], "properties": props}


def to_epoch_ms(value: int | float) -> int:
    """Seconds or milliseconds since the epoch, told apart by magnitude (see MS_THRESHOLD)."""
    if -MS_THRESHOLD < value < MS_THRESHOLD:
        return round(value * 1000)
    return round(value)


def _event_time(value: Any, where: str, ctx: EventContext) -> int:
    field = f"{where}.properties.time"
    if value is None:
        if ctx.is_import:
            raise RecordRejectedError(
                "properties.time",
                f"Expected `time` (unix seconds or ms), it is missing - at `{field}`",
            )
        return ctx.received_ms
    kind = type(value)
    if kind is not int and kind is not float:
        raise RecordRejectedError(
            "properties.time",
            f"Expected `number` (unix seconds or ms), got `{type_name(value)}` - at `{field}`",
        )
    ms = to_epoch_ms(value)
    settings = ctx.settings
    if ctx.is_import:
        if ms < settings.import_min_time_ms:
            raise RecordRejectedError(
                "properties.time",
                f"Expected a time after 1971-01-01, got {_iso(ms)} - at `{field}`",
            )
        if ms > ctx.received_ms + settings.import_max_future_ms:
            raise RecordRejectedError(
                "properties.time",
                f"Expected a time at most {settings.import_max_future_ms // 1000} s in the future, "
                f"got {_iso(ms)} - at `{field}`",
            )
    elif ms < ctx.received_ms - settings.track_max_age_ms:
        days = settings.track_max_age_ms / 86_400_000
        raise RecordRejectedError(
            "properties.time",
            f"Expected a time within the last {days:g} days on /track (send older events to "
            f"/import), got {_iso(ms)} - at `{field}`",
        )
    return ms


def _distinct_id(props: dict[str, Any], where: str, ctx: EventContext) -> str:
    if ctx.simplified_id_merge:
        # Simplified ID merge: $user_id names the user; a lone $device_id an anonymous device.
        user_id = props.get("$user_id")
        if user_id is not None and user_id != "":
            return _checked_id(user_id, f"{where}.properties.$user_id")
        device_id = props.get("$device_id")
        if "distinct_id" not in props and device_id is not None and device_id != "":
            return "$device:" + _checked_id(device_id, f"{where}.properties.$device_id")
    value = props.get("distinct_id")
    if value is None:
        if ctx.is_import and ctx.strict:
            raise RecordRejectedError(
                "properties.distinct_id",
                f"Expected `distinct_id` (string), it is missing - at `{where}.properties.distinct_id`",
            )
        return ctx.ip_distinct_id or ""
    if value == "":
        return ""
    return _checked_id(value, f"{where}.properties.distinct_id")


def _identity_event(name: str, props: dict[str, Any], where: str, ctx: EventContext) -> None:
    """Original ID merge: `$identify` and `$merge` without a distinct_id belong to the
    identified id and to the first merged id; `$create_alias` needs the id it aliases; `$merge`
    is taken only on the authenticated /import."""
    missing = props.get("distinct_id") in (None, "")
    if name == "$merge":
        if not ctx.is_import:
            raise RecordRejectedError(
                "event",
                f"Expected `$merge` only on the authenticated /import, got it on /track - at `{where}.event`",
            )
        merged = props.get("$distinct_ids")
        if missing and type(merged) is list and merged:
            field = f"{where}.properties.$distinct_ids[0]"
            props["distinct_id"] = _checked_id(merged[0], field)
    elif name == "$identify":
        identified = props.get("$identified_id")
        if missing and identified not in (None, ""):
            props["distinct_id"] = _checked_id(identified, f"{where}.properties.$identified_id")
    elif missing:
        raise RecordRejectedError(
            "properties.distinct_id",
            "Expected `distinct_id` (the id `alias` joins) on `$create_alias`, it is missing "
            f"- at `{where}.properties.distinct_id`",
        )


def _checked_id(value: Any, field: str) -> str:
    kind = type(value)
    if kind is int:
        value = str(value)
    elif kind is not str:
        raise RecordRejectedError(
            field.split(".", 1)[1], f"Expected `string`, got `{type_name(value)}` - at `{field}`"
        )
    if value.strip().lower() in DISALLOWED_DISTINCT_IDS:
        raise RecordRejectedError(
            field.split(".", 1)[1],
            f"Expected a real user id, got the placeholder {value!r} - at `{field}`",
        )
    return str(value)


def _insert_id(value: Any, where: str, ctx: EventContext) -> str:
    field = f"{where}.properties.$insert_id"
    if value is None:
        if ctx.is_import and ctx.strict:
            raise RecordRejectedError(
                "properties.$insert_id", f"Expected `$insert_id`, it is missing - at `{field}`"
            )
        return f"{_ID_PREFIX}{next(_id_counter):x}"
    limit = ctx.settings.max_insert_id_length
    if type(value) is not str or len(value) > limit or not _INSERT_ID.fullmatch(value):
        shown = repr(value[:64]) if type(value) is str else f"`{type_name(value)}`"
        raise RecordRejectedError(
            "properties.$insert_id",
            f"Expected `$insert_id` of 1 to {limit} characters [A-Za-z0-9-], got {shown} - at `{field}`",
        )
    return value


def _iso(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"
