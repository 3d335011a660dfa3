"""Migrations: `upgrade` makes the schema tables.py describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from backbeat.store.catalog import current_revision, upgrade
from backbeat.store.catalog.engine import make_engine
from backbeat.store.catalog.migrate import MIGRATIONS_DIR, alembic_config, head_revision
from backbeat.store.catalog.tables import metadata
from tests.store.catalog.conftest import BACKENDS

on_each_backend = pytest.mark.parametrize("empty_url", BACKENDS, indirect=True)


def _diffs(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, metadata))
    finally:
        engine.dispose()


@on_each_backend
def test_migration_matches_tables_metadata(empty_url: str) -> None:
    upgrade(empty_url)
    assert _diffs(empty_url) == []
    # The comparison does see drift: drop one index and it asks for it back.
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_sites_country"))
    finally:
        engine.dispose()
    drift = _diffs(empty_url)
    assert [(d[0], d[1].name) for d in drift] == [("add_index", "ix_sites_country")]  # type: ignore[index]


@on_each_backend
def test_upgrade_from_empty_records_head_and_seeds_version(empty_url: str) -> None:
    assert current_revision(empty_url) is None
    upgrade(empty_url)
    assert current_revision(empty_url) == head_revision() == "0002"
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, version FROM catalog_version")).all()
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [(1, 0)]
    assert tables == {*metadata.tables, "alembic_version"}


@on_each_backend
def test_upgrade_twice_is_a_no_op(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)
    assert current_revision(empty_url) == "0002"


@on_each_backend
def test_upgrade_from_another_working_directory(
    empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    upgrade(empty_url)
    assert current_revision(empty_url) == "0002"
    assert list(elsewhere.iterdir()) == []  # no alembic.ini or stray files needed or made


@on_each_backend
def test_downgrade_to_base_removes_everything(empty_url: str) -> None:
    upgrade(empty_url)
    command.downgrade(alembic_config(empty_url), "base")  # env.py opens its own connection
    assert current_revision(empty_url) is None
    engine = make_engine(empty_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_ship_inside_the_package() -> None:
    assert MIGRATIONS_DIR.is_absolute()
    assert MIGRATIONS_DIR.parent == Path(upgrade.__code__.co_filename).parent
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
