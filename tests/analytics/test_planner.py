"""The planner's forecasts (known answers) and the budget split by artist stage."""

from __future__ import annotations

import math

import pytest

from backbeat.analytics.planner import (
    ArtistStage,
    Range,
    plan,
    recommend_split,
    split_budget,
)
from backbeat.domain.campaign import FrequencyCap, Objective, Pricing
from backbeat.domain.taxonomy import AdFormat
from backbeat.errors import ValidationFailed

USD = 1_000_000
CAP = FrequencyCap(3, 24)


def test_500_dollars_at_2_50_cpm_buys_200000_impressions() -> None:
    f = plan(500 * USD, Pricing.CPM, 2_500_000, AdFormat.DISPLAY, 30, CAP, 50_000, 10_000)
    assert f.impressions == Range(200_000, 200_000)
    assert f.impressions.is_exact
    assert f.clicks == Range(1_000, 2_000)  # 0.5-1% of 200,000
    assert f.spend_micros == Range(500 * USD, 500 * USD)
    assert f.inventory == 1_500_000
    assert not f.limited_by_inventory
    # Reach: at most one person per impression (300,000 visitor-days is more); at least
    # 200,000 / (3 a day x 30 days) people.
    assert f.reach == Range(math.ceil(200_000 / 90), 200_000)
    assert f.frequency == (1.0, 200_000 / 2_223)
    assert f.ctr_benchmark is not None and f.ctr_benchmark.key == "music-display"


def test_inventory_caps_the_impressions_and_leaves_budget_unspent() -> None:
    f = plan(500 * USD, Pricing.CPM, 2_500_000, AdFormat.DISPLAY, 30, CAP, 4_000, 1_000)
    assert f.impressions == Range(120_000, 120_000)
    assert f.limited_by_inventory
    assert f.spend_micros == Range(300 * USD, 300 * USD)
    assert f.clicks == Range(600, 1_200)
    # Each visitor loads 4 slots a day, more than the cap of 3: the cap binds.
    assert f.reach == Range(math.ceil(120_000 / 90), 30_000)
    assert any("unspent" in n for n in f.notes)


def test_slots_per_visitor_bind_without_a_cap() -> None:
    # 5,000 slots for 1,000 visitors a day: each sees at most 5 x 30 = 150 over the flight.
    f = plan(500 * USD, Pricing.CPM, 2_500_000, AdFormat.DISPLAY, 30, None, 5_000, 1_000)
    assert f.impressions.low == 150_000
    assert f.reach == Range(1_000, 30_000)  # buying every slot reaches at least the daily crowd
    assert f.frequency == (5.0, 150.0)


def test_a_long_cap_window_counts_whole_windows() -> None:
    weekly = FrequencyCap(5, 168)  # 30 days hold 5 windows (the last one partial)
    f = plan(100 * USD, Pricing.CPM, 2_500_000, AdFormat.DISPLAY, 30, weekly, 100_000, 50_000)
    assert f.impressions.low == 40_000
    assert f.reach.low == math.ceil(40_000 / 25)


def test_cpc_buys_clicks_and_needs_impressions_from_the_ctr_range() -> None:
    f = plan(500 * USD, Pricing.CPC, 250_000, AdFormat.DISPLAY, 30, CAP, 50_000, 10_000)
    assert f.clicks == Range(2_000, 2_000)
    assert f.impressions == Range(200_000, 400_000)  # 2,000 clicks at 1% and at 0.5%
    assert f.spend_micros == Range(500 * USD, 500 * USD)
    assert not f.limited_by_inventory


def test_cpc_capped_by_inventory() -> None:
    f = plan(500 * USD, Pricing.CPC, 250_000, AdFormat.DISPLAY, 10, CAP, 30_000, 10_000)
    assert f.inventory == 300_000
    assert f.limited_by_inventory
    assert f.impressions == Range(200_000, 300_000)
    assert f.clicks == Range(1_500, 2_000)
    assert f.spend_micros == Range(375 * USD, 500 * USD)


