"""The factories: backend chosen by settings, writer wired to the configured spool."""

from __future__ import annotations

from pathlib import Path

import pytest

from backbeat.config import load_settings
from backbeat.errors import ConfigError
from backbeat.priority import Background
from backbeat.store.events import DuckDBEventStore, open_event_store, open_event_writer
from tests.store.events.builders import make_events


def test_duckdb_is_the_default_at_the_resolved_path(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "var")
    store = open_event_store(settings)
    try:
        assert isinstance(store, DuckDBEventStore)
        assert store.dialect == "duckdb"
        assert Path(store.path) == settings.resolved_events_path
        assert settings.resolved_events_path.exists()
    finally:
        store.close()


def test_duckdb_threads_follow_the_setting(tmp_path: Path) -> None:
    default = open_event_store(load_settings(data_dir=tmp_path / "a"))
    one = open_event_store(load_settings(data_dir=tmp_path / "b", duckdb_threads=1))
    try:
        (threads,) = one.query("SELECT current_setting('threads')")[0]
        assert int(str(threads)) == 1
        (threads,) = default.query("SELECT current_setting('threads')")[0]
        assert int(str(threads)) >= 1
        one.append_batch(make_events(3))
        assert one.query("SELECT count(*) FROM events") == [(3,)]
    finally:
        default.close()
        one.close()
    with pytest.raises(ValueError):
        DuckDBEventStore(":memory:", threads=0)
    with pytest.raises(ConfigError):  # the setting is checked when settings are read
        load_settings(data_dir=tmp_path / "c", duckdb_threads=0)


def test_explicit_events_path(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, events_path=tmp_path / "elsewhere" / "ev.db")
    store = open_event_store(settings)
    try:
        assert (tmp_path / "elsewhere" / "ev.db").exists()
    finally:
        store.close()


def test_clickhouse_is_refused_naming_the_variable(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, events_backend="clickhouse", clickhouse_url="http://127.0.0.1:8123"
    )
    with pytest.raises(ConfigError, match="BACKBEAT_EVENTS_BACKEND"):
        open_event_store(settings)


def test_writer_uses_the_settings(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, flush_rows=7, flush_interval_ms=40)
    store = open_event_store(settings)
    writer = open_event_writer(settings, store)
    try:
        assert (writer.flush_rows, writer.flush_interval) == (7, 0.04)
        assert writer.spool.directory == settings.spool_dir
        writer.start()
        writer.submit(make_events(3))
        writer.close()
        assert store.count() == 3
    finally:
        writer.close()
        store.close()


def test_the_store_runs_at_the_background_priority_settings(tmp_path: Path) -> None:
    lowered = open_event_store(load_settings(data_dir=tmp_path / "a", ingest_nice=3))
    level = open_event_store(load_settings(data_dir=tmp_path / "b", ingest_nice=0))
    try:
        assert isinstance(lowered, DuckDBEventStore) and isinstance(level, DuckDBEventStore)
        assert lowered.background == Background(3, io_idle=True)
        assert lowered._checkpointer is not None  # checkpoints below the appends
        assert level.background == Background(0, io_idle=True)
        assert level._checkpointer is None  # nothing to run below: checkpoints inline
    finally:
        lowered.close()
        level.close()


def test_the_writer_runs_at_the_background_priority_settings(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "var", ingest_nice=7, ingest_io_idle=False)
    store = open_event_store(settings)
    try:
        writer = open_event_writer(settings, store)
        assert writer.background == Background(7, io_idle=False)
        default = load_settings(data_dir=tmp_path / "other")
        writer = open_event_writer(default, store)
        assert writer.background == default.background == Background(5, io_idle=True)
    finally:
        store.close()
