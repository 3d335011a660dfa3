"""Make and upgrade the catalog schema with the Alembic migrations shipped in this package.

The Alembic configuration is built in code, pointing at ``migrations/`` next to this file, so
it works from a source checkout or an installed wheel, from any working directory, with no
alembic.ini. ``backbeat db upgrade`` calls :func:`upgrade`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from backbeat.store.catalog.engine import SQLITE_BEGIN, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class MigrationFailed(RuntimeError):
    """A migration left the database inconsistent; it was rolled back."""


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config for the packaged migrations (for `url` when given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser treats "%" as interpolation; passwords may contain it.
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest revision shipped with this version of Backbeat."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationFailed("no migrations found in " + str(MIGRATIONS_DIR))
    return head


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the catalog at `url` to `revision` (default: the newest) in one transaction.

    SQLite runs with foreign keys off (batch migrations copy tables) and checks them all
    before committing; any dangling reference aborts the upgrade.
    """
    engine = make_engine(url, foreign_keys=False)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Like :func:`upgrade`, on an engine you already have: the way to migrate an in-memory
    SQLite catalog (``open_catalog("sqlite://").engine``), which a URL cannot reach twice."""
    cfg = alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            if sqlite:
                broken = conn.execute(text("PRAGMA foreign_key_check")).fetchall()
                if broken:
                    raise MigrationFailed(f"foreign keys broken by the migration: {broken[:5]}")


def current_revision(url: str) -> str | None:
    """The revision the catalog at `url` is at; None for an empty database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
