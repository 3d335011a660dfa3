"""Publisher earnings on the real app and its DuckDB events: impressions, eCPM and earnings at
the revenue share, per site and per day, invalid-traffic share per site, the admin's view of
every publisher or one, and everyone else kept out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backbeat.analytics.diagnosis.wording import pct
from backbeat.analytics.stats import wilson_interval
from tests.web.dashboard.pages import element
from tests.web.dashboard.report_world import Env, chart_spec, open_env, row, sign_in, table


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, catalog_template: Path) -> Iterator[Env]:
    yield from open_env(tmp_path_factory.mktemp("earnings"), catalog_template)


def ci_range(successes: int, trials: int) -> str:
    ci = wilson_interval(successes, trials)
    return f"{pct(ci.low).rstrip('%')}–{pct(ci.high)}"


def get(env: Env, path: str, status: int = 200) -> str:
    resp = env.client.get(path)
    assert resp.status_code == status, resp.text[:2000]
    return resp.text


def kpi(html: str, name: str) -> str:
    m = re.search(rf'id="kpi-{name}">(.*?)</div>', html, re.S)
    assert m, name
    return re.sub(r"<[^>]+>", " ", m.group(1)).split()[0]


def as_json(env: Env, path: str) -> Any:
    sep = "&" if "?" in path else "?"
    resp = env.client.get(f"{path}{sep}format=json")
    assert resp.status_code == 200, resp.text[:2000]
    return resp.json()


def test_publisher_sees_own_earnings_per_site_and_day(env: Env) -> None:
    sign_in(env, env.tenants.pub_p)
    html = get(env, "/publisher/earnings")
    # Pop Lyrics: 12,200 impressions at $4 CPM = $48.80 billed; 70% share = $34.16
    assert kpi(html, "earnings") == "$34.16"
    assert kpi(html, "impressions") == "12,200"
    assert kpi(html, "ecpm") == "$2.80"
    assert kpi(html, "fill") == "66.67%"  # 224 of 336 ad requests filled
    assert "of $48.80 paid by advertisers" in html
    assert "70% of what advertisers paid" in html
    pop = row(html, "sites-table", "Pop Lyrics")
    # no invalid event among 18,357 tracked (12,200 impressions, 6,000 viewable, 157 clicks)
    assert pop == ["Pop Lyrics poplyrics.example.com", "12,200", "157", "$2.80", "$34.16",
                   f"0.00%, 95% range 95% CI {ci_range(0, 18_357)}"]  # fmt: skip
    assert len(table(html, "sites-table")) == 2  # the header and the publisher's one site
    assert "Rock Radio" not in html

    spec = chart_spec(html, "chart-earnings")
    assert len(spec["labels"]) == 30
    assert spec["labels"][0] == "2026-02-19" and spec["labels"][-1] == "2026-03-20"
    earned, shown = (d["data"] for d in spec["datasets"])
    assert sum(shown) == 12_200
    assert abs(sum(Decimal(x) for x in earned) - Decimal("34.16")) <= Decimal("0.00003")
    canvas = element(html, "chart-earnings")
    assert canvas["role"] == "img" and canvas["aria-describedby"] == "chart-earnings-summary"
    assert "$34.16 earned from 12,200 impressions" in html
    days = table(html, "days-table")
    assert len(days) == 31 and sum(int(r[1].replace(",", "")) for r in days[1:]) == 12_200


def test_earnings_json_is_the_same_data(env: Env) -> None:
    sign_in(env, env.tenants.pub_p)
    body = as_json(env, "/publisher/earnings")
    assert (body["earnings"], body["billed"], body["impressions"]) == (
        "34.160000",
        "48.800000",
        12_200,
    )
    (own,) = body["publishers"]
    assert own["publisher"]["id"] == env.tenants.pub_p.publisher_id
    assert [s["name"] for s in own["sites"]] == ["Pop Lyrics"]
    assert len(body["daily"]) == 30
    assert sum(d["impressions"] for d in body["daily"]) == 12_200


def test_invalid_share_per_site_for_the_other_publisher(env: Env) -> None:
    sign_in(env, env.tenants.pub_q)
    html = get(env, f"/publisher/earnings?publisher={env.tenants.pub_p.publisher_id}")
    assert "Pop Lyrics" not in html  # a publisher only ever sees its own sites
    rock = row(html, "sites-table", "Rock Radio")
    # 30 bot impressions of 2,036 tracked events (2,000 impressions, 6 clicks, 30 bots)
    assert rock[1:5] == ["2,000", "6", "$2.80", "$5.60"]
    assert rock[5] == f"1.47%, 95% range 95% CI {ci_range(30, 2_036)}"
    assert row(html, "sites-table", "Metal Blog")[1:5] == ["0", "0", "–", "$0.00"]


def test_admin_sees_every_publisher_or_one(env: Env) -> None:
    sign_in(env, env.tenants.admin)
    html = get(env, "/publisher/earnings")
    assert kpi(html, "earnings") == "$39.76"  # $34.16 + $5.60
    assert kpi(html, "impressions") == "14,200"
    assert row(html, "sites-table", "Rock Radio")[1] == "Indie Radio (70%)"
    assert row(html, "sites-table", "Pop Lyrics")[1] == "Lyrics Hub (70%)"
    one = get(env, f"/publisher/earnings?publisher={env.tenants.pub_q.publisher_id}")
    assert kpi(one, "earnings") == "$5.60" and "Pop Lyrics" not in one
    body = as_json(env, f"/publisher/earnings?publisher={env.tenants.pub_q.publisher_id}")
    assert [p["publisher"]["name"] for p in body["publishers"]] == ["Indie Radio"]
    assert "does not exist" in get(env, "/publisher/earnings?publisher=999", 404)


def test_period_selector(env: Env) -> None:
    sign_in(env, env.tenants.pub_p)
    week = as_json(env, "/publisher/earnings?period=7")
    assert (week["period"]["start"], week["period"]["end"]) == ("2026-03-14", "2026-03-20")
    assert len(week["daily"]) == 7 and week["impressions"] < 12_200
    html = get(env, "/publisher/earnings?period=custom&start=2026-03-20&end=2026-03-01", 422)
    assert element(html, "end")["aria-invalid"] == "true"
    assert "must not be before the start date" in html


def test_other_roles_are_kept_out(env: Env) -> None:
    sign_in(env, env.tenants.adv_a)
    assert "Not for your account" in get(env, "/publisher/earnings", 403)
    env.client.cookies.clear()
    resp = env.client.get("/publisher/earnings", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    assert env.client.get("/publisher/earnings?format=json").status_code == 401