def test_video_cpc_has_only_a_floor() -> None:
    f = plan(100 * USD, Pricing.CPC, 500_000, AdFormat.VIDEO, 10, CAP, 100_000, 50_000)
    assert f.clicks == Range(200, 200)
    assert f.impressions == Range(200, 10_000)  # at most 200 / 2%
    assert any("only a floor" in n for n in f.notes)
    cpm = plan(100 * USD, Pricing.CPM, 10_000_000, AdFormat.VIDEO, 10, CAP, 100_000, 50_000)
    assert cpm.clicks == Range(200, None)


def test_native_has_no_benchmark_unless_named() -> None:
    f = plan(100 * USD, Pricing.CPM, 2_500_000, AdFormat.NATIVE, 10, CAP, 100_000, 50_000)
    assert f.clicks is None and f.ctr_benchmark is None
    assert any("no published CTR benchmark" in n for n in f.notes)
    named = plan(
        100 * USD,
        Pricing.CPM,
        2_500_000,
        AdFormat.NATIVE,
        10,
        CAP,
        100_000,
        50_000,
        ctr_benchmark="music-overall",
    )
    assert named.clicks == Range(200, 1_200)
    with pytest.raises(ValidationFailed) as exc:
        plan(100 * USD, Pricing.CPC, 500_000, AdFormat.NATIVE, 10, CAP, 100_000, 50_000)
    assert exc.value.fields[0].field == "ctr_benchmark"
    with pytest.raises(ValidationFailed):
        plan(
            100 * USD,
            Pricing.CPM,
            2_500_000,
            AdFormat.NATIVE,
            10,
            CAP,
            1,
            1,
            ctr_benchmark="nonsense",
        )


def test_no_inventory_buys_nothing() -> None:
    f = plan(100 * USD, Pricing.CPM, 2_500_000, AdFormat.DISPLAY, 10, CAP, 0, 1_000)
    assert f.impressions == Range(0, 0) and f.reach == Range(0, 0)
    assert f.frequency is None and f.clicks == Range(0, 0)


def test_bad_plan_input_names_every_field() -> None:
    with pytest.raises(ValidationFailed) as exc:
        plan(0, "cpm", 2_500_500, "display", 0, FrequencyCap(0, 24), -1, 0)  # type: ignore[arg-type]
    assert {f.field for f in exc.value.fields} == {
        "budget_micros",
        "pricing",
        "format",
        "flight_days",
        "frequency_cap.impressions",
        "available_daily_impressions",
        "unique_visitors_per_day",
    }
    with pytest.raises(ValidationFailed) as exc:
        plan(USD, Pricing.CPM, 2_500_500, AdFormat.DISPLAY, 1, None, 1, 1)
    assert exc.value.fields[0].field == "bid_micros"


def test_splits_by_stage() -> None:
    new = recommend_split(ArtistStage.NEW)
    shares = {s.objective: s for s in new.shares}
    assert 60 <= shares[Objective.AWARENESS].percent <= 70
    assert 30 <= shares[Objective.TRAFFIC].percent <= 40
    assert shares[Objective.RETARGETING].percent == 0
    assert "Retargeting needs people who already visited" in new.reasoning
    for stage in ArtistStage:
        split = recommend_split(stage)
        assert sum(s.percent for s in split.shares) == 100
        assert all(s.low <= s.percent <= s.high for s in split.shares)
    est = {s.objective: s.percent for s in recommend_split("established").shares}
    assert est[Objective.AWARENESS] < est[Objective.TRAFFIC]
    assert est[Objective.RETARGETING] > 0
    with pytest.raises(ValidationFailed) as exc:
        recommend_split("famous")
    assert exc.value.fields[0].field == "stage"


def test_split_budget_is_exact_to_the_micro() -> None:
    new = recommend_split(ArtistStage.NEW)
    assert split_budget(500 * USD, new) == {
        Objective.AWARENESS: 325 * USD,
        Objective.TRAFFIC: 175 * USD,
        Objective.RETARGETING: 0,
    }
    odd = split_budget(1_000_003, recommend_split(ArtistStage.GROWING))  # $1.000003
    assert sum(odd.values()) == 1_000_003
    assert all(v % 10_000 == 0 for k, v in odd.items() if k is not Objective.AWARENESS)
    cents = split_budget(10_000, recommend_split(ArtistStage.ESTABLISHED))  # one cent
    assert sum(cents.values()) == 10_000
    with pytest.raises(ValidationFailed):
        split_budget(0, new)
