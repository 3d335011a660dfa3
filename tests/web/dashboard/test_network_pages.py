"""The operator's pages on the real app and its DuckDB events: the network overview (fill
rate, revenue and payouts, invalid rate, top campaigns and sites, the daily chart) and the
invalid-traffic report (by reason, by site, refused tracking links); admins only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backbeat.analytics.diagnosis.wording import pct
from backbeat.analytics.stats import wilson_interval
from backbeat.config import Settings
from tests.web.conftest import World
from tests.web.dashboard.pages import element, login
from tests.web.dashboard.report_world import Env, chart_spec, open_env, row, sign_in, table


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, catalog_template: Path) -> Iterator[Env]:
    yield from open_env(tmp_path_factory.mktemp("network"), catalog_template)


def ci_range(successes: int, trials: int) -> str:
    ci = wilson_interval(successes, trials)
    return f"{pct(ci.low).rstrip('%')}–{pct(ci.high)}"


def get(env: Env, path: str, status: int = 200) -> str:
    resp = env.client.get(path)
    assert resp.status_code == status, resp.text[:2000]
    return resp.text


def as_json(env: Env, path: str) -> Any:
    sep = "&" if "?" in path else "?"
    resp = env.client.get(f"{path}{sep}format=json")
    assert resp.status_code == 200, resp.text[:2000]
    return resp.json()


def kpi(html: str, name: str) -> str:
    m = re.search(rf'id="kpi-{name}">(.*?)</div>', html, re.S)
    assert m, name
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m.group(1))).strip()


def test_network_overview_with_real_numbers(env: Env) -> None:
    sign_in(env, env.tenants.admin)
    html = get(env, "/network")
    # 14,200 valid impressions at $4 CPM; both publishers keep 70%
    assert kpi(html, "revenue") == "$56.80"
    assert kpi(html, "payouts") == "$39.76"
    assert "Network keeps $17.04" in html
    assert kpi(html, "impressions") == "14,200" and kpi(html, "clicks") == "163"
    assert kpi(html, "fill") == f"66.67%, 95% range 95% CI {ci_range(224, 336)}"
    # 30 bots of 20,393 tracked events (impressions, viewables, clicks, bots)
    assert kpi(html, "invalid") == f"0.15%, 95% range 95% CI {ci_range(30, 20_393)}"
    assert "of 336 ad requests answered with an ad" in html

    campaigns = [r[0] for r in table(html, "top-campaigns")[1:]]
    assert campaigns == ["Night Drive single", "Lights awareness", "Granite launch"]
    assert row(html, "top-campaigns", "Granite launch")[1:] == [
        "Granite Records",
        "1,000",
        f"0.50%, 95% range 95% CI {ci_range(5, 1_000)}",
        "$4.00",
    ]
    assert f'href="/campaigns/{env.net.rival}"' in html
    assert [r[0] for r in table(html, "top-sites")[1:]] == [
        "Pop Lyrics poplyrics.example.com",
        "Rock Radio rockradio.example.com",
    ]
    assert row(html, "top-sites", "Pop Lyrics")[4] == "$48.80"

    spec = chart_spec(html, "chart-network")
    assert len(spec["labels"]) == 30 and spec["y"]["unit"] == "money"
    revenue, payouts = ({x["label"]: x["data"] for x in spec["datasets"]}[k]
                        for k in ("Revenue (billed)", "Publisher payouts"))  # fmt: skip
    assert sum(Decimal(x) for x in revenue) == Decimal("56.80")
    assert abs(sum(Decimal(x) for x in payouts) - Decimal("39.76")) <= Decimal("0.00003")
    assert element(html, "chart-network")["aria-describedby"] == "chart-network-summary"
    assert len(table(html, "days-table")) == 31


def test_network_json_is_the_same_data(env: Env) -> None:
    sign_in(env, env.tenants.admin)
    body = as_json(env, "/network")
    assert (body["revenue"], body["publisher_payout"], body["margin"]) == (
        "56.800000",
        "39.760000",
        "17.040000",
    )
    assert (body["decisions"], body["filled"]) == (336, 224)
    assert [(c["name"], c["spend"]) for c in body["top_campaigns"]] == [
        ("Night Drive single", "48.000000"),
        ("Lights awareness", "4.800000"),
        ("Granite launch", "4.000000"),
    ]
    assert body["top_sites"][0]["billed"] == "48.800000"
    assert sum(d["impressions"] for d in body["daily"]) == 14_200
    week = as_json(env, "/network?period=14")
    assert week["period"]["start"] == "2026-03-07" and len(week["daily"]) == 14


def test_invalid_traffic_by_reason_site_and_refused_links(env: Env) -> None:
    sign_in(env, env.tenants.admin)
    before = as_json(env, "/network/ivt")["refused_links"]
    forged = env.client.get("/c/not-a-signed-link", follow_redirects=False)
    assert forged.status_code >= 400
    html = get(env, "/network/ivt")
    body = as_json(env, "/network/ivt")
    after = body["refused_links"]
    changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert list(changed.values()) == [1]
    (reason,) = changed
    assert row(html, "refused-table", reason)[2] == str(after[reason])

    assert body["by_reason"] == [{"reason": "bot", "events": 30}]
    assert row(html, "reasons-table", "bot")[2:] == ["30", "100.00%"]
    rock = row(html, "ivt-sites-table", "Rock Radio")
    # 30 bots of 2,036 tracked events on Rock Radio
    assert rock[1:] == ["30", f"1.47%, 95% range 95% CI {ci_range(30, 2_036)}", "bot 30"]
    assert kpi(html, "invalid-events") == "30"
    for ident, labels in (("chart-reasons", ["bot"]), ("chart-ivt-sites", ["Rock Radio"])):
        spec = chart_spec(html, ident)
        assert spec["labels"] == labels and spec["datasets"][0]["data"] == [30]
        assert element(html, ident)["role"] == "img"


def test_only_admins_see_the_network(env: Env) -> None:
    for who in (env.tenants.adv_a, env.tenants.pub_p):
        sign_in(env, who)
        for path in ("/network", "/network/ivt"):
            assert "Not for your account" in get(env, path, 403)
    sign_in(env, env.tenants.admin)
    bad = get(env, "/network/ivt?period=custom&start=yesterday&end=2026-03-20", 422)
    assert element(bad, "start")["aria-invalid"] == "true"


def test_an_empty_network_has_every_page(
    client: TestClient, world: World, settings: Settings
) -> None:
    login(client, settings, "admin@example.com")
    for path in ("/network", "/network/ivt", "/publisher/earnings", "/campaigns"):
        assert client.get(path).status_code == 200, path
    body = client.get("/network?format=json").json()
    assert (body["impressions"], body["revenue"], body["top_campaigns"]) == (0, "0.000000", [])
    assert client.get("/network/ivt?format=json").json()["by_reason"] == []
    login(client, settings, "p@example.com")
    html = client.get("/publisher/earnings").text
    assert "No sites yet." in html and 'id="chart-earnings"' in html
    login(client, settings, "a@example.com")
    assert 'id="no-campaigns"' in client.get("/campaigns").text
