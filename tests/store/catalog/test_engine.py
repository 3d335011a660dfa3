"""The engine factory: URL handling and the SQLite settings the catalog relies on."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.pool import StaticPool

from backbeat.store.catalog import open_catalog
from backbeat.store.catalog.engine import is_sqlite, make_engine, normalise_url
from backbeat.store.catalog.migrate import upgrade_engine
from tests.store.catalog import builders as b


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://postgres@127.0.0.1/x", "postgresql+psycopg"),
        ("postgres://postgres@127.0.0.1/x", "postgresql+psycopg"),
        ("postgresql+psycopg://postgres@127.0.0.1/x", "postgresql+psycopg"),
        ("sqlite:///var/catalog.db", "sqlite"),
    ],
)
def test_normalise_url_picks_psycopg(given: str, driver: str) -> None:
    assert normalise_url(given).drivername == driver
    assert is_sqlite(given) == (driver == "sqlite")


def _pragma(url: str, name: str, **kw: bool) -> object:
    engine = make_engine(url, **kw)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"PRAGMA {name}")).scalar()
    finally:
        engine.dispose()


def test_sqlite_file_enforces_foreign_keys_and_uses_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert _pragma(url, "foreign_keys") == 1
    assert _pragma(url, "journal_mode") == "wal"
    assert _pragma(url, "busy_timeout") == 10_000
    assert _pragma(url, "foreign_keys", foreign_keys=False) == 0


def test_sqlite_connections_work_across_threads(tmp_path: Path) -> None:
    """check_same_thread is off: a pooled connection may be used by whichever thread holds it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    results: list[int] = []
    try:
        with engine.connect() as conn:
            t = threading.Thread(target=lambda: results.append(conn.execute(text("SELECT 7")).scalar_one()))
            t.start()
            t.join()
    finally:
        engine.dispose()
    assert results == [7]


def test_sqlite_transactions_are_real(tmp_path: Path) -> None:
    """BEGIN is ours, so a rolled-back SAVEPOINT and DDL really roll back (the stdlib's
    legacy mode would have autocommitted both)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        with engine.connect() as conn:
            with conn.begin():
                conn.execute(text("CREATE TABLE t (x INTEGER)"))
                conn.execute(text("INSERT INTO t VALUES (1)"))
                with conn.begin_nested() as sp:
                    conn.execute(text("INSERT INTO t VALUES (2)"))
                    sp.rollback()
            with conn.begin():
                assert conn.execute(text("SELECT x FROM t")).scalars().all() == [1]
            trans = conn.begin()
            conn.execute(text("CREATE TABLE u (y INTEGER)"))
            trans.rollback()
            with conn.begin():
                names = conn.execute(text("SELECT name FROM sqlite_master")).scalars().all()
        assert names == ["t"]
    finally:
        engine.dispose()


def test_in_memory_catalog_shares_one_database() -> None:
    cat = open_catalog("sqlite://")
    try:
        assert isinstance(cat.engine.pool, StaticPool)
        upgrade_engine(cat.engine)
        adv = cat.advertisers.add(b.advertiser())
        assert cat.advertisers.get(b.ident(adv)) == adv
        assert cat.version() == 1
    finally:
        cat.close()
