"""Ranking math, Thompson sampling and even rotation."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from backbeat.domain.campaign import Objective
from backbeat.domain.taxonomy import AdFormat
from backbeat.serving.ranking import (
    PRIOR_CTR,
    PRIOR_STRENGTH,
    campaign_ctr,
    ecpm_micros,
    even_pick,
    expected_revenue,
    pick_creative,
    posterior,
    predicted_ctr,
    prior,
    thompson_pick,
)
from backbeat.serving.stats import CreativeStats
from tests.serving.factories import creative


def test_priors_hold_the_format_benchmarks() -> None:
    assert PRIOR_CTR == {AdFormat.DISPLAY: 0.0075, AdFormat.NATIVE: 0.01, AdFormat.VIDEO: 0.02}
    a, b = prior(AdFormat.VIDEO)
    assert a + b == PRIOR_STRENGTH and a / (a + b) == pytest.approx(0.02)


def test_posterior_mean_shrinks_toward_the_prior() -> None:
    assert predicted_ctr(AdFormat.DISPLAY, 0, 0) == pytest.approx(0.0075)
    # 3 clicks in 100 impressions is 3%, but 100 impressions are weak evidence.
    assert predicted_ctr(AdFormat.DISPLAY, 100, 3) == pytest.approx(10.5 / 1100)
    assert predicted_ctr(AdFormat.DISPLAY, 1_000_000, 30_000) == pytest.approx(0.03, rel=0.01)
    assert posterior(AdFormat.DISPLAY, 5, 9) == pytest.approx((12.5, 992.5))


def test_expected_revenue_and_ecpm() -> None:
    assert expected_revenue(False, 5_000_000, 0.5) == 5000.0  # CPM: bid / 1000
    assert expected_revenue(True, 500_000, 0.01) == pytest.approx(5000.0)  # CPC: bid x CTR
    assert ecpm_micros(True, 500_000, 0.01) == pytest.approx(5_000_000)
    assert ecpm_micros(False, 2_500_000, 0.9) == 2_500_000


def test_campaign_ctr_is_its_best_creative() -> None:
    stats = CreativeStats()
    stats.record_impression(11, 9000)
    stats.record_click(11, 180)
    crs = [creative(10, 1), creative(11, 1)]
    assert campaign_ctr(stats, crs) == pytest.approx(187.5 / 10_000)


def test_thompson_sampling_converges_on_the_better_creative() -> None:
    stats = CreativeStats()
    crs = [creative(10, 1), creative(11, 1), creative(12, 1)]
    truth = {10: 0.01, 11: 0.025, 12: 0.005}
    rng, world = random.Random(2), random.Random(3)
    late: Counter[int] = Counter()
    for i in range(4000):
        c = thompson_pick(crs, stats, rng)
        cid = c.id or 0
        stats.record_impression(cid)
        if world.random() < truth[cid]:
            stats.record_click(cid)
        if i >= 3000:
            late[cid] += 1
    assert late[11] > 750, late
    assert stats.impressions(12) < stats.impressions(11)


def test_thompson_explores_while_evidence_is_thin() -> None:
    stats = CreativeStats()
    crs = [creative(10, 1), creative(11, 1)]
    picks = Counter(thompson_pick(crs, stats, random.Random(s)).id for s in range(400))
    assert 150 <= picks[10] <= 250


def test_even_pick_serves_the_least_served_and_breaks_ties_randomly() -> None:
    stats = CreativeStats()
    crs = [creative(10, 1), creative(11, 1), creative(12, 1)]
    stats.record_impression(10, 5)
    stats.record_impression(11, 3)
    stats.record_impression(12, 3)
    firsts = Counter(even_pick(crs, stats, random.Random(s)).id for s in range(300))
    assert set(firsts) == {11, 12} and min(firsts.values()) > 100
    stats.record_impression(12)
    assert even_pick(crs, stats, random.Random(0)).id == 11


def test_pick_creative_follows_the_objective() -> None:
    stats = CreativeStats()
    crs = [creative(10, 1), creative(11, 1)]
    stats.record_impression(10, 50)  # 11 is least served; Thompson may still pick 10
    rng = random.Random(7)
    assert all(pick_creative(Objective.AWARENESS, crs, stats, rng).id == 11 for _ in range(20))
    traffic = {pick_creative(Objective.TRAFFIC, crs, stats, rng).id for _ in range(100)}
    assert traffic == {10, 11}
    assert pick_creative(Objective.RETARGETING, crs[:1], stats, rng).id == 10
