"""`backbeat report`, `diagnose` and `plan` through Typer's CliRunner, on a real migrated
SQLite catalog and a real DuckDB event file in a temporary data directory; and the clear
message when another process (a running server) holds the DuckDB file."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from backbeat.analytics.export import load_chart_js
from backbeat.cli_reports import register
from backbeat.store.catalog import open_catalog, upgrade
from backbeat.store.events.duckdb_store import DuckDBEventStore
from tests.analytics.campaign_world import build_world, decisions, deliver


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "var"
    data.mkdir()
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    monkeypatch.setenv("BACKBEAT_DATA_DIR", str(data))
    for name in ("BACKBEAT_CATALOG_URL", "BACKBEAT_EVENTS_PATH", "BACKBEAT_EVENTS_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "220")  # wide enough that table cells do not wrap
    return data


def url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'catalog.db').resolve()}"


@dataclass
class Setup:
    data: Path
    campaign: int
    pop_site: int
    metal_site: int


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """Nova Lux's campaign: Cover 10,000 impressions / 150 clicks and Tour poster 6,000 / 18
    on Pop Lyrics early in its flight; decisions an hour apart over the last 14 days on Pop
    Lyrics. Built once; each test gets copies of the files."""
    data = tmp_path_factory.mktemp("template")
    upgrade(url(data))
    catalog = open_catalog(url(data))
    store = DuckDBEventStore(data / "events.duckdb")
    try:
        w = build_world(catalog, ("Cover", "Tour poster"))
        c = w.campaign
        first, last = c.start + timedelta(days=1), c.start + timedelta(days=8)
        deliver(store, c, w.creatives["Cover"], w.pop, w.pop_top, impressions=10_000,
                clicks=150, viewable=8_000, start=first, end=last)  # fmt: skip
        deliver(store, c, w.creatives["Tour poster"], w.pop, w.pop_bottom, impressions=6_000,
                clicks=18, viewable=5_000, start=first, end=last)  # fmt: skip
        decisions(store, w.pop_top, w.pop, filled=224, unfilled=112, campaign=c,
                  start=datetime.now(UTC) - timedelta(days=14, minutes=-30),
                  spacing=timedelta(hours=1))  # fmt: skip
        return Setup(data, c.id or 0, w.pop.id or 0, w.metal.id or 0)
    finally:
        store.close()  # the CLI opens the files itself
        catalog.close()


@pytest.fixture
def written(template: Setup, data_dir: Path) -> Setup:
    for name in ("catalog.db", "events.duckdb"):
        shutil.copyfile(template.data / name, data_dir / name)
    return replace(template, data=data_dir)


def run(*args: str) -> Result:
    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, list(args))


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def test_overview_as_table_json_and_csv(written: Setup) -> None:
    table = ok("report").stdout
    assert "Night Drive single" in table and "1.05% (95% CI" in table
    assert "16,000" in table and "$64.00 / $1,000.00" in table
    body = json.loads(ok("report", "--format", "json").stdout)
    (line,) = body["campaigns"]
    assert (line["impressions"], line["clicks"], line["ctr"]["percent"]) == (16_000, 168, "1.0500")
    rows = list(csv.DictReader(io.StringIO(ok("report", "--format", "csv").stdout)))
    assert rows[0]["name"] == "Night Drive single" and rows[0]["ctr_pct"] == "1.0500"


def test_campaign_report_tables_json_csv_and_html(written: Setup, tmp_path: Path) -> None:
    c = str(written.campaign)
    text = ok("report", c).stdout
    for heading in ("Flight so far", "Daily", "By creative", "By site", "Creatives against the "
                    "best", "Scorecard (traffic)"):  # fmt: skip
        assert heading in text, heading
    assert "Tour poster" in text and "gets far fewer clicks" in text
    body = json.loads(ok("report", c, "--format", "json").stdout)
    assert body["flight_to_date"]["impressions"] == 16_000
    assert body["flight_to_date"]["ctr"]["percent"] == "1.0500"
    rows = list(csv.DictReader(io.StringIO(ok("report", c, "--format", "csv").stdout)))
    assert (rows[0]["section"], rows[0]["impressions"]) == ("total", "16000")
    page = tmp_path / "report.html"
    result = ok("report", c, "--out", str(page))
    assert f"wrote {page}" in result.output.replace("\n", "")
    html = page.read_text(encoding="utf-8")
    chart_js = load_chart_js()
    assert chart_js is not None and chart_js in html and "Night Drive single" in html
    assert run("report", "--out", str(page)).exit_code == 2  # --out needs a campaign


def test_diagnose_names_the_weak_creative(written: Setup, tmp_path: Path) -> None:
    c = str(written.campaign)
    text = ok("diagnose", c).stdout
    assert "The creative “Tour poster” gets far fewer clicks than your other ads" in text
    assert "CTR of “Tour poster”: 0.30% (95% CI" in text
    findings = json.loads(ok("diagnose", c, "--format", "json").stdout)["findings"]
    weak = [f for f in findings if f["kind"] == "weak_creative"]
    assert [f["subjects"] for f in weak] == [["Tour poster"]]
    rows = list(csv.DictReader(io.StringIO(ok("diagnose", c, "--format", "csv").stdout)))
    assert "weak_creative" in [r["kind"] for r in rows]
    page = tmp_path / "d.html"
    ok("diagnose", c, "--out", str(page))
    assert "Tour poster" in page.read_text(encoding="utf-8")
    missing = run("diagnose", "999999")
    assert missing.exit_code == 1 and "campaign 999999 not found" in missing.output


def test_plan_with_figures_given_and_measured(written: Setup) -> None:
    given = ok("plan", "--budget", "500", "--bid", "2.50", "--days", "30", "--available",
               "10000", "--visitors", "2000", "--stage", "new").stdout  # fmt: skip
    assert "200,000" in given and "1,000" in given and "2,000" in given
    assert "Budget split for a new artist" in given and "$325.00" in given
    measured = json.loads(
        ok(
            "plan",
            "--budget",
            "500",
            "--bid",
            "2.50",
            "--days",
            "30",
            "--site",
            str(written.pop_site),
            "--format",
            "json",
        ).stdout
    )
    assert measured["available_daily_impressions"] == 24  # 336 decisions over 14 days
    assert measured["unique_visitors_per_day"] == 10
    assert measured["impressions"] == {"low": 720, "high": 720}
    quiet = run("plan", "--budget", "500", "--bid", "2.50", "--days", "30", "--site",
                str(written.metal_site))  # fmt: skip
    assert quiet.exit_code == 1 and "available_daily_impressions" in quiet.output
    as_csv = ok("plan", "--budget", "500", "--bid", "2.50", "--days", "30", "--available",
                "10000", "--visitors", "2000", "--format", "csv").stdout  # fmt: skip
    assert "impressions,200000,200000" in as_csv
    assert run("plan", "--budget", "500", "--bid", "2.50", "--days", "30", "--cap",
               "often").exit_code == 2  # fmt: skip
    assert run("plan", "--budget", "lots", "--bid", "2.50", "--days", "30").exit_code == 2


def test_a_running_server_holding_the_file_gets_a_clear_message(written: Setup) -> None:
    holder = subprocess.Popen(  # a second process holding the DuckDB file, as a server does
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(60)", str(written.data / "events.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = run("report")
        assert result.exit_code == 2, result.output
        said = " ".join(result.output.split())
        assert "in use by another process" in said and "backbeat serve" in said
        assert "/api/v1/reports" in said
    finally:
        holder.kill()
        holder.wait()
    assert run("report").exit_code == 0  # free again


def test_no_event_file_yet_reports_zeros(written: Setup) -> None:
    (written.data / "events.duckdb").unlink()
    body = json.loads(ok("report", "--format", "json").stdout)
    assert body["campaigns"][0]["impressions"] == 0


def test_an_unmigrated_catalog_is_refused(data_dir: Path) -> None:
    result = run("report")
    assert result.exit_code == 2 and "backbeat db upgrade" in result.output
