"""Imported reports in the catalog, on SQLite and PostgreSQL: one transaction per import,
idempotence by checksum per advertiser, overlap replacement, tenant-safe rows, deletes."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from backbeat.domain.parties import Advertiser
from backbeat.errors import Conflict, NotFound
from backbeat.importers.driver import import_file
from backbeat.importers.errors import ImportFailed
from backbeat.importers.model import ReportRow
from backbeat.importers.sink import ImportSink, ImportStart, ImportSummary
from backbeat.store.catalog import SqlCatalog
from backbeat.store.catalog.imports import (
    ImportStore,
    SqlImportSink,
    Status,
    import_rows,
    imports,
    row_values,
)

FIXTURES = Path(__file__).parents[2] / "importers" / "fixtures"


def advertiser(catalog: SqlCatalog, name: str = "Nova Lux") -> int:
    found = catalog.advertisers.add(Advertiser(name))
    assert found.id is not None
    return found.id


def row(day: int, campaign: str = "Spring Single", account: str | None = "acct-1") -> ReportRow:
    return ReportRow(
        platform="meta",
        account=account,
        campaign=campaign,
        start=date(2024, 3, day),
        end=date(2024, 3, day),
        currency="EUR",
        impressions=1000 + day,
        spend_micros=12_340_000,
        clicks=10 + day,
        clicks_all=30 + day,
        reach=900,
        frequency=Decimal("1.111111"),
        conversions=Decimal("2.50"),
        q50_rate=Decimal("52.85"),
        reported_ctr=Decimal("1.0"),
        result_indicator="actions:link_click",
        source_row=day + 1,
    )


def start(import_id: str, checksum: str) -> ImportStart:
    return ImportStart(import_id, "meta", "acct-1", checksum, "export.csv")


def summary(first: int, last: int, rows: int) -> ImportSummary:
    return ImportSummary(date(2024, 3, first), date(2024, 3, last), rows, ("EUR",), ("acct-1",))


def commit(sink: SqlImportSink, import_id: str, rows: list[ReportRow]) -> int:
    txn = sink.begin(start(import_id, f"sum-{import_id}"))
    txn.write(rows)
    replaced = txn.replace_range("acct-1", "meta", rows[0].start, rows[-1].end)
    txn.commit(summary(rows[0].start.day, rows[-1].end.day, len(rows)))
    return replaced


def test_the_sink_is_an_import_sink(catalog: SqlCatalog) -> None:
    sink: ImportSink = SqlImportSink(catalog, advertiser(catalog))
    assert sink.has_checksum("nothing") is False


def test_committed_rows_round_trip_exactly(catalog: SqlCatalog) -> None:
    adv = advertiser(catalog)
    store = ImportStore(catalog)
    odd = row(3, campaign='Tab\there, "quoted" back\\slash\nnew line – ünïcode \\N')
    commit(store.sink(adv), "a" * 32, [row(1), row(2, account=None), odd])
    assert list(store.rows(adv)) == [row(1), row(2, account=None), odd]
    record = store.get("a" * 32, adv)
    assert (record.status, record.start, record.end, record.rows) == (
        Status.IMPORTED,
        date(2024, 3, 1),
        date(2024, 3, 3),
        3,
    )
    assert (record.currencies, record.accounts, record.rows_stored) == (("EUR",), ("acct-1",), 3)
    assert store.sink(adv).has_checksum("sum-" + "a" * 32)


def test_rollback_leaves_nothing(catalog: SqlCatalog) -> None:
    adv = advertiser(catalog)
    store = ImportStore(catalog)
    txn = store.sink(adv).begin(start("a" * 32, "sum-a"))
    txn.write([row(1)])
    txn.replace_range("acct-1", "meta", date(2024, 3, 1), date(2024, 3, 1))
    txn.rollback()
    txn.rollback()  # harmless
    assert store.count_rows(adv) == 0
    assert store.page(adv).total == 0
    assert not store.sink(adv).has_checksum("sum-a")
    with pytest.raises(RuntimeError):
        txn.write([row(2)])


def test_a_failed_import_stores_nothing(catalog: SqlCatalog, tmp_path: Path) -> None:
    adv = advertiser(catalog)
    store = ImportStore(catalog)
    bad = tmp_path / "bad.csv"
    good = (FIXTURES / "meta_en.csv").read_text(encoding="utf-8").splitlines()
    good[-1] = good[-1].replace(",79,", ",99999,")  # link clicks above impressions, last row
    bad.write_text("\n".join(good) + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        import_file(bad, store.sink(adv), batch_size=2)  # earlier batches were written
    assert [(p.row, p.column) for p in failed.value.problems] == [(7, "Link clicks")]
    assert store.count_rows(adv) == 0
    assert store.page(adv).total == 0


def test_uncommitted_rows_are_invisible_and_do_not_lock_out_writers(catalog: SqlCatalog) -> None:
    adv = advertiser(catalog)
    store = ImportStore(catalog)
    txn = store.sink(adv).begin(start("a" * 32, "sum-a"))
    txn.write([row(1), row(2)])
    # While the file is still being read, other catalog writes go through at once.
    assert catalog.advertisers.add(Advertiser("Another")).id is not None
    txn.replace_range("acct-1", "meta", date(2024, 3, 1), date(2024, 3, 2))
    assert store.count_rows(adv) == 0
    assert store.page(adv).total == 0
    txn.commit(summary(1, 2, 2))
    assert store.count_rows(adv) == 2


def test_same_file_is_imported_once_per_advertiser(catalog: SqlCatalog) -> None:
    a, b = advertiser(catalog), advertiser(catalog, "Granite Records")
    store = ImportStore(catalog)
    first = import_file(FIXTURES / "meta_en.csv", store.sink(a))
    again = import_file(FIXTURES / "meta_en.csv", store.sink(a))
    other = import_file(FIXTURES / "meta_en.csv", store.sink(b))
    assert (first.rows_imported, again.already_imported, again.import_id) == (6, True, None)
    assert other.rows_imported == 6 and not other.already_imported
    assert store.count_rows(a) == store.count_rows(b) == 6
    assert store.page(a).total == store.page(b).total == 1


def test_a_concurrent_import_of_the_same_file_conflicts_and_stores_nothing(
    catalog: SqlCatalog,
) -> None:
    adv = advertiser(catalog)
    store = ImportStore(catalog)
    one = store.sink(adv).begin(start("a" * 32, "same"))
    two = store.sink(adv).begin(start("b" * 32, "same"))
    one.write([row(1)])
    two.write([row(1)])
    one.commit(summary(1, 1, 1))
    with pytest.raises(Conflict):
        two.commit(summary(1, 1, 1))
    assert store.count_rows(adv) == 1
    assert [r.id for r in store.page(adv).items] == ["a" * 32]


def test_overlapping_import_replaces_earlier_rows_of_the_same_account_and_platform(
    catalog: SqlCatalog,
) -> None:
    adv, other = advertiser(catalog), advertiser(catalog, "Granite Records")
    store = ImportStore(catalog)
    commit(store.sink(adv), "a" * 32, [row(1), row(2), row(3)])
    commit(store.sink(other), "o" * 32, [row(2)])  # another tenant: never touched
    other_account = store.sink(adv).begin(start("x" * 32, "sum-x"))
    other_account.write([row(2, account="acct-2")])
    other_account.commit(summary(2, 2, 1))

    replaced = commit(store.sink(adv), "b" * 32, [row(2), row(3)])
    assert replaced == 2
    days = sorted((r.account or "", r.start.day) for r in store.rows(adv))
    assert days == [("acct-1", 1), ("acct-1", 2), ("acct-1", 3), ("acct-2", 2)]
    first = store.get("a" * 32, adv)
    assert (first.status, first.rows_replaced, first.rows_stored) == (Status.PARTLY_REPLACED, 2, 1)
    assert store.count_rows(other) == 1

    assert commit(store.sink(adv), "c" * 32, [row(1), row(2), row(3)]) == 3
    assert store.get("a" * 32, adv).status == Status.REPLACED
    assert store.get("b" * 32, adv).status == Status.REPLACED
    assert store.count_rows(adv, "c" * 32) == 3


def test_replacing_rows_without_an_account_matches_only_rows_without_one(
    catalog: SqlCatalog,
) -> None:
    adv = advertiser(catalog)
    store = ImportStore(catalog)
    commit(store.sink(adv), "a" * 32, [row(1), row(1, campaign="Tour")])
    txn = store.sink(adv).begin(start("b" * 32, "sum-b"))
    txn.write([row(1, account=None)])
    assert txn.replace_range(None, "meta", date(2024, 3, 1), date(2024, 3, 1)) == 0
    txn.commit(summary(1, 1, 1))
    assert store.count_rows(adv) == 3


def test_rows_filter_by_platform_campaign_and_overlapping_dates(catalog: SqlCatalog) -> None:
    adv = advertiser(catalog)
    store = ImportStore(catalog)
    commit(store.sink(adv), "a" * 32, [row(1), row(2, campaign="Tour"), row(5)])
    assert [r.start.day for r in store.rows(adv, start=date(2024, 3, 2))] == [2, 5]
    assert [r.start.day for r in store.rows(adv, end=date(2024, 3, 2))] == [1, 2]
    assert [r.start.day for r in store.rows(adv, campaigns=["Tour"])] == [2]
    assert list(store.rows(adv, platforms=["tiktok"])) == []
    assert len(list(store.rows(adv, platforms=["meta"]))) == 3


def test_get_and_delete_are_tenant_scoped(catalog: SqlCatalog) -> None:
    a, b = advertiser(catalog), advertiser(catalog, "Granite Records")
    store = ImportStore(catalog)
    commit(store.sink(a), "a" * 32, [row(1), row(2)])
    with pytest.raises(NotFound):
        store.get("a" * 32, b)
    with pytest.raises(NotFound):
        store.delete("a" * 32, b)
    assert store.count_rows(a) == 2
    assert store.get("a" * 32, None).advertiser_id == a  # admins see every tenant
    assert store.delete("a" * 32, a) == 2
    assert store.count_rows(a) == 0  # the rows went with it (cascade)
    with pytest.raises(NotFound):
        store.get("a" * 32, a)
    assert not store.sink(a).has_checksum("sum-" + "a" * 32)  # it can be imported again


def test_listing_is_newest_first_and_paged(catalog: SqlCatalog) -> None:
    a, b = advertiser(catalog), advertiser(catalog, "Granite Records")
    store = ImportStore(catalog)
    for ident, day in (("a", 1), ("b", 2), ("c", 3)):
        commit(store.sink(a), ident * 32, [row(day)])
    commit(store.sink(b), "d" * 32, [row(1)])
    page = store.page(a, limit=2)
    assert ([r.id[0] for r in page.items], page.total) == (["c", "b"], 3)
    assert [r.id[0] for r in store.page(a, limit=2, offset=2).items] == ["a"]
    assert store.page(None).total == 4


def test_an_advertiser_with_imports_cannot_be_deleted(catalog: SqlCatalog) -> None:
    adv = advertiser(catalog)
    commit(ImportStore(catalog).sink(adv), "a" * 32, [row(1)])
    with pytest.raises(Conflict) as refused:
        catalog.advertisers.delete(adv)
    assert "imports" in refused.value.message


def test_importing_for_a_missing_advertiser_is_not_found(catalog: SqlCatalog) -> None:
    with pytest.raises(NotFound):
        SqlImportSink(catalog, 999).begin(start("a" * 32, "sum-a"))


def test_a_row_cannot_point_at_another_tenants_import(catalog: SqlCatalog) -> None:
    a, b = advertiser(catalog), advertiser(catalog, "Granite Records")
    commit(ImportStore(catalog).sink(a), "a" * 32, [row(1)])
    with pytest.raises(IntegrityError), catalog.engine.begin() as conn:
        conn.execute(insert(import_rows).values(row_values("a" * 32, b, row(2))))
    with catalog.engine.connect() as conn:
        assert len(conn.execute(select(import_rows.c.id)).all()) == 1


def test_one_sink_runs_one_import_at_a_time(catalog: SqlCatalog) -> None:
    sink = SqlImportSink(catalog, advertiser(catalog))
    txn = sink.begin(start("a" * 32, "sum-a"))
    with pytest.raises(RuntimeError):
        sink.begin(start("b" * 32, "sum-b"))
    txn.rollback()
    sink.begin(start("b" * 32, "sum-b")).rollback()


def test_imports_in_parallel_threads_each_commit_once(catalog: SqlCatalog) -> None:
    adv = advertiser(catalog)
    store = ImportStore(catalog)
    errors: list[BaseException] = []

    def run(ident: str, day: int) -> None:
        try:
            commit(store.sink(adv), ident * 32, [row(day, campaign=ident)])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c, i + 1)) for i, c in enumerate("abcd")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count_rows(adv) == 4
    assert store.page(adv).total == 4


def test_schema_has_the_tenant_key_and_indexes(catalog: SqlCatalog) -> None:
    inspector = inspect(catalog.engine)
    uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("imports")}
    assert {("advertiser_id", "checksum"), ("id", "advertiser_id")} <= uniques
    (fk,) = inspector.get_foreign_keys("import_rows")
    assert (fk["constrained_columns"], fk["referred_table"]) == (
        ["import_id", "advertiser_id"],
        "imports",
    )
    assert (fk.get("options") or {}).get("ondelete", "").upper() == "CASCADE"
    names = {i["name"] for i in inspector.get_indexes("import_rows")}
    assert {"ix_import_rows_import_id", "ix_import_rows_scope"} <= names
    with catalog.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM imports")).scalar_one() == 0
    assert imports.c.currencies.nullable is False
