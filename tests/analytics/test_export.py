"""Campaign report exports: CSV, JSON and the self-contained HTML page, from a real report
(SQLite catalog, DuckDB events). The HTML is also opened in Debian's Chromium with every
network request refused, to prove it draws its charts offline."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backbeat.analytics import export
from backbeat.analytics import report_json as rj
from backbeat.analytics.planner import ArtistStage
from backbeat.analytics.service import CampaignReport, PlanRequest, ReportService, plan_outcome
from backbeat.domain.campaign import Pricing
from backbeat.domain.taxonomy import AdFormat
from backbeat.store.catalog import open_catalog, upgrade
from backbeat.store.events.duckdb_store import DuckDBEventStore
from tests.analytics.campaign_world import NOW, build_world, deliver

NASTY = '<script>alert("x")</script> & co'
FORMULA = '=HYPERLINK("http://evil.example.com")'
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CampaignReport]:
    path = tmp_path_factory.mktemp("export")
    upgrade(f"sqlite:///{path / 'catalog.db'}")
    catalog = open_catalog(f"sqlite:///{path / 'catalog.db'}")
    store = DuckDBEventStore(path / "events.duckdb")
    w = build_world(catalog, creatives=("Cover", NASTY, FORMULA))
    c = w.campaign
    deliver(store, c, w.creatives["Cover"], w.pop, w.pop_top, impressions=4_000, clicks=40,
            viewable=3_000)  # fmt: skip
    deliver(store, c, w.creatives[NASTY], w.pop, w.pop_bottom, impressions=4_000, clicks=12,
            viewable=3_000)  # fmt: skip
    deliver(store, c, w.creatives[FORMULA], w.rock, w.rock_side, impressions=2_000, clicks=10,
            viewable=1_500)  # fmt: skip
    try:
        yield ReportService(catalog, store, clock=lambda: NOW).campaign_report(c.id or 0, None)
    finally:
        store.close()
        catalog.close()


def data_of(page: str) -> object:
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page,
                      re.S)  # fmt: skip
    assert found is not None
    return json.loads(found.group(1))


def test_html_inlines_chart_js_and_the_data(report: CampaignReport) -> None:
    chart_js = export.load_chart_js()
    assert chart_js is not None, "Chart.js is missing: run `make install`"
    assert chart_js.startswith("/*!\n * Chart.js v4")
    page = export.report_html(report)
    assert chart_js in page
    assert data_of(page) == json.loads(json.dumps(rj.campaign_report(report)))
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src" not in tag, tag
    outside = page.replace(chart_js, "")
    assert "http://" not in outside.replace("http://evil", "") and "https://" not in outside
    assert "<link" not in page and "@import" not in page and "url(" not in outside
    assert "<h1>Night Drive single</h1>" in page
    assert 'id="chart-ctr"' in page and 'id="chart-spend"' in page


def test_html_escapes_every_name(report: CampaignReport) -> None:
    page = export.report_html(report, chart_js="/* stand-in for Chart.js */")
    assert NASTY not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    # In the JSON element, '<' is written \u003c so the name cannot close the element.
    assert "\\u003cscript\\u003ealert" in page
    assert page.count("</script>") == 3  # the data, the Chart.js stand-in, the chart code


def test_html_without_chart_js_still_has_every_table(report: CampaignReport) -> None:
    page = export.report_html(report, chart_js="")
    assert "Charts are missing" in page and "make install" in page
    assert "<canvas" not in page
    assert page.count("<table>") == 3 + len(report.breakdowns)
    assert f"{report.facts.impressions:,}" in page


def test_csv_is_one_tidy_table(report: CampaignReport) -> None:
    rows = list(csv.DictReader(io.StringIO(export.report_csv(report))))
    assert list(rows[0]) == list(export.REPORT_COLUMNS)
    total = rows[0]
    assert (total["section"], total["label"], total["impressions"], total["clicks"]) == (
        "total", "Night Drive single", "10000", "62")  # fmt: skip
    assert total["ctr_pct"] == "0.6200" and total["spend"] == "40.000000"
    series = [r for r in rows if r["section"] == "series"]
    assert [r["day"] for r in series] == [p.day.isoformat() for p in report.series]
    assert sum(int(r["impressions"]) for r in series) == 10_000
    assert series[-1]["cumulative_spend"] == "40.000000"
    creatives = {r["label"]: r for r in rows if r["dimension"] == "creative"}
    assert set(creatives) == {"Cover", NASTY, "'" + FORMULA}  # no formula runs in a sheet
    assert creatives["Cover"]["ctr_pct"] == "1.0000"
    genre = {r["key"]: r["impressions"] for r in rows if r["dimension"] == "genre_match"}
    assert genre == {"true": "8000", "false": "2000"}


def test_json_export_is_the_api_shape(report: CampaignReport) -> None:
    data = json.loads(export.report_json(report))
    assert data == json.loads(json.dumps(rj.campaign_report(report)))
    assert data["flight_to_date"]["ctr"]["percent"] == "0.6200"
    assert data["version"] == 1 and data["campaign"]["name"] == "Night Drive single"


def test_findings_overview_and_plan_csv(report: CampaignReport) -> None:
    findings = list(csv.DictReader(io.StringIO(export.findings_csv(report.findings))))
    assert [f["kind"] for f in findings] == [f.kind.value for f in report.findings]
    weak = next(f for f in findings if f["kind"] == "weak_creative")
    assert weak["subjects"] == NASTY and "CTR of" in weak["evidence"]
    outcome = plan_outcome(PlanRequest(500_000_000, Pricing.CPM, 2_500_000, AdFormat.DISPLAY,
                                       30, available_daily_impressions=10_000,
                                       unique_visitors_per_day=2_000,
                                       stage=ArtistStage.GROWING))  # fmt: skip
    plan_rows = {r["figure"]: r for r in csv.DictReader(io.StringIO(export.plan_csv(outcome)))}
    assert plan_rows["impressions"] == {"figure": "impressions", "low": "200000",
                                        "high": "200000"}  # fmt: skip
    assert (plan_rows["clicks"]["low"], plan_rows["clicks"]["high"]) == ("1000", "2000")
    assert plan_rows["spend"]["high"] == "500.000000"


@pytest.mark.browser
def test_html_draws_its_charts_offline(report: CampaignReport, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    page_file = tmp_path / "report.html"
    page_file.write_text(export.report_html(report), encoding="utf-8")
    requested: list[str] = []
    errors: list[str] = []

    def draw() -> list[int]:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                        args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
            try:
                page = browser.new_page()
                page.on("pageerror", lambda exc: errors.append(str(exc)))

                def refuse(route: object) -> None:
                    requested.append(route.request.url)  # type: ignore[attr-defined]
                    route.abort()  # type: ignore[attr-defined]

                page.route(re.compile(r"^https?://"), refuse)
                page.goto(page_file.as_uri())
                page.wait_for_function(
                    "Object.keys(Chart.instances).length === 3", timeout=10_000
                )
                drawn: list[int] = page.evaluate(
                    "Object.values(Chart.instances).map(c => c.data.datasets[0].data.length)"
                )
                return drawn
            finally:
                browser.close()

    # A thread of its own: in a process that ran the browser tests, pytest-playwright's
    # sync API holds an event loop on this thread, and a second sync API refuses to start.
    with ThreadPoolExecutor(1) as pool:
        points = pool.submit(draw).result()
    assert errors == [] and requested == []
    assert points == [len(report.series)] * 3
