"""Comparing CTRs across groups without crying wolf: lagging items, and trends.

Each item with enough impressions is tested against the pooled rest of its group with the
two-proportion z-test. Testing many items at once raises the odds that one looks bad by
chance, so the p-values are Holm-adjusted (Holm, 1979: it keeps the chance of any false
alarm in the family under `alpha`, and is never less powerful than Bonferroni). On top,
an item's CTR is shrunk toward the group's (empirical-Bayes Beta-binomial, D. Robinson 2015)
and must sit at least `min_gap` below the rest: a small item's shrunk CTR stays near the
group's, so it is never flagged on a handful of impressions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from backbeat.analytics.inputs import ZERO, Counts
from backbeat.analytics.stats import (
    ZTest,
    shrink_beta_binomial,
    shrunk_rate,
    two_proportion_z_test,
)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in input order; reject where adjusted < alpha."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Lag:
    """One item tested against the rest of its group."""

    name: str
    item: Counts
    rest: Counts
    z: float
    p_adjusted: float
    shrunk: float
    flagged: bool

    @property
    def rest_rate(self) -> float:
        return self.rest.clicks / self.rest.impressions


def lagging(
    groups: Sequence[Sequence[tuple[str, Counts]]],
    *,
    alpha: float,
    min_impressions: int,
    min_gap: float,
) -> list[Lag]:
    """Test every item with `min_impressions` or more against the rest of its group.

    All tests across all groups form one Holm family. An item is flagged when it is below
    the rest, its adjusted p-value is under `alpha`, and its shrunk CTR is at most
    (1 - min_gap) times the rest's CTR.
    """
    pending: list[tuple[str, Counts, Counts, float, float, float]] = []
    for group in groups:
        total = sum((c for _, c in group), ZERO)
        if total.clicks == 0:
            continue  # nobody clicked anywhere in the group: nothing to compare
        prior = shrink_beta_binomial(
            [(c.clicks, c.impressions) for _, c in group], min_imps=min_impressions
        )
        for name, item in group:
            rest = Counts(total.impressions - item.impressions, total.clicks - item.clicks)
            if item.impressions < min_impressions or rest.impressions < min_impressions:
                continue
            z, p = two_proportion_z_test(
                rest.clicks, rest.impressions, item.clicks, item.impressions
            )
            shrunk = shrunk_rate(item.clicks, item.impressions, prior.alpha, prior.beta)
            pending.append((name, item, rest, z, p, shrunk))
    adjusted = holm_adjust([row[4] for row in pending])
    out = []
    for (name, item, rest, z, _, shrunk), p_adj in zip(pending, adjusted, strict=True):
        rest_rate = rest.clicks / rest.impressions
        flagged = z < 0 and p_adj < alpha and shrunk <= (1 - min_gap) * rest_rate
        out.append(Lag(name, item, rest, z, p_adj, shrunk, flagged))
    return out


def trend_test(points: Sequence[tuple[float, Counts]]) -> ZTest | None:
    """Cochran–Armitage test for a linear trend in CTR across ordered groups.

    Each point is (score, counts), e.g. (exposure number, impressions and clicks). With p the
    pooled CTR, T = sum t_i (c_i - n_i p) and
    Var T = p(1-p) [sum t_i² n_i - (sum t_i n_i)² / N]; z = T / sqrt(Var T) is positive when
    CTR rises with the score, and the p-value is two-sided. None when there is no variance to
    test: no impressions, nobody (or everybody) clicked, or every score is the same.
    (Cochran 1954; Armitage 1955.)
    """
    n_total = sum(c.impressions for _, c in points)
    c_total = sum(c.clicks for _, c in points)
    if n_total == 0 or c_total in (0, n_total):
        return None
    pooled = c_total / n_total
    stat = sum(t * (c.clicks - c.impressions * pooled) for t, c in points)
    s1 = sum(t * t * c.impressions for t, c in points)
    s2 = sum(t * c.impressions for t, c in points)
    var = pooled * (1 - pooled) * (s1 - s2 * s2 / n_total)
    if var <= 1e-12 * max(1.0, s1):
        return None
    z = stat / math.sqrt(var)
    return ZTest(z, math.erfc(abs(z) / math.sqrt(2)))
