"""Transactions for the catalog: one DB transaction per unit of work, joined by nested calls.

The connection of the open unit of work lives in a context variable, so each thread (and
each asyncio task) has its own, and any repository call made inside ``transaction()`` runs on
it. Outside a unit of work every repository call opens and commits its own short transaction.
Every write also bumps the single-row ``catalog_version`` counter on the same connection, so
the counter moves exactly when a change commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import count

from sqlalchemy import Connection, Engine, select, update

from backbeat.store.catalog.engine import SQLITE_BEGIN
from backbeat.store.catalog.tables import VERSION_ROW_ID, catalog_version

_serial = count(1)


class SchemaMissing(RuntimeError):
    """The database has no catalog schema yet (run `backbeat db upgrade`)."""


class Transactions:
    """Hands out the connection of the current unit of work, opening one when none is open."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        # One variable per catalog, so two catalogs in one thread never share a connection.
        self._current: ContextVar[Connection | None] = ContextVar(
            f"backbeat_catalog_tx_{next(_serial)}", default=None
        )

    @property
    def active(self) -> bool:
        """True inside a unit of work."""
        return self._current.get() is not None

    @contextmanager
    def unit(self, *, write: bool, snapshot: bool = False) -> Iterator[Connection]:
        """Join the open unit of work, or run one: commit on success, roll back on error.

        `write` takes SQLite's write lock at BEGIN so concurrent writers queue on the busy
        timeout instead of failing when a read lock cannot be upgraded. `snapshot` makes a
        PostgreSQL read see one snapshot across statements (SQLite transactions always do).
        """
        joined = self._current.get()
        if joined is not None:
            yield joined
            return
        with self.engine.connect() as conn:
            if self._sqlite:
                conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE" if write else "DEFERRED"})
            elif snapshot:
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                token = self._current.set(conn)
                try:
                    yield conn
                finally:
                    self._current.reset(token)

    def bump(self, conn: Connection) -> None:
        """Advance the catalog version as part of the caller's transaction."""
        stmt = (
            update(catalog_version)
            .where(catalog_version.c.id == VERSION_ROW_ID)
            .values(version=catalog_version.c.version + 1)
        )
        if conn.execute(stmt).rowcount != 1:
            raise SchemaMissing("catalog_version has no row; run `backbeat db upgrade`")

    def read_version(self, conn: Connection) -> int:
        stmt = select(catalog_version.c.version).where(catalog_version.c.id == VERSION_ROW_ID)
        value = conn.execute(stmt).scalar_one_or_none()
        if value is None:
            raise SchemaMissing("catalog_version has no row; run `backbeat db upgrade`")
        return int(value)
