"""The planted problems, seen in the event store after a short simulation through the real app.

One simulation of two days serves every planted-truth test. It uses the demo's own seeds,
on the sites where the problems live, with these changes:

- Pulse Circuit and Chart Buzz run at three times their traffic, so two days hold enough
  clicks to test;
- budgets are raised to match;
- the festival's targeting is cleared after a quarter of the period rather than halfway,
  so its off-genre delivery lasts long enough to measure in two days;
- buying is five times as likely.

Counts are read back with SQL from the DuckDB event store that the real tracking code wrote.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from backbeat.config import load_settings
from backbeat.sim.network import NETWORK, DemoNetwork
from backbeat.sim.runner import SimOptions, SimReport, period, simulate

UNTIL = datetime(2026, 3, 12, 18, tzinfo=UTC)
TRAFFIC = {"pulse": 3.0, "chart": 3.0, "bars": 1.0, "anvil": 1.0, "gravel": 1.0, "static": 0.5}
CAMPAIGNS = {"night-drive", "early-bird", "sampler", "undertow", "sadie-tour", "gravel-hearts"}
BUDGETS = 4  # more traffic, more budget: pacing should not be what limits delivery here
ORDERS = 5  # five times the buying, so two days hold enough orders to check attribution


def subnetwork(
    traffic: dict[str, float],
    campaigns: set[str],
    budgets: float,
    widen: float = 0.25,
    orders: float = 1.0,
) -> DemoNetwork:
    sites = tuple(
        replace(s, daily_pageviews=round(s.daily_pageviews * traffic[s.key]))
        for s in NETWORK.sites
        if s.key in traffic
    )
    camps = tuple(
        replace(
            c,
            budget=round(c.budget * budgets),
            widen_after=c.widen_after and widen,
            conversion_rate=min(0.5, c.conversion_rate * orders),
        )
        for c in NETWORK.campaigns
        if c.key in campaigns
    )
    return DemoNetwork(
        tuple(p for p in NETWORK.publishers if any(s.publisher == p.key for s in sites)),
        sites,
        tuple(a for a in NETWORK.advertisers if any(c.advertiser == a.key for c in camps)),
        camps,
    )


class Data:
    def __init__(self, root: Path, report: SimReport) -> None:
        self.root = root
        self.report = report
        self.db = duckdb.connect(str(root / "events.duckdb"), read_only=True)
        self.catalog = sqlite3.connect(root / "catalog.db")

    def one(self, sql: str, *params: Any) -> tuple[Any, ...]:
        row = self.db.execute(sql, list(params)).fetchone()
        assert row is not None
        return row

    def campaign(self, key: str) -> int:
        return self.report.seeded.campaigns[key].id

    def imps_clicks(self, where: str, *params: Any) -> tuple[int, int]:
        imps, clicks = self.one(
            "SELECT count(*) FILTER (type = 'impression'), count(*) FILTER (type = 'click')"
            f" FROM events WHERE valid AND {where}",
            *params,
        )
        return int(imps), int(clicks)


def z_lower(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Two-proportion z (pooled) for 'CTR of a is lower than CTR of b': positive when lower."""
    (n1, c1), (n2, c2) = a, b
    pooled = (c1 + c2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return (c2 / n2 - c1 / n1) / se


def ctr(counts: tuple[int, int]) -> float:
    return counts[1] / counts[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    root = tmp_path_factory.mktemp("demo")
    settings = load_settings(data_dir=root, secret_key="d" * 48)
    network = subnetwork(TRAFFIC, CAMPAIGNS, BUDGETS, orders=ORDERS)
    report = simulate(
        settings, SimOptions(days=2, seed=5, until=UNTIL, users=False, network=network)
    )
    d = Data(root, report)
    yield d
    d.db.close()
    d.catalog.close()


def test_the_simulation_went_through_the_real_pipeline(data: Data) -> None:
    r = data.report
    assert r.requests["page views"] > 4000
    assert r.count("impression", True) > 0.9 * r.requests["ads served"] - r.count(
        "impression", False
    )
    # Every ad served is one decision event; every beacon sent became an event or a refusal.
    assert r.count("decision") >= r.requests["ads served"]
    assert r.requests.get("status 4xx", 0) == 0 and r.requests.get("status 5xx", 0) == 0
    assert r.count("impression") == r.requests["impression beacons"]
    assert r.count("click") == r.requests["clicks"]
    lo, hi = data.one("SELECT min(ts), max(ts) FROM events")
    start, end = period(SimOptions(days=2, until=UNTIL))
    assert start.replace(tzinfo=None) <= lo and hi < end.replace(tzinfo=None)


def test_weak_creative_gets_clearly_fewer_clicks(data: Data) -> None:
    nd = data.report.seeded.campaigns["night-drive"]
    lyric = next(c for c in nd.creatives if c.seed.key == "nd-lyric")
    weak = data.imps_clicks("campaign_id = ? AND creative_id = ?", nd.id, lyric.id)
    rest = data.imps_clicks("campaign_id = ? AND creative_id <> ?", nd.id, lyric.id)
    assert min(weak[0], rest[0]) >= 1000
    assert ctr(weak) < 0.3 * ctr(rest)
    assert z_lower(weak, rest) > 3.0  # one-sided p < 0.0015


def test_festival_clicks_less_off_genre(data: Data) -> None:
    eb = data.campaign("early-bird")
    pulse = data.report.seeded.sites["pulse"].id  # the one electronic site
    on_genre = data.imps_clicks("campaign_id = ? AND site_id = ?", eb, pulse)
    off_genre = data.imps_clicks("campaign_id = ? AND site_id <> ?", eb, pulse)
    assert min(on_genre[0], off_genre[0]) >= 500
    assert ctr(off_genre) < 0.5 * ctr(on_genre)
    assert z_lower(off_genre, on_genre) > 3.0  # one-sided p < 0.0015
    # What the events say: genre-matched while targeted (the electronic site only), then,
    # once the targeting was cleared, unmatched on every site, with fewer clicks.
    (matched_sites,) = data.one(
        "SELECT list(DISTINCT site_id) FROM events WHERE campaign_id = ? AND genre_match", eb
    )
    assert matched_sites == [pulse]
    (spread,) = data.one(
        "SELECT count(DISTINCT site_id) FROM events WHERE campaign_id = ? AND NOT genre_match", eb
    )
    assert spread >= 4
    (last_matched, first_unmatched) = data.one(
        "SELECT max(ts) FILTER (genre_match), min(ts) FILTER (NOT genre_match) FROM events"
        " WHERE campaign_id = ? AND type = 'decision'", eb,
    )
    assert last_matched < first_unmatched  # one switch, at the widening


def test_awareness_sampler_reaches_widely_with_a_low_ctr(data: Data) -> None:
    rows = data.db.execute(
        "SELECT campaign_id, count(*), count(DISTINCT visitor) FILTER (visitor <> 'anon')"
        " FROM events WHERE valid AND type = 'impression' GROUP BY 1 HAVING count(*) >= 500"
    ).fetchall()
    ratio = {int(c): reach / imps for c, imps, reach in rows}
    sampler = data.campaign("sampler")
    assert ratio[sampler] >= 0.5
    assert ratio[sampler] == max(ratio.values())
    counts = data.imps_clicks("campaign_id = ?", sampler)
    assert counts[0] >= 1000 and ctr(counts) < 0.005  # under the 0.5-1% display benchmark


def test_forum_traffic_is_heavily_invalid(data: Data) -> None:
    rows = data.db.execute(
        "SELECT site_id, count(*) FILTER (NOT valid) / count(*),"
        " count(*) FILTER (drop_reason = 'bot') / greatest(count(*) FILTER (NOT valid), 1)"
        " FROM events WHERE type = 'impression' GROUP BY 1"
    ).fetchall()
    share = {int(s): (float(inv), float(bots)) for s, inv, bots in rows}
    anvil = data.report.seeded.sites["anvil"].id
    assert share[anvil][0] > 0.2 and share[anvil][1] > 0.9
    others = [inv for s, (inv, _) in share.items() if s != anvil]
    assert others and max(others) < share[anvil][0] / 2


def test_ireland_tour_underdelivers(data: Data) -> None:
    tour = data.report.seeded.campaigns["sadie-tour"]
    (budget,) = data.catalog.execute(
        "SELECT budget_total_micros FROM campaigns WHERE id = ?", [tour.id]
    ).fetchone()
    (spend,) = data.one(
        "SELECT coalesce(sum(price_micros), 0) FROM events WHERE valid AND campaign_id = ?",
        tour.id,
    )
    c = tour.campaign
    elapsed = (data.report.end - c.start) / (c.end - c.start)
    assert elapsed > 0.01
    assert spend / budget < 0.1 * elapsed
    # Its few impressions went to Irish readers only.
    (countries,) = data.one(
        "SELECT list(DISTINCT country) FROM events WHERE campaign_id = ? AND valid"
        " AND type = 'impression'", tour.id,
    )
    assert set(countries) <= {"IE"}


def test_footer_is_rarely_seen(data: Data) -> None:
    chart = data.report.seeded.sites["chart"]
    ids = {p.seed.name: p.id for p in chart.placements}

    def view_rate(pid: int) -> float:
        imps, views = data.one(
            "SELECT count(*) FILTER (type = 'impression'), count(*) FILTER (type = 'viewable')"
            " FROM events WHERE valid AND placement_id = ?", pid,
        )
        return int(views) / int(imps)

    assert view_rate(ids["Footer leaderboard"]) < 0.3 < 0.5 < view_rate(ids["Header leaderboard"])


def test_orders_are_attributed_to_clicks(data: Data) -> None:
    rows = dict(data.db.execute(
        "SELECT attribution, count(*) FROM events WHERE type = 'conversion' AND valid GROUP BY 1"
    ).fetchall())
    assert rows.get("click_through", 0) >= 1
    (tagged,) = data.one(
        "SELECT count(*) FROM events WHERE type = 'conversion' AND attribution = 'click_through'"
        " AND campaign_id = ?", data.campaign("early-bird"),
    )
    assert tagged >= 1


def _counts(root: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(root / "events.duckdb"), read_only=True) as db:
        return db.execute(
            "SELECT type, valid, drop_reason, attribution, campaign_id, creative_id, site_id,"
            " country, device, count(*), sum(price_micros) FROM events GROUP BY ALL ORDER BY ALL"
        ).fetchall()


def test_same_seed_same_counts(tmp_path: Path) -> None:
    """Same seed and end time: the same stored counts, even under another signing secret
    (which changes every visitor id and link, but none of the decisions)."""
    network = subnetwork({"pulse": 0.4, "anvil": 0.4}, CAMPAIGNS, 1)
    results = []
    for name in ("a", "b"):
        root = tmp_path / name
        settings = load_settings(data_dir=root, secret_key=name * 48)
        simulate(
            settings, SimOptions(days=1, seed=3, until=UNTIL, users=False, network=network)
        )
        results.append(_counts(root))
    assert results[0] == results[1]
    assert sum(r[9] for r in results[0]) > 500
    assert {r[0] for r in results[0]} >= {"decision", "impression", "viewable", "click"}
