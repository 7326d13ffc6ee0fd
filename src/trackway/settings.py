"""Named settings, each with a default, read from ``TRACKWAY_<NAME>`` environment variables.

Every field here is listed in docs/settings.md; a test fails when one is missing there.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

from trackway.errors import UserError

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Settings:
    # Request limits (Mixpanel's documented ingestion limits).
    max_records_per_request: int = 2000
    max_request_bytes: int = 10_000_000
    max_event_bytes: int = 1_000_000
    max_properties: int = 254
    max_nesting_depth: int = 3
    max_collection_items: int = 254
    max_string_length: int = 255
    max_property_name_length: int = 255
    max_insert_id_length: int = 36
    # Distinct property names per project: of events, and of each kind of profile
    # (docs/ingest.md#property-names-per-project).
    max_property_names: int = 2000
    max_profile_property_names: int = 2000
    # Event time windows.
    track_max_age_ms: int = 5 * DAY_MS
    import_min_time_ms: int = 31_536_000_000  # 1971-01-01T00:00:00Z
    import_max_future_ms: int = 3_600_000
    # Per-project ingestion rate, in events per rolling minute; 0 disables the limit.
    rate_limit_events_per_minute: int = 1_800_000
    # Write-ahead log.
    log_segment_bytes: int = 64 * 1024 * 1024
    # Storage worker.
    storage_poll_ms: int = 200
    storage_commit_interval_ms: int = 1000
    storage_batch_bytes: int = 64 * 1024 * 1024
    profile_cache_entries: int = 100_000
    compaction_fan_in: int = 8
    compaction_base_bytes: int = 1024 * 1024
    compaction_trigger_parts: int = 48
    compaction_target_bytes: int = 256 * 1024 * 1024
    # Under ID merge: how often parts are looked at for rows newer merges would move, and the
    # share of a part's rows (per mille) that gets it rewritten under the resolved users.
    rehome_interval_ms: int = 300_000
    rehome_permille: int = 10
    # Bounded history (docs/storage.md#retention): time travel works inside the window; older
    # log entries and the data files only older versions used are deleted.
    retention_ms: int = DAY_MS
    checkpoint_interval_commits: int = 100
    vacuum_interval_ms: int = 600_000
    # Query side.
    scan_cache_bytes: int = 1024 * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, int] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(f"TRACKWAY_{field.name.upper()}")
            if raw is None:
                continue
            try:
                values[field.name] = int(raw)
            except ValueError:
                raise UserError(
                    f"Expected an integer for TRACKWAY_{field.name.upper()}, got {raw!r}"
                ) from None
        return cls(**values)


def setting_names() -> list[str]:
    return [field.name for field in dataclasses.fields(Settings)]
