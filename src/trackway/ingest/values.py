"""Checks and truncation shared by event properties and profile operands."""

from __future__ import annotations

from typing import Any

from trackway.ingest.failures import RecordRejectedError
from trackway.settings import Settings


def clean_properties(
    props: dict[str, Any], path: str, settings: Settings, needs_cleaning: bool = True
) -> dict[str, Any]:
    """Enforce Mixpanel's property limits, truncating over-long strings and names.

    ``needs_cleaning=False`` promises that no value is nested and no string or name is over
    the limit (decode checks the raw JSON once). Returns the same dict when nothing needed
    renaming."""
    if len(props) > settings.max_properties:
        raise RecordRejectedError(
            path,
            f"Expected at most {settings.max_properties} properties, got {len(props)} - at `{path}`",
        )
    if not needs_cleaning:  # the hot path: flat, short values need no per-value Python work
        return props
    max_len = settings.max_string_length
    long_names = False
    for key, value in props.items():
        if len(key) > settings.max_property_name_length:
            long_names = True
        kind = type(value)
        if kind is str:
            if len(value) > max_len:
                props[key] = value[:max_len]
        elif kind is dict or kind is list:
            props[key] = clean_nested(value, 1, f"{path}.{key}", settings)
    if long_names:
        limit = settings.max_property_name_length
        props = {key[:limit]: value for key, value in props.items()}
    return props


def clean_nested(value: Any, depth: int, path: str, settings: Settings) -> Any:
    """Check a list or object value: nesting depth, item counts; truncate its strings."""
    if depth > settings.max_nesting_depth:
        raise RecordRejectedError(
            path,
            f"Expected nesting depth at most {settings.max_nesting_depth} - at `{path}`",
        )
    if len(value) > settings.max_collection_items:
        raise RecordRejectedError(
            path,
            f"Expected at most {settings.max_collection_items} items, "
            f"got {len(value)} - at `{path}`",
        )
    max_len = settings.max_string_length
    if type(value) is list:
        out_list: list[Any] = []
        for i, item in enumerate(value):
            kind = type(item)
            if kind is str:
                out_list.append(item[:max_len])
            elif kind is dict or kind is list:
                out_list.append(clean_nested(item, depth + 1, f"{path}[{i}]", settings))
            else:
                out_list.append(item)
        return out_list
    out: dict[str, Any] = {}
    for key, item in value.items():
        kind = type(item)
        name = key[: settings.max_property_name_length]
        if kind is str:
            out[name] = item[:max_len]
        elif kind is dict or kind is list:
            out[name] = clean_nested(item, depth + 1, f"{path}.{key}", settings)
        else:
            out[name] = item
    return out
