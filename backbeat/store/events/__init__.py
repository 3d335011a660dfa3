"""The event store (DuckDB by default), its crash-safe spool and the batched single writer.

Typical wiring at start-up::

    store = open_event_store(settings)
    writer = open_event_writer(settings, store)
    writer.start()          # replays a crashed run's spool first
    ...
    writer.submit(events)   # returns once the events are durable: then acknowledge
    ...
    writer.close(); store.close()
"""

from __future__ import annotations

from backbeat.config import EventsBackend, Settings
from backbeat.errors import ConfigError
from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.ipc import EventStoreUnavailable, derive_authkey
from backbeat.store.events.protocol import EventStore
from backbeat.store.events.remote import RemoteEventStore, Subscription
from backbeat.store.events.service import EventService
from backbeat.store.events.spool import EVENT_CODEC, Codec, Spool, SpoolLocked, SpoolUnavailable
from backbeat.store.events.spool_reader import SegmentRef, SpoolReader, producer_name
from backbeat.store.events.writer import EventWriter, WriterStats

__all__ = [
    "EVENT_CODEC",
    "Codec",
    "DuckDBEventStore",
    "EventService",
    "EventStore",
    "EventStoreUnavailable",
    "EventWriter",
    "RemoteEventStore",
    "SegmentRef",
    "Spool",
    "SpoolLocked",
    "SpoolReader",
    "SpoolUnavailable",
    "Subscription",
    "WriterStats",
    "derive_authkey",
    "open_event_store",
    "open_event_writer",
    "producer_name",
]


def open_event_store(settings: Settings) -> EventStore:
    """The event store chosen by ``BACKBEAT_EVENTS_BACKEND``."""
    if settings.events_backend is EventsBackend.DUCKDB:
        return DuckDBEventStore(
            settings.resolved_events_path, threads=settings.duckdb_threads,
            background=settings.background,
        )
    raise ConfigError(
        f"BACKBEAT_EVENTS_BACKEND={settings.events_backend.value}: this backend is not "
        "available yet; set BACKBEAT_EVENTS_BACKEND=duckdb"
    )


def open_event_writer(settings: Settings, store: EventStore) -> EventWriter:
    """A writer over the spool in ``settings.spool_dir`` (not started: call ``start()``)."""
    return EventWriter(
        Spool(settings.spool_dir), store, settings.flush_rows, settings.flush_interval_ms,
        background=settings.background,
    )
