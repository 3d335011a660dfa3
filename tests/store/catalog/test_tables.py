"""The table definitions: UTC datetimes, money as BIGINT, named constraints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import BigInteger, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from backbeat.store.catalog.tables import UtcDateTime, metadata

PLUS_TWO = timezone(timedelta(hours=2))
# SQLAlchemy leaves the psycopg dialect's constructor unannotated; it takes no arguments here.
pg_dialect: Callable[[], Dialect] = postgresql.dialect


def test_bind_converts_to_utc_per_dialect() -> None:
    t = UtcDateTime()
    given = datetime(2026, 6, 1, 12, 0, 0, 5, tzinfo=PLUS_TWO)
    on_sqlite = t.process_bind_param(given, sqlite.dialect())
    assert on_sqlite == datetime(2026, 6, 1, 10, 0, 0, 5)  # naive UTC text sorts correctly
    on_pg = t.process_bind_param(given, pg_dialect())
    assert on_pg == given and on_pg is not None and on_pg.tzinfo is UTC
    assert t.process_bind_param(None, sqlite.dialect()) is None


def test_bind_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UtcDateTime().process_bind_param(datetime(2026, 6, 1, 12), sqlite.dialect())


def test_results_are_aware_utc() -> None:
    t = UtcDateTime()
    naive = t.process_result_value(datetime(2026, 6, 1, 10), sqlite.dialect())
    assert naive == datetime(2026, 6, 1, 10, tzinfo=UTC) and naive.tzinfo is UTC
    shifted = t.process_result_value(datetime(2026, 6, 1, 12, tzinfo=PLUS_TWO), pg_dialect())
    assert shifted is not None and shifted.tzinfo is UTC and shifted.hour == 10


def test_money_columns_are_bigint() -> None:
    money = [c for t in metadata.tables.values() for c in t.columns if c.name.endswith("_micros")]
    assert {f"{c.table.name}.{c.name}" for c in money} == {
        "campaigns.bid_micros",
        "campaigns.budget_total_micros",
        "campaigns.budget_daily_micros",
        "placements.floor_cpm_micros",
        "import_rows.spend_micros",
    }
    assert all(isinstance(c.type, BigInteger) for c in money)


def test_unique_keys() -> None:
    uniques = {
        (t.name, tuple(c.name for c in cons.columns))
        for t in metadata.tables.values()
        for cons in t.constraints
        if isinstance(cons, UniqueConstraint)
    }
    assert uniques == {
        ("users", ("email_key",)),
        ("sites", ("domain",)),
        ("api_tokens", ("token_hash",)),
        ("campaigns", ("id", "advertiser_id")),
        ("imports", ("advertiser_id", "checksum")),
        ("imports", ("id", "advertiser_id")),
    }
