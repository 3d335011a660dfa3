"""Units of work and the version row, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from backbeat.store.catalog import SqlCatalog
from backbeat.store.catalog.txn import SchemaMissing, Transactions
from tests.store.catalog import builders as b


def test_active_only_inside_a_unit(catalog: SqlCatalog) -> None:
    tx = Transactions(catalog.engine)
    assert not tx.active
    with tx.unit(write=True) as outer:
        assert tx.active
        with tx.unit(write=False) as inner:
            assert inner is outer  # nested units join the open one
    assert not tx.active


def test_two_transaction_managers_do_not_share_a_connection(catalog: SqlCatalog) -> None:
    first, second = Transactions(catalog.engine), Transactions(catalog.engine)
    with first.unit(write=False) as a, second.unit(write=False) as c:
        assert a is not c


def test_missing_version_row_is_reported_and_the_write_undone(catalog: SqlCatalog) -> None:
    with catalog.engine.begin() as conn:
        conn.execute(text("DELETE FROM catalog_version"))
    with pytest.raises(SchemaMissing, match="backbeat db upgrade"):
        catalog.advertisers.add(b.advertiser())
    with pytest.raises(SchemaMissing):
        catalog.version()
    assert catalog.advertisers.all() == []
