"""Storage: per-shard columnar parts on Delta Lake, the scan (dedupe, deletions, the log tail,
identity), profiles, compaction. See docs/storage.md."""
