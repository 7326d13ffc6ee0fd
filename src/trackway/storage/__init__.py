"""Storage: per-shard columnar parts on Delta Lake, profiles, identity (arrives with the event store)."""
