"""Storage behind narrow protocols: the catalog, the event store and the counters."""
