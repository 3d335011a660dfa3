"""Fixtures: the catalog on SQLite (a temp file) and on the real PostgreSQL at 127.0.0.1:5432.

PostgreSQL tests get their own database, ``backbeat_test_<hex>``, made once per session and
migrated with `upgrade`; each test starts from empty tables. The database is dropped at the
end of the session (after terminating any connection still open to it). SQLite tests copy a
migrated template file, so both backends run the real migration, not `create_all`.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from backbeat.store.catalog import SqlCatalog, open_catalog, upgrade
from backbeat.store.catalog.tables import metadata

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pg_url(dbname: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}"


def create_pg_database() -> str:
    name = f"backbeat_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database (no schema) on the backend named by the `backend` param."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = create_pg_database()
    try:
        yield pg_url(name)
    finally:
        drop_pg_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("catalog") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = create_pg_database()
    try:
        upgrade(pg_url(name))
        yield name
    finally:
        drop_pg_database(name)


def _reset_pg(name: str) -> None:
    """Empty every catalog table and restart ids, as a freshly migrated database. (DELETE
    beats TRUNCATE by far on a handful of rows: TRUNCATE makes new files for every table.)"""
    tables = [t.name for t in reversed(metadata.sorted_tables) if t.name != "catalog_version"]
    statements = [f"DELETE FROM {t}" for t in tables]
    statements += [f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), 1, false)" for t in tables]
    statements.append("UPDATE catalog_version SET version = 0 WHERE id = 1")
    dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
    with psycopg.connect(dsn) as conn:  # one transaction, committed on exit
        conn.execute("; ".join(statements))


@pytest.fixture(params=BACKENDS)
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a migrated, empty catalog on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "catalog.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    name = request.getfixturevalue("pg_database")
    _reset_pg(name)
    return pg_url(name)


@pytest.fixture
def open_many(catalog_url: str) -> Iterator[Callable[[], SqlCatalog]]:
    """Open further catalogs on the same database (as another process would); all closed
    at teardown."""
    opened: list[SqlCatalog] = []

    def make() -> SqlCatalog:
        cat = open_catalog(catalog_url)
        opened.append(cat)
        return cat

    yield make
    for cat in opened:
        cat.close()


@pytest.fixture
def catalog(open_many: Callable[[], SqlCatalog]) -> SqlCatalog:
    return open_many()
