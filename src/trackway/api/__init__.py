"""API: the query HTTP endpoints (arrives with the event store and the report issues)."""
