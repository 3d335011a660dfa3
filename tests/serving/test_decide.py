"""The decider end to end: one test per rule, budgets, caps, pacing, ranking, de-dup."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from backbeat.domain.campaign import FrequencyCap, Objective, Pacing, Pricing
from backbeat.domain.taxonomy import DeviceType
from backbeat.serving.localtime import local_day
from backbeat.serving.request import Decision, NoFill
from backbeat.serving.targeting import FILTER_NAMES
from tests.serving.factories import (
    LEADER,
    NOW,
    USD,
    Rig,
    campaign,
    creative,
    placement,
    request,
    snapshot,
    targeting,
)


def decide_one(rig: Rig, **req_kw: object) -> Decision | NoFill:
    return rig.decider.decide(request(**req_kw))


def winner(rig: Rig, **req_kw: object) -> int:
    """The campaign that fills the request (failing the test on a no-fill)."""
    d = decide_one(rig, **req_kw)
    assert isinstance(d, Decision), d
    return d.campaign_id


def only_reason(result: Decision | NoFill) -> str:
    assert isinstance(result, NoFill), result
    assert len(result.reasons) == 1, result.reasons
    ((name, count),) = result.reasons.items()
    assert count == 1
    return name


def test_fill_carries_price_and_context() -> None:
    rig = Rig(snapshot([campaign(1)]))
    d = decide_one(rig)
    assert isinstance(d, Decision)
    assert (d.id, d.campaign_id, d.creative_id, d.placement.id, d.site.id) == ("d1", 1, 10, 1, 1)
    assert d.pricing is Pricing.CPM
    assert d.price_micros == 5000  # $5 CPM -> $0.005 per impression
    assert d.expected_ecpm_micros == 5 * USD
    assert d.expected_revenue_micros == Decimal(5000)
    assert (d.genre, d.genre_match) == ("rock", False)  # untargeted: the site's genre
    assert d.spend_day == "2026-03-10"
    assert d.now == NOW and d.visitor == "visitor-1"


def test_caller_decision_id_wins_over_generated() -> None:
    rig = Rig(snapshot([campaign(1)]))
    d = decide_one(rig, decision_id="from-caller")
    assert isinstance(d, Decision) and d.id == "from-caller"


def test_request_without_now_uses_the_decider_clock() -> None:
    rig = Rig(snapshot([campaign(1)]), now=NOW + timedelta(hours=1))
    d = decide_one(rig, now=None)
    assert isinstance(d, Decision) and d.now == NOW + timedelta(hours=1)


# Request-level no-fills ----------------------------------------------------------------------


def test_unknown_placement_and_foreign_page() -> None:
    rig = Rig(snapshot([campaign(1)]))
    assert only_reason(decide_one(rig, placement_id=99)) == "unknown_placement"
    assert only_reason(decide_one(rig, page_host="evil.example.org")) == "domain_mismatch"
    assert isinstance(decide_one(rig, page_host="www.site1.example.com"), Decision)


def test_domain_check_can_be_switched_off() -> None:
    rig = Rig(snapshot([campaign(1)]), require_domain_match=False)
    assert isinstance(decide_one(rig, page_host="localhost"), Decision)


def test_empty_network_explains_itself() -> None:
    result = decide_one(Rig(snapshot([])))
    assert result == NoFill({})
    assert result.describe() == "no fill: no live campaign"


# One test per filter, in order ----------------------------------------------------------------


def test_filter_1_format_and_size() -> None:
    wrong_size = snapshot([campaign(1)], [creative(10, 1, size=LEADER)])
    assert only_reason(decide_one(Rig(wrong_size))) == "format_size"
    not_wanted = snapshot([campaign(1, targeting=targeting(sizes=frozenset({LEADER})))])
    assert only_reason(decide_one(Rig(not_wanted))) == "format_size"


def test_filter_2_flight_window() -> None:
    later = campaign(1, start=NOW + timedelta(days=1))
    assert only_reason(decide_one(Rig(snapshot([later])))) == "flight"
    rig = Rig(snapshot([campaign(1, end=NOW + timedelta(hours=1))]))
    assert isinstance(decide_one(rig), Decision)
    assert only_reason(decide_one(rig, now=NOW + timedelta(hours=1))) == "flight"


def test_flight_edges_inside_a_time_block_are_exact() -> None:
    starts = campaign(1, start=NOW + timedelta(seconds=30))
    rig = Rig(snapshot([starts]), block_s=60)
    assert only_reason(decide_one(rig, now=NOW + timedelta(seconds=29))) == "flight"
    assert isinstance(decide_one(rig, now=NOW + timedelta(seconds=30)), Decision)
    ends = campaign(1, end=NOW + timedelta(seconds=30))
    rig = Rig(snapshot([ends]), block_s=60)
    assert isinstance(decide_one(rig, now=NOW + timedelta(seconds=29)), Decision)
    assert only_reason(decide_one(rig, now=NOW + timedelta(seconds=30))) == "flight"


def test_filter_3_genre() -> None:
    jazz = campaign(1, targeting=targeting(genres=frozenset({"jazz"})))
    assert only_reason(decide_one(Rig(snapshot([jazz])))) == "genre"
    rock = campaign(1, targeting=targeting(genres=frozenset({"jazz", "rock"})))
    d = decide_one(Rig(snapshot([rock])))
    assert isinstance(d, Decision) and (d.genre, d.genre_match) == ("rock", True)


def test_filter_3_country() -> None:
    de = campaign(1, targeting=targeting(countries=frozenset({"DE"})))
    assert only_reason(decide_one(Rig(snapshot([de])))) == "country"
    assert only_reason(decide_one(Rig(snapshot([de])), country=None)) == "country"
    assert isinstance(decide_one(Rig(snapshot([de])), country="de"), Decision)


def test_filter_3_device() -> None:
    mobile = campaign(1, targeting=targeting(devices=frozenset({DeviceType.MOBILE})))
    assert only_reason(decide_one(Rig(snapshot([mobile])))) == "device"
    assert isinstance(decide_one(Rig(snapshot([mobile])), device=DeviceType.MOBILE), Decision)


def test_filter_3_daypart_uses_the_campaign_time_zone() -> None:
    # NOW is Tuesday 15:00 UTC: 11:00 in New York (EDT since March 8), 00:00 Wednesday in Tokyo.
    ny_11 = campaign(1, timezone="America/New_York", targeting=targeting(hours=frozenset({11})))
    assert isinstance(decide_one(Rig(snapshot([ny_11]))), Decision)
    ny_15 = campaign(1, timezone="America/New_York", targeting=targeting(hours=frozenset({15})))
    assert only_reason(decide_one(Rig(snapshot([ny_15])))) == "daypart"
    tokyo_tue = campaign(1, timezone="Asia/Tokyo", targeting=targeting(days=frozenset({1})))
    assert only_reason(decide_one(Rig(snapshot([tokyo_tue])))) == "daypart"
    tokyo_wed = campaign(1, timezone="Asia/Tokyo", targeting=targeting(days=frozenset({2})))
    assert isinstance(decide_one(Rig(snapshot([tokyo_wed]))), Decision)


def test_filter_3_site_include_and_exclude() -> None:
    elsewhere = campaign(1, targeting=targeting(sites_include=frozenset({2})))
    assert only_reason(decide_one(Rig(snapshot([elsewhere])))) == "site"
    banned = campaign(1, targeting=targeting(sites_exclude=frozenset({1})))
    assert only_reason(decide_one(Rig(snapshot([banned])))) == "site"
    here = campaign(1, targeting=targeting(sites_include=frozenset({1, 2})))
    assert isinstance(decide_one(Rig(snapshot([here]))), Decision)


def test_filter_3_retargeting_audience() -> None:
    retarget = campaign(
        1, objective=Objective.RETARGETING, targeting=targeting(audiences=frozenset({5, 6}))
    )
    rig = Rig(snapshot([retarget]))
    assert only_reason(decide_one(rig)) == "audience"
    assert isinstance(decide_one(rig, audiences=frozenset({6})), Decision)
    asked: list[int] = []

    def member(aid: int) -> bool:
        asked.append(aid)
        return aid == 6

    assert isinstance(decide_one(rig, audiences=member), Decision)
    assert 6 in asked and set(asked) <= {5, 6}
    # An anonymous (DNT/GPC) visitor is never in an audience, whatever the caller passes.
    assert only_reason(decide_one(rig, visitor=None, audiences=frozenset({6}))) == "audience"


def test_filter_4_total_budget_needs_room_for_one_more_event() -> None:
    rig = Rig(snapshot([campaign(1, budget_total_micros=1_000_000)]))
    rig.counters.add_spend(1, "2026-03-10", 995_000)
    assert isinstance(decide_one(rig), Decision)  # exactly one $0.005 impression left
    rig.counters.add_spend(1, "2026-03-10", 1)
    assert only_reason(decide_one(rig)) == "budget_total"
    cpc = campaign(2, pricing=Pricing.CPC, bid_micros=400_000, budget_total_micros=1_000_000)
    rig = Rig(snapshot([cpc]))
    rig.counters.add_spend(2, "2026-03-10", 600_001)  # less than one $0.40 click left
    assert only_reason(decide_one(rig)) == "budget_total"


def test_budget_exhaustion_stops_after_exactly_what_it_buys() -> None:
    rig = Rig(snapshot([campaign(1, budget_total_micros=50_000)]))  # ten $0.005 impressions
    fills = 0
    for i in range(25):
        d = decide_one(rig, now=NOW + timedelta(seconds=i))
        if isinstance(d, Decision):
            fills += 1
            rig.counters.add_spend(d.campaign_id, d.spend_day, d.price_micros)
        else:
            assert d.reasons == {"budget_total": 1}
    assert fills == 10
    assert rig.counters.spend(1, "2026-03-10").total_micros == 50_000


def test_filter_4_daily_budget_follows_the_campaign_local_date_across_midnight() -> None:
    # 06:30 and 07:30 UTC on March 10 fall on March 9 and March 10 in Los Angeles (UTC-7).
    before, after = NOW.replace(hour=6, minute=30), NOW.replace(hour=7, minute=30)
    assert before.date() == after.date()
    la = campaign(1, timezone="America/Los_Angeles", budget_daily_micros=10_000)
    rig = Rig(snapshot([la]))
    outcomes = []
    for when in (before, before + timedelta(minutes=1), before + timedelta(minutes=2), after):
        d = decide_one(rig, now=when)
        if isinstance(d, Decision):
            assert d.spend_day == local_day("America/Los_Angeles", when)
            rig.counters.add_spend(1, d.spend_day, d.price_micros)
            outcomes.append("fill")
        else:
            outcomes.append(only_reason(d))
    assert outcomes == ["fill", "fill", "budget_daily", "fill"]
    assert rig.counters.spend(1, "2026-03-09").today_micros == 10_000
    assert rig.counters.spend(1, "2026-03-10").today_micros == 5_000


def test_filter_5_frequency_cap() -> None:
    capped = campaign(1, frequency_cap=FrequencyCap(impressions=2, hours=1))
    rig = Rig(snapshot([capped]))
    t = NOW.timestamp()
    for seconds_ago in (600, 60):
        rig.counters.record_exposure("visitor-1", 1, t - seconds_ago, 3600)
    assert only_reason(decide_one(rig)) == "frequency_cap"
    assert isinstance(decide_one(rig, visitor="visitor-2"), Decision)
    assert isinstance(decide_one(rig, visitor=None), Decision)  # nothing to count against
    # 51 minutes later the older exposure has left the one-hour window.
    assert only_reason(decide_one(rig, now=NOW + timedelta(minutes=49))) == "frequency_cap"
    assert isinstance(decide_one(rig, now=NOW + timedelta(minutes=51)), Decision)


def test_filter_6_pacing_throttles_an_even_campaign_far_ahead() -> None:
    # Half the flight is gone but 90% of the budget is spent: far ahead of schedule.
    even = campaign(1, pacing=Pacing.EVEN, budget_total_micros=1000 * USD)
    asap = campaign(2, pacing=Pacing.ASAP, budget_total_micros=1000 * USD)
    for camp in (even, asap):
        rig = Rig(snapshot([camp]))
        rig.counters.add_spend(camp.id or 0, "2026-03-10", 900 * USD)
        result = decide_one(rig)
        if camp.pacing is Pacing.EVEN:
            assert only_reason(result) == "pacing"
        else:
            assert isinstance(result, Decision)


def test_filter_7_floor_for_cpm() -> None:
    cheap = campaign(1, bid_micros=2_000_000)
    assert only_reason(decide_one(Rig(snapshot([cheap])))) == "floor"


def test_filter_7_floor_uses_cpc_ecpm_from_predicted_ctr() -> None:
    # $0.50 CPC x the 0.75% display prior = $3.75 eCPM: above a $2.50 floor, below $4.
    cpc = campaign(1, pricing=Pricing.CPC, bid_micros=500_000)
    assert isinstance(decide_one(Rig(snapshot([cpc]))), Decision)
    high_floor = [placement(floor_cpm_micros=4_000_000)]
    assert only_reason(decide_one(Rig(snapshot([cpc], placements=high_floor)))) == "floor"
    # With evidence of a 1% CTR the posterior is (7.5 + 90) / (1000 + 9000) = 0.975%:
    # eCPM $4.875 clears the $4 floor.
    rig = Rig(snapshot([cpc], placements=high_floor))
    rig.stats.record_impression(10, 9000)
    rig.stats.record_click(10, 90)
    d = decide_one(rig)
    assert isinstance(d, Decision)
    assert d.predicted_ctr == pytest.approx(0.00975)
    assert d.expected_ecpm_micros == 4_875_000


def test_ranking_ctr_is_refreshed_once_per_time_block() -> None:
    cpc = campaign(1, pricing=Pricing.CPC, bid_micros=500_000)
    rig = Rig(snapshot([cpc], placements=[placement(floor_cpm_micros=4_000_000)]), block_s=60)
    assert only_reason(decide_one(rig)) == "floor"
    rig.stats.record_impression(10, 9000)
    rig.stats.record_click(10, 90)
    assert only_reason(decide_one(rig, now=NOW + timedelta(seconds=59))) == "floor"
    assert isinstance(decide_one(rig, now=NOW + timedelta(seconds=60)), Decision)


def test_filter_8_page_duplicate_across_slots_of_one_page() -> None:
    slots = [placement(1), placement(2, name="Sidebar")]
    rig = Rig(snapshot([campaign(1)], placements=slots))
    first, second = rig.decider.decide_many([request(placement_id=1), request(placement_id=2)])
    assert isinstance(first, Decision) and first.campaign_id == 1
    assert only_reason(second) == "page_duplicate"


def test_multi_slot_fills_each_slot_with_a_different_campaign() -> None:
    slots = [placement(p, name=f"Slot {p}") for p in (1, 2, 3)]
    camps = [campaign(c, bid_micros=(4 + c) * USD) for c in (1, 2, 3)]
    rig = Rig(snapshot(camps, placements=slots))
    page = rig.decider.decide_many([request(placement_id=p) for p in (1, 2, 3)])
    assert [d.campaign_id for d in page if isinstance(d, Decision)] == [3, 2, 1]
    # A separate call is a separate page: the best campaign may fill again.
    again = rig.decider.decide(request(placement_id=2))
    assert isinstance(again, Decision) and again.campaign_id == 3


def test_no_fill_counts_each_campaign_under_the_first_filter_it_fails() -> None:
    camps = [
        campaign(1, start=NOW + timedelta(days=1), targeting=targeting(genres=frozenset({"pop"}))),
        campaign(2, targeting=targeting(genres=frozenset({"pop"}), countries=frozenset({"FR"}))),
        campaign(3, targeting=targeting(countries=frozenset({"FR"}))),
        campaign(4, targeting=targeting(devices=frozenset({DeviceType.TABLET}))),
        campaign(5, bid_micros=1_000_000),
        campaign(6, budget_total_micros=1000),
    ]
    creatives = [creative(10 * cid, cid) for cid in range(1, 7)]
    creatives.append(creative(70, 7, size=LEADER))
    camps.append(campaign(7))
    result = decide_one(Rig(snapshot(camps, creatives)))
    assert isinstance(result, NoFill)
    assert result.reasons == {
        "format_size": 1,
        "flight": 1,
        "genre": 1,
        "country": 1,
        "device": 1,
        "budget_total": 1,
        "floor": 1,
    }
    # Keys come in filter order, so the reasons read like the pipeline.
    order = [FILTER_NAMES.index(k) for k in result.reasons]
    assert order == sorted(order)
    assert result.describe().startswith("no fill: format_size 1, flight 1, genre 1")


# Ranking ------------------------------------------------------------------------------------


def test_ranks_by_expected_revenue_per_impression() -> None:
    cpm = campaign(1, bid_micros=5 * USD)  # 5,000 micros per impression
    cpc_low = campaign(2, pricing=Pricing.CPC, bid_micros=500_000)  # 0.5 x 0.75% = 3,750
    d = decide_one(Rig(snapshot([cpm, cpc_low])))
    assert isinstance(d, Decision) and d.campaign_id == 1
    cpc_high = campaign(2, pricing=Pricing.CPC, bid_micros=USD)  # 1 x 0.75% = 7,500
    d = decide_one(Rig(snapshot([cpm, cpc_high])))
    assert isinstance(d, Decision) and d.campaign_id == 2
    assert d.pricing is Pricing.CPC and d.price_micros == USD  # charged per click
    assert d.expected_revenue_micros == Decimal(7500)


def test_a_losing_campaign_stands_in_when_the_winner_is_filtered() -> None:
    best = campaign(1, bid_micros=9 * USD, frequency_cap=FrequencyCap(1, 24))
    rig = Rig(snapshot([best, campaign(2)]))
    rig.counters.record_exposure("visitor-1", 1, NOW.timestamp() - 60, 86_400)
    d = decide_one(rig)
    assert isinstance(d, Decision) and d.campaign_id == 2


def test_equal_bids_share_traffic_evenly() -> None:
    rig = Rig(snapshot([campaign(c) for c in (1, 2, 3, 4)]), seed=11)
    wins: Counter[int] = Counter()
    for i in range(4000):
        d = decide_one(rig, visitor=f"v{i}")
        assert isinstance(d, Decision)
        wins[d.campaign_id] += 1
    assert set(wins) == {1, 2, 3, 4}
    assert all(850 <= n <= 1150 for n in wins.values()), wins


def test_awareness_prefers_visitors_it_has_not_reached() -> None:
    a = campaign(1, objective=Objective.AWARENESS, bid_micros=5 * USD)
    b = campaign(2, objective=Objective.AWARENESS, bid_micros=5_500_000)
    rig = Rig(snapshot([a, b]))
    t = NOW.timestamp() - 3600
    assert winner(rig, visitor="fresh") == 2
    rig.counters.record_exposure("seen-by-b", 2, t, 86_400)
    assert winner(rig, visitor="seen-by-b") == 1
    rig.counters.record_exposure("seen-by-a", 1, t, 86_400)
    assert winner(rig, visitor="seen-by-a") == 2
    # Anonymous visitors cannot be told apart: no boost, the higher bid wins.
    assert winner(rig, visitor=None) == 2


def test_reach_boost_lifts_awareness_over_a_slightly_higher_traffic_bid() -> None:
    aware = campaign(1, objective=Objective.AWARENESS, bid_micros=5 * USD)  # 5 x 1.25 = 6.25
    traffic = campaign(2, bid_micros=6 * USD)
    rig = Rig(snapshot([aware, traffic]))
    assert winner(rig) == 1
    rig.counters.record_exposure("visitor-1", 1, NOW.timestamp() - 60, 86_400)
    assert winner(rig) == 2


def test_awareness_rotates_creatives_evenly() -> None:
    aware = campaign(1, objective=Objective.AWARENESS)
    creatives = [creative(c, 1) for c in (11, 12, 13)]
    rig = Rig(snapshot([aware], creatives))
    shown: Counter[int] = Counter()
    for i in range(300):
        d = decide_one(rig, visitor=f"v{i}")
        assert isinstance(d, Decision)
        shown[d.creative_id] += 1
        rig.stats.record_impression(d.creative_id)
    assert shown == {11: 100, 12: 100, 13: 100}


def test_traffic_rotation_shifts_to_the_creative_that_gets_clicked() -> None:
    creatives = [creative(11, 1), creative(12, 1)]
    rig = Rig(snapshot([campaign(1)], creatives), seed=5)
    truth = {11: 0.005, 12: 0.03}
    clicks_rng = random.Random(99)
    late: Counter[int] = Counter()
    for i in range(3000):
        d = decide_one(rig, visitor=f"v{i}")
        assert isinstance(d, Decision)
        rig.stats.record_impression(d.creative_id)
        if clicks_rng.random() < truth[d.creative_id]:
            rig.stats.record_click(d.creative_id)
        if i >= 2000:
            late[d.creative_id] += 1
    assert late[12] > 800, late


# Pacing, statistically ----------------------------------------------------------------------


def simulate_day(pacing: Pacing, seed: int) -> list[tuple[datetime, int]]:
    """A request every 20 s over one UTC day for a campaign whose daily budget buys 1,000
    impressions; spend is booked on each fill. Returns (time, spend today) after each fill."""
    day_start = NOW.replace(hour=0)
    camp = campaign(1, pacing=pacing, budget_daily_micros=5 * USD, budget_total_micros=10_000 * USD)
    rig = Rig(snapshot([camp]), seed=seed, now=day_start)
    log = []
    for i in range(24 * 180):
        when = day_start + timedelta(seconds=20 * i)
        d = decide_one(rig, now=when, visitor=f"v{i}")
        if isinstance(d, Decision):
            spent = rig.counters.add_spend(1, d.spend_day, d.price_micros)
            log.append((when, spent.today_micros))
    return log


def spent_by(log: list[tuple[datetime, int]], hour: int) -> float:
    last = [s for when, s in log if when.hour < hour]
    return (last[-1] if last else 0) / (5 * USD)


def test_asap_spends_the_daily_budget_in_the_first_hours() -> None:
    log = simulate_day(Pacing.ASAP, seed=3)
    assert spent_by(log, 6) == 1.0  # 1,000 requests arrive by 05:33
    assert len(log) == 1000


def test_even_pacing_spreads_the_daily_budget_over_the_day() -> None:
    log = simulate_day(Pacing.EVEN, seed=3)
    for hour in (3, 6, 12, 18):
        assert hour / 24 - 0.02 <= spent_by(log, hour) <= hour / 24 + 0.08, hour
    assert spent_by(log, 24) >= 0.95


def test_even_pacing_participation_matches_its_probability() -> None:
    # Spend one tolerance (1% of budget) ahead of the flight schedule: participate with e^-1.
    camp = campaign(
        1,
        pacing=Pacing.EVEN,
        budget_total_micros=1000 * USD,
        start=NOW - timedelta(days=10),
        end=NOW + timedelta(days=10),
    )
    rig = Rig(snapshot([camp]), seed=8)
    rig.counters.add_spend(1, "2026-03-10", 510 * USD)
    n = 4000
    fills = sum(isinstance(decide_one(rig, visitor=f"v{i}"), Decision) for i in range(n))
    assert abs(fills / n - 0.3679) < 0.03, fills / n


# Determinism ----------------------------------------------------------------------------------


def run_sequence(seed: int) -> list[tuple[int, int]]:
    camps = [
        campaign(
            c,
            objective=Objective.AWARENESS if c % 2 else Objective.TRAFFIC,
            pacing=Pacing.EVEN if c < 3 else Pacing.ASAP,
            budget_total_micros=USD,
        )
        for c in range(1, 6)
    ]
    creatives = [creative(10 * c + k, c) for c in range(1, 6) for k in (1, 2)]
    rig = Rig(snapshot(camps, creatives), seed=seed)
    out = []
    for i in range(300):
        d = decide_one(rig, visitor=f"v{i % 40}", now=NOW + timedelta(seconds=7 * i))
        if isinstance(d, Decision):
            out.append((d.campaign_id, d.creative_id))
            rig.counters.add_spend(d.campaign_id, d.spend_day, d.price_micros)
            rig.counters.record_exposure(d.visitor or "", d.campaign_id, d.now.timestamp(), 86_400)
            rig.stats.record_impression(d.creative_id)
        else:
            out.append((0, 0))
    return out


def test_same_seed_same_decisions() -> None:
    first = run_sequence(21)
    assert first == run_sequence(21)
    assert first != run_sequence(22)
    assert len({c for c, _ in first}) >= 3 and len({cr for _, cr in first}) >= 6
