"""The SQLAlchemy engine behind the catalog: SQLite (default) or PostgreSQL via psycopg 3.

SQLite gets the settings a small multi-threaded server needs: foreign keys enforced, WAL so
readers never block the writer, a busy timeout instead of instant "database is locked", and
real transactions. The stdlib driver's legacy mode starts no transaction for SELECT or
SAVEPOINT, so we take BEGIN over ourselves (the recipe in SQLAlchemy's SQLite notes); writes
begin IMMEDIATE so two writers queue on the lock rather than fail on upgrade.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import StaticPool

# Execution option read by the BEGIN hook: "IMMEDIATE" takes SQLite's write lock up front.
SQLITE_BEGIN = "backbeat_sqlite_begin"
BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str | URL) -> URL:
    """Parse `url`; plain ``postgres://`` and ``postgresql://`` get the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(url: str | URL) -> bool:
    return normalise_url(url).get_backend_name() == "sqlite"


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url.query)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str | URL, *, foreign_keys: bool = True) -> Engine:
    """Build an engine for `url`. `foreign_keys=False` is for migrations only: SQLite's batch
    mode copies tables, which enforced foreign keys would block or cascade."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, foreign_keys=foreign_keys)
    return create_engine(
        parsed, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800
    )


def _sqlite_engine(url: URL, *, foreign_keys: bool) -> Engine:
    memory = _is_memory(url)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        # One shared connection, or every checkout would see its own empty database.
        kwargs["poolclass"] = StaticPool
    else:
        kwargs.update(pool_size=5, max_overflow=10)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, see the module docstring
        # SQLite's lower() folds ASCII only; case-insensitive search must match "Motörhead"
        # for "MOTÖRHEAD" as PostgreSQL's ILIKE does.
        dbapi_conn.create_function("lower", 1, _lower, deterministic=True)
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, far fewer fsyncs
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else 'DEFERRED'}")

    return engine
