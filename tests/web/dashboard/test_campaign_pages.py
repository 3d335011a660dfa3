"""The advertiser's report pages on the real app and its DuckDB events: the overview with
spend against budget and CTR with its range, the campaign page (charts drawn from the
embedded series, breakdowns with viewability, findings, A/B panel, scorecard), the period
selector, exports, pausing and activating with CSRF, and tenants kept apart."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backbeat.analytics.diagnosis.wording import pct
from backbeat.analytics.export import load_chart_js
from backbeat.analytics.stats import wilson_interval
from backbeat.config import Settings
from backbeat.domain.campaign import Campaign, CampaignStatus, Objective, Pricing
from backbeat.domain.creative import AssetKind, Creative, DestinationKind, ReviewStatus
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.store.catalog import SqlCatalog
from tests.web.conftest import World
from tests.web.dashboard.pages import element, login
from tests.web.dashboard.report_world import Env, chart_spec, open_env, row, sign_in, table


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, catalog_template: Path) -> Iterator[Env]:
    yield from open_env(tmp_path_factory.mktemp("campaign-pages"), catalog_template)


def ci_range(clicks: int, impressions: int) -> str:
    ci = wilson_interval(clicks, impressions)
    return f"{pct(ci.low).rstrip('%')}–{pct(ci.high)}"


def page(env: Env, path: str, status: int = 200) -> str:
    resp = env.client.get(path)
    assert resp.status_code == status, resp.text[:2000]
    return resp.text


def as_json(env: Env, path: str) -> Any:
    sep = "&" if "?" in path else "?"
    resp = env.client.get(f"{path}{sep}format=json")
    assert resp.status_code == 200, resp.text[:2000]
    assert resp.headers["content-type"].startswith("application/json")
    return resp.json()


# --- the overview ------------------------------------------------------------------------


def test_overview_shows_own_campaigns_with_real_numbers(env: Env) -> None:
    sign_in(env, env.tenants.adv_a)
    html = page(env, "/campaigns")
    line = row(html, "campaigns-table", "Night Drive single")
    # 12,000 impressions and 156 clicks in all; $4 CPM -> $48 of a $1,000 budget
    assert line[2] == "$48.00 of $1,000.00 (4.8%) $48.00 of $1,000.00 (4.8%)"
    assert line[3:6] == ["12,000", "12,000", "156"]
    assert line[6] == f"1.30%, 95% range 95% CI {ci_range(156, 12_000)}"
    assert line[7].startswith("above benchmark")
    assert 'value="48000000" max="1000000000"' in html
    assert f'id="paused-{env.net.campaign}"' in html  # an active campaign can be paused
    assert 'href="/campaigns/new"' in html
    assert f'href="/campaigns/{env.net.campaign}"' in html
    assert "Granite launch" not in html  # another advertiser's campaign


def test_overview_json_is_the_same_data(env: Env) -> None:
    sign_in(env, env.tenants.adv_a)
    body = as_json(env, "/campaigns")
    lines = {c["id"]: c for c in body["campaigns"]}
    assert set(lines) == {env.net.campaign, env.net.awareness}
    night = lines[env.net.campaign]
    assert (night["impressions"], night["clicks"], night["spend"]) == (12_000, 156, "48.000000")
    assert night["ctr"]["percent"] == "1.3000"
    assert night["verdict"]["outcome"] == "above"


def test_admin_sees_every_campaign_and_filters_by_advertiser(env: Env) -> None:
    sign_in(env, env.tenants.admin)
    html = page(env, "/campaigns")
    names = [r[0] for r in table(html, "campaigns-table")[1:]]
    assert [n.split(" ")[0] for n in names] == ["Night", "Lights", "Granite"]
    assert row(html, "campaigns-table", "Granite launch")[1] == "Granite Records"
    rival = env.tenants.adv_b.advertiser_id
    only = page(env, f"/campaigns?advertiser={rival}")
    assert [r[0].split(" ")[0] for r in table(only, "campaigns-table")[1:]] == ["Granite"]
    assert as_json(env, f"/campaigns?advertiser={rival}")["campaigns"][0]["clicks"] == 5
    assert "does not exist" in page(env, "/campaigns?advertiser=999", 404)


# --- one campaign ------------------------------------------------------------------------


def test_campaign_page_shows_breakdowns_findings_ab_and_scorecard(env: Env) -> None:
    sign_in(env, env.tenants.adv_a)
    cid = env.net.campaign
    html = page(env, f"/campaigns/{cid}")
    assert "<h1>Night Drive single</h1>" in html
    assert re.search(r'id="kpi-impressions">12,000<', html)
    assert re.search(r'id="kpi-ctr">1\.30%', html)
    pop = row(html, "by-site", "Pop Lyrics")
    # 10,000 impressions, 150 clicks: a 1.5% CTR; 6,000 of them viewable
    assert pop[1:3] == ["10,000", "150"]
    assert pop[3] == f"1.50%, 95% range 95% CI {ci_range(150, 10_000)}"
    assert pop[4] == "$40.00"
    assert pop[5] == f"60.00%, 95% range 95% CI {ci_range(6_000, 10_000)}"
    assert row(html, "by-creative", "Tour poster")[1:3] == ["2,000", "6"]
    assert row(html, "by-genre-match", "Sites matching your genres")[1] == "10,000"
    assert row(html, "by-country", "US")[1] == "12,000"
    assert row(html, "by-device", "mobile")[2] == "156"

    data = as_json(env, f"/campaigns/{cid}")
    assert data["campaign"]["id"] == cid
    assert data["findings"], "the weak creative and placements make findings"
    cards = re.findall(
        r'<article class="card finding sev-(\w+)"[^>]*>\s*<p class="sev">\w+</p>\s*'
        r'<h3 id="finding-\d+-title">(.*?)</h3>',
        html,
    )
    shown = [(severity, unescape(title)) for severity, title in cards]
    assert shown == [(f["severity"], f["title"]) for f in data["findings"]]
    site = {b["dimension"]: b for b in data["breakdowns"]}["site"]["lines"]
    assert {ln["label"]: ln["viewability"]["successes"] for ln in site} == {
        "Pop Lyrics": 6_000,
        "Rock Radio": 0,
    }

    cover = row(html, "ab-table", "Cover")
    assert cover[0] == "Cover best" and cover[1] == "10,000"
    assert row(html, "ab-table", "Tour poster")[4] == "p < 0.0001"
    assert table(html, "scorecard-table")[1][0] == "CTR"
    assert "traffic campaign" in html
    links = {k: element(html, f"export-{k}")["href"] for k in ("csv", "html", "json")}
    assert links["csv"].startswith(f"/campaigns/{cid}/export.csv?period=custom&start=")
    assert all("2026-03-06" in v and "2026-03-20" in v for v in links.values())


def test_charts_are_canvases_with_the_series_beside_them(env: Env) -> None:
    sign_in(env, env.tenants.adv_a)
    html = page(env, f"/campaigns/{env.net.campaign}")
    data = as_json(env, f"/campaigns/{env.net.campaign}")
    days = [p["day"] for p in data["series"]]
    assert days[0] == "2026-03-06" and days[-1] == "2026-03-20" and len(days) == 15
    for ident in ("chart-delivery", "chart-ctr", "chart-spend"):
        canvas = element(html, ident)
        assert canvas["role"] == "img" and canvas["aria-label"]
        assert canvas["data-chart"] == f"{ident}-data"
        summary = element(html, canvas["aria-describedby"])
        assert summary["class"] == "chart-summary"
        assert chart_spec(html, ident)["labels"] == days

    delivery = {d["label"]: d for d in chart_spec(html, "chart-delivery")["datasets"]}
    assert sum(delivery["Impressions"]["data"]) == 12_000
    assert sum(delivery["Clicks"]["data"]) == 156 and delivery["Clicks"]["axis"] == "y2"

    ctr = chart_spec(html, "chart-ctr")
    kinds = [d["kind"] for d in ctr["datasets"]]
    assert kinds == ["band-low", "band-high", "line", "ref", "ref"]
    low, high, line, bench_low, bench_high = (d["data"] for d in ctr["datasets"])
    assert ctr["datasets"][1]["fill"] == "-1" and ctr["datasets"][4]["fill"] == "-1"
    for lo, hi, mid, point in zip(low, high, line, data["series"], strict=True):
        assert mid == point["ctr"]["percent"]
        assert mid is None or float(lo) <= float(mid) <= float(hi)
    bench = data["verdict"]["benchmark"]
    assert set(bench_low) == {bench["low"]} and set(bench_high) == {bench["high"]}

    spend = {d["label"]: d["data"] for d in chart_spec(html, "chart-spend")["datasets"]}
    assert spend["Spent so far"][-1] == "48.000000"
    assert spend["Even pacing plan"] == [p["planned_spend"] for p in data["series"]]
    assert '<script src="/static/vendor/chart.umd.min.js" defer></script>' in html
    assert '<script src="/static/charts.js" defer></script>' in html


def test_period_selector(env: Env) -> None:
    sign_in(env, env.tenants.adv_a)
    cid = env.net.campaign
    week = as_json(env, f"/campaigns/{cid}?period=7")
    assert week["period"]["start"] == "2026-03-14" and week["period"]["end"] == "2026-03-20"
    assert len(week["series"]) == 7
    html = page(env, f"/campaigns/{cid}?period=7")
    assert 'value="7" selected' in html
    assert len(chart_spec(html, "chart-delivery")["labels"]) == 7

    custom = as_json(env, f"/campaigns/{cid}?period=custom&start=2026-03-10&end=2026-03-11")
    assert [p["day"] for p in custom["series"]] == ["2026-03-10", "2026-03-11"]

    bad = page(env, f"/campaigns/{cid}?period=custom&start=2026-13-01&end=2026-03-11", 422)
    assert element(bad, "start")["aria-invalid"] == "true"
    assert "must be a date such as 2026-03-01" in bad
    backwards = page(env, f"/campaigns/{cid}?period=custom&start=2026-03-11&end=2026-03-10", 422)
    assert element(backwards, "end")["aria-invalid"] == "true"
    assert "must not be before the start date" in backwards
    too_long = page(env, f"/campaigns/{cid}?period=custom&start=2001-01-01&end=2026-03-10", 422)
    assert 'role="alert"' in too_long and "2026-03-06 to 2026-03-20" in too_long


def test_awareness_campaign_notes_that_ctr_is_the_wrong_yardstick(env: Env) -> None:
    sign_in(env, env.tenants.adv_a)
    html = page(env, f"/campaigns/{env.net.awareness}")
    kpi = html[html.index('id="kpi-ctr"') : html.index('id="kpi-reach"')]
    assert 'href="#awareness-note"' in kpi
    note = html[html.index('id="awareness-note"') :]
    assert "A low click rate is normal for an awareness campaign" in note[:400]
    assert "Scorecard for an awareness campaign" in html
    assert 'id="awareness-note"' not in page(env, f"/campaigns/{env.net.campaign}")


def test_other_tenants_and_roles_are_kept_out(env: Env) -> None:
    cid = env.net.campaign
    sign_in(env, env.tenants.adv_b)
    for path in (f"/campaigns/{cid}", f"/campaigns/{cid}/export.csv",
                 f"/campaigns/{cid}/export.html", "/campaigns/99999"):  # fmt: skip
        assert "does not exist" in page(env, path, 404)
    assert env.client.get(f"/campaigns/{cid}?format=json").status_code == 404
    sign_in(env, env.tenants.pub_p)
    for path in ("/campaigns", f"/campaigns/{cid}", f"/campaigns/{cid}/export.csv"):
        assert "Not for your account" in page(env, path, 403)
    env.client.cookies.clear()
    resp = env.client.get(f"/campaigns/{cid}", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


def test_exports_download_csv_json_and_a_self_contained_html_report(env: Env) -> None:
    sign_in(env, env.tenants.adv_a)
    base = f"/campaigns/{env.net.campaign}"
    got = env.client.get(f"{base}/export.csv")
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    assert got.headers["content-disposition"] == (
        f'attachment; filename="campaign-{env.net.campaign}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(got.text)))
    total = next(r for r in rows if r["section"] == "total")
    assert (total["impressions"], total["clicks"], total["spend"]) == ("12000", "156", "48.000000")
    pop = next(r for r in rows if r["dimension"] == "site" and r["label"] == "Pop Lyrics")
    assert pop["ctr_pct"] == "1.5000"

    week = env.client.get(f"{base}/export.csv?period=7")
    assert sum(1 for r in csv.DictReader(io.StringIO(week.text)) if r["section"] == "series") == 7

    html = env.client.get(f"{base}/export.html")
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["content-disposition"].startswith("attachment;")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert not re.search(r"<script[^>]*\bsrc\s*=", html.text, re.I), "no external script"
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']https?:", html.text, re.I)
    assert '<script type="application/json" id="report-data">' in html.text
    if load_chart_js() is not None:
        assert 'id="chart-ctr"' in html.text and "Chart.js" in html.text

    js = env.client.get(f"{base}/export.json")
    assert js.headers["content-type"] == "application/json"
    assert js.json()["flight_to_date"]["impressions"] == 12_000


# --- pausing and activating --------------------------------------------------------------


def _campaign(
    catalog: SqlCatalog, advertiser_id: int, name: str, status: CampaignStatus, approved: bool
) -> Campaign:
    now = datetime.now(UTC)
    made = catalog.campaigns.add(
        Campaign(advertiser_id=advertiser_id, name=name, objective=Objective.TRAFFIC,
                 pricing=Pricing.CPM, bid_micros=4_000_000, budget_total_micros=500_000_000,
                 start=now - timedelta(days=1), end=now + timedelta(days=30)).validate(2_500_000)
    )  # fmt: skip
    review = ReviewStatus.APPROVED if approved else ReviewStatus.PENDING
    catalog.creatives.add(
        Creative(advertiser_id=advertiser_id, campaign_id=made.id or 0, name=f"{name} ad",
                 format=AdFormat.DISPLAY, size=Size(300, 250), asset_kind=AssetKind.IMAGE,
                 asset_url="https://cdn.example.com/a.png",
                 destination_url="https://music.example.com/x",
                 destination_kind=DestinationKind.STREAMING, alt_text="artwork",
                 review_status=review)
    )  # fmt: skip
    return catalog.campaigns.update(replace(made, status=status))


def _status(catalog: SqlCatalog, campaign: Campaign) -> CampaignStatus:
    return catalog.campaigns.get(campaign.id or 0).status


def test_pause_and_activate_with_csrf(
    client: TestClient, world: World, catalog: SqlCatalog, settings: Settings
) -> None:
    c = _campaign(catalog, world.adv_a.advertiser_id or 0, "Summer tour", CampaignStatus.ACTIVE,
                  approved=True)  # fmt: skip
    csrf = login(client, settings, "a@example.com")
    resp = client.post(f"/campaigns/{c.id}/status", data={"csrf": csrf, "status": "paused"},
                       follow_redirects=False)  # fmt: skip
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/campaigns?changed={c.id}&to=paused"
    assert _status(catalog, c) is CampaignStatus.PAUSED
    shown = client.get(resp.headers["location"]).text
    assert "Paused “Summer tour”." in shown and f'id="active-{c.id}"' in shown

    back = client.post(f"/campaigns/{c.id}/status", follow_redirects=False,
                       data={"csrf": csrf, "status": "active", "return_to": "campaign"})  # fmt: skip
    assert back.headers["location"] == f"/campaigns/{c.id}?changed={c.id}&to=active"
    assert _status(catalog, c) is CampaignStatus.ACTIVE
    fresh = client.get(back.headers["location"]).text
    assert "Activated “Summer tour”." in fresh
    # a campaign without a single event yet still has its page, charts and all
    assert 'id="kpi-impressions">0<' in fresh and 'id="no-ab"' in fresh
    assert set(chart_spec(fresh, "chart-delivery")["datasets"][0]["data"]) == {0}


def test_status_change_needs_the_csrf_token(
    client: TestClient, world: World, catalog: SqlCatalog, settings: Settings
) -> None:
    c = _campaign(catalog, world.adv_a.advertiser_id or 0, "Summer tour", CampaignStatus.ACTIVE,
                  approved=True)  # fmt: skip
    login(client, settings, "a@example.com")
    for token in ({}, {"csrf": "forged"}):
        resp = client.post(f"/campaigns/{c.id}/status", data={"status": "paused", **token})
        assert resp.status_code == 403 and "Form expired" in resp.text
    assert _status(catalog, c) is CampaignStatus.ACTIVE


def test_a_refused_change_shows_the_reason(
    client: TestClient, world: World, catalog: SqlCatalog, settings: Settings
) -> None:
    a = world.adv_a.advertiser_id or 0
    draft = _campaign(catalog, a, "Unreviewed", CampaignStatus.DRAFT, approved=False)
    done = _campaign(catalog, a, "Old tour", CampaignStatus.COMPLETED, approved=True)
    csrf = login(client, settings, "a@example.com")
    resp = client.post(f"/campaigns/{draft.id}/status", data={"csrf": csrf, "status": "active"})
    assert resp.status_code == 422
    alert = resp.text[resp.text.index('id="error-summary"') :]
    assert "Could not activate “Unreviewed”: a campaign needs at least one approved creative" in (
        alert
    )
    assert _status(catalog, draft) is CampaignStatus.DRAFT

    resp = client.post(f"/campaigns/{done.id}/status", data={"csrf": csrf, "status": "active",
                                                             "return_to": "campaign"})  # fmt: skip
    assert resp.status_code == 409
    assert 'id="error-summary"' in resp.text and "<h1>Old tour</h1>" in resp.text
    assert "illegal transition completed -&gt; active" in resp.text
    odd = client.post(f"/campaigns/{done.id}/status", data={"csrf": csrf, "status": "deleted"})
    assert odd.status_code == 422 and "choose active or paused" in odd.text
    assert _status(catalog, done) is CampaignStatus.COMPLETED


def test_status_of_another_tenants_campaign_is_not_found(
    client: TestClient, world: World, catalog: SqlCatalog, settings: Settings
) -> None:
    c = _campaign(catalog, world.adv_a.advertiser_id or 0, "Summer tour", CampaignStatus.ACTIVE,
                  approved=True)  # fmt: skip
    csrf = login(client, settings, "b@example.com")
    resp = client.post(f"/campaigns/{c.id}/status", data={"csrf": csrf, "status": "paused"})
    assert resp.status_code == 404 and "does not exist" in resp.text
    csrf = login(client, settings, "p@example.com")
    resp = client.post(f"/campaigns/{c.id}/status", data={"csrf": csrf, "status": "paused"})
    assert resp.status_code == 403
    assert _status(catalog, c) is CampaignStatus.ACTIVE


def test_a_campaign_that_has_not_started_has_a_page(
    client: TestClient, world: World, catalog: SqlCatalog, settings: Settings
) -> None:
    c = _campaign(catalog, world.adv_a.advertiser_id or 0, "Next month", CampaignStatus.DRAFT,
                  approved=True)  # fmt: skip
    start = datetime.now(UTC) + timedelta(days=30)
    catalog.campaigns.update(replace(c, start=start, end=start + timedelta(days=10)))
    login(client, settings, "a@example.com")
    resp = client.get(f"/campaigns/{c.id}")
    assert resp.status_code == 200
    body = client.get(f"/campaigns/{c.id}?format=json").json()
    assert body["period"]["start"] == start.date().isoformat()
    assert [p["impressions"] for p in body["series"]] == [0]
    assert "CTR over the period: no data." in resp.text
