"""Holm adjustment, the lagging-item test with shrinkage, and the Cochran–Armitage trend test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backbeat.analytics.diagnosis.compare import holm_adjust, lagging, trend_test
from backbeat.analytics.inputs import Counts


def test_holm_by_hand() -> None:
    # Sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> kept at 0.06.
    adjusted = holm_adjust([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_adjust([]) == []
    assert holm_adjust([0.6, 0.7]) == [1.0, 1.0]


def test_holm_never_below_raw_nor_above_bonferroni() -> None:
    rng = np.random.default_rng(5)
    p = list(rng.uniform(0, 0.2, size=12))
    adjusted = holm_adjust(p)
    for raw, adj in zip(p, adjusted, strict=True):
        assert raw <= adj <= min(1.0, raw * len(p)) + 1e-15


def group(*items: tuple[str, int, int]) -> list[tuple[str, Counts]]:
    return [(name, Counts(n, c)) for name, n, c in items]


def test_lagging_flags_a_clear_laggard_only() -> None:
    lags = lagging(
        [group(("a", 50_000, 400), ("b", 50_000, 410), ("c", 50_000, 150), ("d", 50_000, 390))],
        alpha=0.01,
        min_impressions=1_000,
        min_gap=0.2,
    )
    assert [lag.name for lag in lags if lag.flagged] == ["c"]
    c = next(lag for lag in lags if lag.name == "c")
    assert c.rest == Counts(150_000, 1_200)
    assert c.z < 0
    # Shrinkage pulls the CTR toward the group's, never past it.
    assert 150 / 50_000 < c.shrunk < c.rest_rate


def test_lagging_skips_small_items_and_small_gaps() -> None:
    lags = lagging(
        [group(("big", 2_000_000, 16_000), ("slightly", 2_000_000, 15_000), ("tiny", 900, 0))],
        alpha=0.01,
        min_impressions=1_000,
        min_gap=0.2,
    )
    assert {lag.name for lag in lags} == {"big", "slightly"}  # "tiny" was not tested
    slightly = next(lag for lag in lags if lag.name == "slightly")
    assert slightly.p_adjusted < 0.01  # significant, but only 6% lower: not flagged
    assert not slightly.flagged


def test_lagging_is_one_holm_family_across_groups() -> None:
    one = group(("a", 20_000, 160), ("b", 20_000, 110))
    alone = lagging([one], alpha=0.05, min_impressions=1_000, min_gap=0.2)
    both = lagging([one, one], alpha=0.05, min_impressions=1_000, min_gap=0.2)
    b_alone = next(lag for lag in alone if lag.name == "b")
    b_both = [lag for lag in both if lag.name == "b"]
    assert all(lag.p_adjusted > b_alone.p_adjusted for lag in b_both)


def test_lagging_without_clicks_tests_nothing() -> None:
    assert (
        lagging(
            [group(("a", 5_000, 0), ("b", 5_000, 0))],
            alpha=0.01,
            min_impressions=1_000,
            min_gap=0.2,
        )
        == []
    )


def test_trend_test_equals_the_correlation_form() -> None:
    # Cochran–Armitage z equals sqrt(N) x the Pearson correlation between score and click,
    # computed here over the individual impressions.
    data = [
        (1.0, Counts(400, 12)),
        (2.0, Counts(300, 7)),
        (3.0, Counts(200, 3)),
        (4.0, Counts(250, 2)),
    ]
    scores = np.concatenate([np.full(c.impressions, t) for t, c in data])
    clicks = np.concatenate(
        [np.r_[np.ones(c.clicks), np.zeros(c.impressions - c.clicks)] for _, c in data]
    )
    r = float(np.corrcoef(scores, clicks)[0, 1])
    result = trend_test(data)
    assert result is not None
    assert result.z == pytest.approx(r * math.sqrt(len(scores)), rel=1e-9)
    assert result.p_value == pytest.approx(math.erfc(abs(result.z) / math.sqrt(2)))
    assert result.z < 0


def test_trend_test_has_nothing_to_say_without_variance() -> None:
    assert trend_test([]) is None
    assert trend_test([(1.0, Counts(100, 0)), (2.0, Counts(100, 0))]) is None
    assert trend_test([(1.0, Counts(100, 5)), (1.0, Counts(100, 1))]) is None
    rising = trend_test([(1.0, Counts(1_000, 5)), (2.0, Counts(1_000, 30))])
    assert rising is not None and rising.z > 0 and rising.p_value < 0.001
