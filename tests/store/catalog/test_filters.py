"""Filter and order building, checked on the SQL it produces."""

from __future__ import annotations

import pytest
from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects import sqlite

from backbeat.domain.campaign import CampaignStatus
from backbeat.domain.taxonomy import Size
from backbeat.store.catalog.filters import build_order, build_where, db_value, plain_columns
from backbeat.store.catalog.tables import campaigns, creatives, sites


def _sql(conds: list[ColumnElement[bool]]) -> str:
    stmt = select(campaigns.c.id).where(*conds)
    return str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def test_db_value_unwraps_enums_and_sizes() -> None:
    assert db_value(CampaignStatus.ACTIVE) == "active"
    assert db_value(Size(300, 250)) == "300x250"
    assert db_value(7) == 7 and db_value(None) is None


def test_json_columns_are_neither_filters_nor_orders() -> None:
    assert "targeting" not in plain_columns(campaigns)
    assert "genres" not in plain_columns(sites)
    assert {"status", "advertiser_id", "created_at"} <= set(plain_columns(campaigns))


def test_where_shapes() -> None:
    sql = _sql(
        build_where(
            campaigns,
            {"status": {"active"}, "budget_daily_micros": None, "q": "50%"},
            search="name",
            virtual={},
        ),
    )
    assert "campaigns.status IN ('active')" in sql
    assert "campaigns.budget_daily_micros IS NULL" in sql
    assert "ESCAPE '/'" in sql and "50/%" in sql


def test_unknown_filter_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown filter 'nope' on creatives; known: \[") as info:
        build_where(creatives, {"nope": 1}, search="name", virtual={})
    assert "'review_status'" in str(info.value) and "'q'" in str(info.value)


def test_order_breaks_ties_by_id() -> None:
    desc_name = build_order(campaigns, "-name")
    assert [str(e) for e in desc_name] == ["campaigns.name DESC", "campaigns.id ASC"]
    assert [str(e) for e in build_order(campaigns, "id")] == ["campaigns.id ASC"]
