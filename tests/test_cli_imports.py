"""`backbeat import` and `backbeat compare` through Typer's CliRunner, on a real migrated
SQLite catalog in a temporary data directory, with the real fixture exports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from backbeat.cli_imports import register
from backbeat.domain.parties import Advertiser
from backbeat.importers.compare import CompareQuery, compare
from backbeat.store.catalog import open_catalog, upgrade
from backbeat.store.catalog.imports import ImportStore

FIXTURES = Path(__file__).parent / "importers" / "fixtures"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "var"
    data.mkdir()
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    monkeypatch.setenv("BACKBEAT_DATA_DIR", str(data))
    monkeypatch.delenv("BACKBEAT_CATALOG_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "220")  # wide enough that table cells do not wrap
    return data


def url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'catalog.db').resolve()}"


@pytest.fixture
def advertiser(data_dir: Path) -> int:
    upgrade(url(data_dir))
    catalog = open_catalog(url(data_dir))
    try:
        made = catalog.advertisers.add(Advertiser("Nova Lux"))
    finally:
        catalog.close()
    assert made.id is not None
    return made.id


def rows_stored(data_dir: Path, advertiser: int) -> int:
    catalog = open_catalog(url(data_dir))
    try:
        return ImportStore(catalog).count_rows(advertiser)
    finally:
        catalog.close()


def run(*args: str) -> Result:
    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, list(args))


def test_every_fixture_imports_and_compares_to_hand_computed_figures(
    data_dir: Path, advertiser: int
) -> None:
    for name, extra in (
        ("meta_en.csv", []),
        ("tiktok.csv", []),
        ("spotify.csv", []),
        ("google_ads.csv", ["--account", "search-display"]),
        ("youtube.csv", ["--account", "youtube"]),
    ):
        result = run("import", str(FIXTURES / name), *extra)
        assert result.exit_code == 0, result.output
        assert f"Imported {name}" in result.stdout
    meta = run("import", str(FIXTURES / "meta_en.csv"))
    assert "nothing changed" in meta.stdout

    shown = run("compare")
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    # meta: 660 / 49,614 link clicks; 212.90 USD -> CPM 4.29, CPC 0.32
    assert "49,614" in out and "1.33% (1.23–1.43)" in out
    assert "212.90 USD" in out and "4.29 USD" in out and "0.32 USD" in out
    # tiktok: 776 / 117,007; 350.45 USD -> CPM 3.00, CPC 0.45
    assert "0.66% (0.62–0.71)" in out and "350.45 USD" in out and "0.45 USD" in out
    # spotify: 210 / 66,417; 1,011.62 GBP -> CPM 15.23, CPC 4.82
    assert "0.32% (0.28–0.36)" in out and "1,011.62 GBP" in out and "15.23 GBP" in out
    # google: two accounts, two currencies, reported apart
    assert "2,074.71 EUR" in out and "508.06 USD" in out and "9.86 EUR" in out
    assert "Note: Clicks are link clicks" in out
    assert "Compared on all clicks" in out  # Meta against Facebook's CTR (all) benchmark


def test_reimport_changes_nothing_and_overlap_replaces(
    data_dir: Path, advertiser: int, tmp_path: Path
) -> None:
    assert run("import", str(FIXTURES / "meta_en.csv")).exit_code == 0
    again = run("import", str(FIXTURES / "meta_en.csv"))
    assert (again.exit_code, rows_stored(data_dir, advertiser)) == (0, 6)
    assert "imported before" in again.stdout
    lines = (FIXTURES / "meta_en.csv").read_text(encoding="utf-8").splitlines()
    second_day = tmp_path / "meta_day2.csv"
    second_day.write_text(
        "\n".join([lines[0], *(x for x in lines[1:] if x.startswith("2024-03-02"))]) + "\n",
        encoding="utf-8",
    )
    replaced = run("import", str(second_day))
    assert replaced.exit_code == 0, replaced.output
    assert "3 rows of earlier imports" in replaced.stdout
    assert rows_stored(data_dir, advertiser) == 6  # 3 replaced by the same 3 days


def test_a_bad_file_names_row_and_column_and_stores_nothing(
    data_dir: Path, advertiser: int, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Reporting starts,Reporting ends,Campaign name,Impressions,Amount spent (USD),"
        "Link clicks\n2024-03-01,2024-03-01,A,100,1.00,5\n2024-03-02,2024-03-02,A,10,1.00,11\n",
        encoding="utf-8",
    )
    result = run("import", str(bad))
    assert result.exit_code == 1
    assert "nothing was stored" in result.stderr
    assert "row 3, column 'Link clicks': 11 clicks exceed 10 impressions" in result.stderr
    wrong = run("import", str(FIXTURES / "tiktok.csv"), "--platform", "meta")
    assert wrong.exit_code == 1
    assert "looks like a TikTok Ads Manager export" in wrong.stderr
    assert rows_stored(data_dir, advertiser) == 0


def test_options_reach_the_importer(data_dir: Path, advertiser: int, tmp_path: Path) -> None:
    undated = tmp_path / "tiktok_week.csv"
    undated.write_text(
        "Campaign name,Cost,Impressions,Clicks (destination)\nWeek,10.00,1000,5\n",
        encoding="utf-8",
    )
    no_period = run("import", str(undated), "--currency", "EUR")
    assert no_period.exit_code == 1
    ok = run(
        "import", str(undated), "--currency", "EUR", "--period", "2024-03-01:2024-03-07",
        "--account", "label-x",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    ambiguous = tmp_path / "tiktok_day.csv"
    ambiguous.write_text(
        "Date,Campaign name,Currency,Cost,Impressions\n03/04/2024,Day,USD,1.00,100\n",
        encoding="utf-8",
    )
    assert run("import", str(ambiguous)).exit_code == 1
    assert run("import", str(ambiguous), "--date-order", "dmy").exit_code == 0
    mapped = run(
        "import", str(FIXTURES / "generic_snap.csv"),
        "--mapping", str(FIXTURES / "generic_snap.toml"),
    )  # fmt: skip
    assert mapped.exit_code == 0, mapped.output
    catalog = open_catalog(url(data_dir))
    try:
        stored = list(ImportStore(catalog).rows(advertiser))
    finally:
        catalog.close()
    week = next(r for r in stored if r.campaign == "Week")
    assert (week.start, week.end, week.currency, week.account) == (
        date(2024, 3, 1),
        date(2024, 3, 7),
        "EUR",
        "label-x",
    )
    assert next(r for r in stored if r.campaign == "Day").start == date(2024, 4, 3)
    assert {r.platform for r in stored} == {"tiktok", "snapchat"}
    bad_period = run("import", str(undated), "--period", "2024-03-01")
    assert bad_period.exit_code == 2


def test_compare_filters_and_shows_reach_for_exactly_the_period(
    data_dir: Path, advertiser: int
) -> None:
    assert run("import", str(FIXTURES / "meta_de.csv")).exit_code == 0
    assert run("import", str(FIXTURES / "tiktok.csv")).exit_code == 0
    week = run("compare", "--platform", "facebook", "--start", "2024-03-04", "--end", "2024-03-10")
    assert week.exit_code == 0, week.output
    assert "Konzert Berlin" in week.stdout and "2,210" in week.stdout  # one row, exact period
    assert "tiktok" not in week.stdout
    catalog = open_catalog(url(data_dir))
    try:
        query = CompareQuery(date(2024, 3, 4), date(2024, 3, 10), ("meta",))
        result = compare(ImportStore(catalog).rows(advertiser), query)
    finally:
        catalog.close()
    assert [c.figures.reach.value for c in result.campaigns] == [None, 2210]
    none = run("compare", "--platform", "spotify")
    assert (none.exit_code, "No imported rows match." in none.stdout) == (0, True)
    assert run("compare", "--start", "March").exit_code == 2
    backwards = run("compare", "--start", "2024-03-10", "--end", "2024-03-01")
    assert backwards.exit_code == 1
    assert "end: the period ends before it starts" in backwards.stderr


def test_the_advertiser_must_be_named_when_there_are_several(
    data_dir: Path, advertiser: int
) -> None:
    catalog = open_catalog(url(data_dir))
    try:
        other = catalog.advertisers.add(Advertiser("Granite Records")).id
    finally:
        catalog.close()
    unnamed = run("import", str(FIXTURES / "tiktok.csv"))
    assert unnamed.exit_code == 1
    assert "pass --advertiser-id" in unnamed.stderr and "Granite Records" in unnamed.stderr
    missing = run("import", str(FIXTURES / "tiktok.csv"), "--advertiser-id", "999")
    assert (missing.exit_code, "advertiser 999 not found" in missing.stderr) == (1, True)
    named = run("import", str(FIXTURES / "tiktok.csv"), "--advertiser-id", str(other))
    assert named.exit_code == 0, named.output
    assert rows_stored(data_dir, advertiser) == 0
    assert "117,007" in run("compare", "--advertiser-id", str(other)).stdout
    assert run("compare").exit_code == 1


def test_an_unmigrated_catalog_is_refused(data_dir: Path) -> None:
    result = run("import", str(FIXTURES / "tiktok.csv"))
    assert result.exit_code == 2
    assert "backbeat db upgrade" in result.stderr
    assert run("compare").exit_code == 2


def test_progress_warnings_and_ignored_columns_are_shown(
    data_dir: Path, advertiser: int, tmp_path: Path
) -> None:
    export = tmp_path / "meta_warn.csv"
    export.write_text(
        "Reporting starts,Reporting ends,Campaign name,Impressions,Amount spent (USD),"
        "Link clicks,CTR (link click-through rate),Ad ID\n"
        "2024-03-01,2024-03-01,A,1000,5.00,10,1.00,111\n"
        "2024-03-02,2024-03-02,A,1000,5.00,10,3.00,222\n",
        encoding="utf-8",
    )
    result = run("import", str(export))
    assert result.exit_code == 0, result.output
    assert "Importing meta_warn.csv" in result.stderr  # the progress bar, driven by the driver
    size = export.stat().st_size
    assert f"{size}/{size} bytes" in result.stderr
    assert "1 warning:" in result.stdout
    assert "row 3, column 'CTR (link click-through rate)': reported 3 but" in result.stdout
    assert "Ignored columns: Ad ID" in result.stdout
    assert rows_stored(data_dir, advertiser) == 2
