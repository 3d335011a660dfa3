"""The report service on a real SQLite catalog and real DuckDB events: campaign overview and
report, the A/B panel, the network, publisher earnings, invalid traffic and the planner."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

import pytest

from backbeat.analytics.benchmarks import Position
from backbeat.analytics.campaign_report import ab_panel, end_of_day
from backbeat.analytics.diagnosis import FindingKind
from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.inputs import CreativeFacts
from backbeat.analytics.planner import ArtistStage, plan
from backbeat.analytics.service import PlanRequest, ReportService, share_of
from backbeat.analytics.stats import prob_b_beats_a, wilson_interval
from backbeat.domain.campaign import Objective, Pricing
from backbeat.domain.events import DropReason
from backbeat.domain.taxonomy import AdFormat
from backbeat.errors import NotFound, ValidationFailed
from backbeat.store.catalog import open_catalog, upgrade
from backbeat.store.events.duckdb_store import DuckDBEventStore
from tests.analytics.campaign_world import (
    NOW,
    PRICE,
    World,
    add_campaign,
    build_world,
    decisions,
    deliver,
)

HOUR = timedelta(hours=1)


@dataclass
class Network:
    world: World
    store: DuckDBEventStore
    service: ReportService
    rival_campaign: int


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """One populated network, read by every test here (the service only reads).

    Nova Lux's campaign: Cover 6,000 impressions / 60 clicks on Pop Lyrics Top (US, mobile);
    Lyric card 6,000 / 60 on Rock Radio (DE, desktop); Tour poster 6,000 / 18 on Pop Lyrics
    Bottom; bots and prefetches on Metal Blog. Granite Records' campaign: 2,000 / 10 on Pop
    Lyrics Top. Decisions: an hour apart over the last 14 days on Pop Lyrics Top (two thirds
    filled), a few unfilled ones on Rock Radio."""
    path = tmp_path_factory.mktemp("service")
    upgrade(f"sqlite:///{path / 'catalog.db'}")
    catalog = open_catalog(f"sqlite:///{path / 'catalog.db'}")
    store = DuckDBEventStore(path / "events.duckdb")
    w = build_world(catalog)
    c = w.campaign
    deliver(
        store,
        c,
        w.creatives["Cover"],
        w.pop,
        w.pop_top,
        impressions=6_000,
        clicks=60,
        viewable=4_500,
    )
    deliver(
        store,
        c,
        w.creatives["Lyric card"],
        w.rock,
        w.rock_side,
        impressions=6_000,
        clicks=60,
        viewable=4_500,
        country="DE",
        device="desktop",
    )
    deliver(
        store,
        c,
        w.creatives["Tour poster"],
        w.pop,
        w.pop_bottom,
        impressions=6_000,
        clicks=18,
        viewable=4_500,
    )
    deliver(
        store,
        c,
        w.creatives["Cover"],
        w.metal,
        w.metal_banner,
        impressions=0,
        invalid={DropReason.BOT: 50, DropReason.PREFETCH: 20},
    )
    rival, made = add_campaign(catalog, w.rival, "Granite launch", ["Granite ad"])
    deliver(store, rival, made["Granite ad"], w.pop, w.pop_top, impressions=2_000, clicks=10)
    decisions(
        store,
        w.pop_top,
        w.pop,
        filled=224,
        unfilled=112,
        campaign=c,
        start=NOW - timedelta(days=14),
        spacing=HOUR,
    )
    decisions(store, w.rock_side, w.rock, filled=0, unfilled=6, start=NOW - timedelta(days=2))
    service = ReportService(catalog, store, clock=lambda: NOW)
    yield Network(w, store, service, rival.id or 0)
    store.close()
    catalog.close()


def ident(obj: object) -> int:
    value = getattr(obj, "id", None)
    assert isinstance(value, int)
    return value


def test_overview_lines_are_scoped_and_exact(net: Network) -> None:
    w, svc = net.world, net.service
    own = svc.campaign_overview(ident(w.advertiser))
    assert [ln.campaign.name for ln in own.lines] == ["Night Drive single"]
    line = own.lines[0]
    assert (line.impressions, line.clicks, line.reach) == (18_000, 138, 18_000)
    assert line.spend_micros == 18_000 * PRICE
    assert line.budget_used == Fraction(18_000 * PRICE, 1_000_000_000)
    assert line.ctr.value == Fraction(138, 18_000)
    assert line.ctr.interval == wilson_interval(138, 18_000)
    assert line.verdict is not None and line.verdict.outcome is Position.WITHIN
    # By default: from the earliest campaign's start to today, in the service's zone (UTC).
    assert (own.period.start, own.period.end) == (date(2026, 3, 6), date(2026, 3, 20))
    everyone = svc.campaign_overview(None)
    assert [ln.campaign.name for ln in everyone.lines] == ["Night Drive single", "Granite launch"]
    rival = everyone.lines[1]
    assert (rival.impressions, rival.clicks) == (2_000, 10)
    assert rival.verdict is not None and rival.verdict.outcome is Position.NOT_ENOUGH_DATA
    quiet = svc.campaign_overview(ident(w.advertiser), date(2025, 1, 1), date(2025, 1, 31))
    assert (quiet.lines[0].impressions, quiet.lines[0].clicks) == (0, 0)
    assert quiet.lines[0].ctr.value is None


def test_overview_rejects_inverted_and_overlong_periods(net: Network) -> None:
    svc = net.service
    with pytest.raises(ValidationFailed) as inverted:
        svc.campaign_overview(None, date(2026, 3, 10), date(2026, 3, 1))
    assert inverted.value.fields[0].field == "end"
    with pytest.raises(ValidationFailed) as long:
        svc.campaign_overview(None, date(2019, 1, 1), date(2026, 3, 1))
    assert long.value.fields[0].field == "end"
    with pytest.raises(ValidationFailed) as zone:
        svc.campaign_overview(None, timezone="Mars/Olympus")
    assert zone.value.fields[0].field == "timezone"


def test_campaign_report_series_against_the_pacing_plan(net: Network) -> None:
    w, svc = net.world, net.service
    c = w.campaign
    report = svc.campaign_report(ident(c), ident(w.advertiser))
    first = c.start.astimezone(c.tz).date()
    today = NOW.astimezone(c.tz).date()
    assert (report.period.start, report.period.end) == (first, today)
    assert [p.day for p in report.series] == [
        first + timedelta(days=i) for i in range((today - first).days + 1)
    ]
    assert sum(p.impressions for p in report.series) == 18_000
    assert sum(p.clicks for p in report.series) == 138
    assert report.series[-1].cumulative_spend_micros == 18_000 * PRICE == report.facts.spend_micros
    plans = [p.planned_spend_micros for p in report.series]
    assert plans == sorted(plans) and plans[0] > 0
    flight = c.end - c.start
    elapsed = end_of_day(today, c.tz) - c.start
    tick = timedelta(microseconds=1)
    assert plans[-1] == int(c.budget_total_micros * Fraction(elapsed // tick, flight // tick))
    # A later start: cumulative spend still counts from the flight's start.
    later = svc.campaign_report(ident(c), None, today - timedelta(days=2), today)
    assert [p.day for p in later.series] == [today - timedelta(days=d) for d in (2, 1, 0)]
    before = sum(p.spend_micros for p in report.series if p.day < today - timedelta(days=2))
    assert later.series[0].cumulative_spend_micros == before + later.series[0].spend_micros
    assert later.series[-1].cumulative_spend_micros == report.series[-1].cumulative_spend_micros


def test_campaign_report_breakdowns_label_what_ran(net: Network) -> None:
    w = net.world
    report = net.service.campaign_report(ident(w.campaign), None)
    by = {b.dimension: {ln.label: ln for ln in b.lines} for b in report.breakdowns}
    assert set(by[Dimension.CREATIVE]) == {"Cover", "Lyric card", "Tour poster"}
    assert by[Dimension.CREATIVE]["Tour poster"].clicks == 18
    assert set(by[Dimension.SITE]) == {"Pop Lyrics", "Rock Radio"}
    assert by[Dimension.SITE]["Pop Lyrics"].impressions == 12_000
    genre = by[Dimension.GENRE_MATCH]
    assert genre["Sites matching your genres"].impressions == 12_000
    assert genre["Other sites"].impressions == 6_000
    assert {k: v.impressions for k, v in by[Dimension.COUNTRY].items()} == {
        "US": 12_000,
        "DE": 6_000,
    }
    assert by[Dimension.DEVICE]["desktop"].clicks == 60
    assert by[Dimension.SITE]["Pop Lyrics"].spend_micros == 12_000 * PRICE
    assert by[Dimension.SITE]["Pop Lyrics"].ctr.value == Fraction(78, 12_000)


def test_campaign_report_findings_panel_scorecard_and_trends(net: Network) -> None:
    w = net.world
    report = net.service.campaign_report(ident(w.campaign), ident(w.advertiser))
    weak = [f for f in report.findings if f.kind is FindingKind.WEAK_CREATIVE]
    assert [f.subjects for f in weak] == [("Tour poster",)]
    ab = report.ab
    assert ab.best is not None and ab.best.name == "Cover" and ab.best.p_value is None
    poster = next(ln for ln in ab.lines if ln.name == "Tour poster")
    assert poster.p_value is not None and poster.p_value < 0.001
    assert poster.prob_beats_best == prob_b_beats_a(60, 6_000, 18, 6_000)
    assert poster.prob_beats_best < 0.001
    assert poster.expected_loss is not None and 0.006 < poster.expected_loss < 0.008
    assert poster.more_impressions_needed == 0  # the gap is already plain
    card = next(ln for ln in ab.lines if ln.name == "Lyric card")
    assert card.prob_beats_best == pytest.approx(0.5, abs=0.01)
    assert card.more_impressions_needed is None  # equal CTRs: no gap to detect
    assert report.scorecard.objective is Objective.TRAFFIC
    assert report.scorecard.line("CTR").value == pytest.approx(138 / 18_000)
    assert report.trends.week_over_week is not None
    assert report.trends.week_over_week.after.impressions > 0
    assert report.trends.direction.weeks_used >= 1


def test_foreign_and_missing_campaigns_are_not_found(net: Network) -> None:
    w, svc = net.world, net.service
    with pytest.raises(NotFound):
        svc.campaign_report(ident(w.campaign), ident(w.rival))
    with pytest.raises(NotFound):
        svc.diagnosis(net.rival_campaign, ident(w.advertiser))
    with pytest.raises(NotFound):
        svc.campaign_report(999_999, None)
    assert svc.diagnosis(net.rival_campaign, ident(w.rival)).facts.impressions == 2_000


def test_ab_panel_picks_the_surest_best_and_sizes_the_test() -> None:
    lucky = CreativeFacts(1, "Lucky", 100, 1)  # 1%, but on 100 impressions
    a = CreativeFacts(2, "A", 100_000, 350)  # 0.35%
    b = CreativeFacts(3, "B", 100_000, 420)  # 0.42%: +20%
    panel = ab_panel([lucky, a, b, CreativeFacts(4, "Unseen", 0, 0)])
    assert panel.best is not None and panel.best.name == "B"
    assert [ln.name for ln in panel.lines] == ["A", "B", "Lucky"]
    line_a = panel.lines[0]
    # reference.md: 0.35% vs +20% at alpha 0.05 and power 0.8 needs 122,861 per arm.
    assert line_a.more_impressions_needed == 122_861 - 100_000
    assert line_a.prob_beats_best is not None and line_a.prob_beats_best < 0.01
    assert ab_panel([]).best is None


def test_network_overview_fill_revenue_payouts_invalid(net: Network) -> None:
    n = net.service.network_overview(date(2026, 3, 1), date(2026, 3, 20))
    assert (n.decisions.successes, n.decisions.trials) == (224, 342)
    assert (n.impressions, n.clicks) == (20_000, 148)
    assert n.revenue_micros == 20_000 * PRICE
    # Pop Lyrics (Lyrics Hub, 70%) sold 14,000 impressions; Rock Radio (Indie Radio, 60%) 6,000.
    assert n.publisher_payout_micros == 14_000 * PRICE * 70 // 100 + 6_000 * PRICE * 60 // 100
    assert n.margin_micros == n.revenue_micros - n.publisher_payout_micros
    tracked = 20_000 + 148 + 13_500 + 70
    assert (n.invalid.successes, n.invalid.trials) == (70, tracked)


def test_publisher_earnings_at_the_revenue_share(net: Network) -> None:
    w, svc = net.world, net.service
    hub = svc.publisher_earnings(ident(w.publisher), date(2026, 3, 1), date(2026, 3, 20))
    assert hub.revenue_share_pct == 70
    (pop,) = hub.sites
    assert (pop.name, pop.impressions, pop.billed_micros) == ("Pop Lyrics", 14_000, 14_000 * PRICE)
    assert pop.earnings_micros == 14_000 * PRICE * 7 // 10
    assert pop.ecpm == Fraction(pop.earnings_micros * 1000, 14_000)  # $2.80 of a $4.00 CPM
    assert (hub.fill.successes, hub.fill.trials) == (224, 336)
    radio = svc.publisher_earnings(ident(w.radio), date(2026, 3, 1), date(2026, 3, 20))
    sites = {s.name: s for s in radio.sites}
    assert set(sites) == {"Rock Radio", "Metal Blog"}
    assert sites["Metal Blog"].impressions == 0 and sites["Metal Blog"].ecpm is None
    assert (sites["Metal Blog"].invalid.successes, sites["Metal Blog"].invalid.trials) == (70, 70)
    assert (radio.fill.successes, radio.fill.trials) == (0, 6)
    with pytest.raises(NotFound):
        svc.publisher_earnings(999_999)


def test_ivt_report_by_reason_and_site(net: Network) -> None:
    r = net.service.ivt_report(date(2026, 3, 1), date(2026, 3, 20))
    assert r.by_reason == (("bot", 50), ("prefetch", 20))
    assert [(s.name, s.invalid.successes, s.reasons) for s in r.sites] == [
        ("Metal Blog", 70, {"bot": 50, "prefetch": 20})]  # fmt: skip
    assert r.invalid.successes == 70


def test_inventory_and_plan_from_measured_traffic(net: Network) -> None:
    w, svc = net.world, net.service
    inv = svc.inventory([ident(w.pop)])
    assert (inv.placements, inv.days, inv.decisions) == (2, 14, 336)
    assert (inv.daily_impressions, inv.daily_visitors) == (24, 10)
    request = PlanRequest(500_000_000, Pricing.CPM, 2_500_000, AdFormat.DISPLAY, 30,
                          site_ids=(ident(w.pop),), stage=ArtistStage.NEW)  # fmt: skip
    outcome = svc.plan(request)
    assert outcome.inventory == inv
    assert outcome.forecast == plan(500_000_000, Pricing.CPM, 2_500_000, AdFormat.DISPLAY, 30,
                                    None, 24, 10)  # fmt: skip
    assert outcome.forecast.impressions.low == 24 * 30  # the sites limit delivery
    assert outcome.split_micros is not None and sum(outcome.split_micros.values()) == 500_000_000
    # Genres choose the sites; figures given are used as they are.
    assert svc.inventory(genres=["rock"]).site_ids == (ident(w.rock),)
    supplied = svc.plan(PlanRequest(500_000_000, Pricing.CPM, 2_500_000, AdFormat.DISPLAY, 30,
                                    available_daily_impressions=10_000,
                                    unique_visitors_per_day=2_000))  # fmt: skip
    assert supplied.inventory is None and supplied.forecast.impressions.low == 200_000


def test_plan_without_traffic_or_with_unknown_sites_names_the_field(net: Network) -> None:
    w, svc = net.world, net.service
    with pytest.raises(ValidationFailed) as quiet:
        svc.plan(PlanRequest(500_000_000, Pricing.CPM, 2_500_000, AdFormat.DISPLAY, 30,
                             site_ids=(ident(w.metal),)))  # fmt: skip
    assert quiet.value.fields[0].field == "available_daily_impressions"
    with pytest.raises(ValidationFailed) as unknown:
        svc.inventory([ident(w.pop), 424_242])
    assert unknown.value.fields[0].field == "site_ids[1]"


def test_share_of_rounds_half_even_to_the_micro() -> None:
    assert share_of(1_000_000, 70) == 700_000
    assert share_of(5, 50) == 2  # 2.5 -> 2
    assert share_of(7, 50) == 4  # 3.5 -> 4
    assert share_of(3, 33) == 1  # 0.99 -> 1
    assert share_of(0, 70) == 0


def test_service_rejects_an_unknown_zone() -> None:
    store = DuckDBEventStore(":memory:")
    try:
        with pytest.raises(ValidationFailed):
            ReportService(None, store, timezone="Nowhere/City")  # type: ignore[arg-type]
    finally:
        store.close()


def test_a_campaign_that_has_not_started_reports_zeros(net: Network) -> None:
    w = net.world
    later, made = add_campaign(w.catalog, w.advertiser, "Next single", ["Teaser"],
                            start=NOW + timedelta(days=3), end=NOW + timedelta(days=33))  # fmt: skip
    try:
        report = net.service.campaign_report(ident(later), ident(w.advertiser))
        start = later.start.astimezone(later.tz).date()
        assert (report.period.start, report.period.end) == (start, start)
        assert [(p.impressions, p.cumulative_spend_micros) for p in report.series] == [(0, 0)]
        assert report.facts.impressions == 0 and report.ab.best is None
        assert [f.kind for f in report.findings] == [FindingKind.INSUFFICIENT_DATA]
    finally:  # the module's network is shared
        w.catalog.creatives.delete(ident(made["Teaser"]))
        w.catalog.campaigns.delete(ident(later))
