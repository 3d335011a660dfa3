"""Known answers and independent references for backbeat.analytics.stats."""

from __future__ import annotations

import math
import random
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest

from backbeat.analytics.stats import (
    MAX_CLOSED_FORM_TERMS,
    BetaPrior,
    Interval,
    Position,
    Trend,
    compare_periods,
    ctr,
    expected_loss,
    impressions_needed_to_decide,
    position,
    prob_b_beats_a,
    sample_size_per_arm,
    shrink_beta_binomial,
    shrunk_rate,
    to_percent,
    two_proportion_z_test,
    wilson_interval,
    z_score,
)
from backbeat.errors import ValidationFailed

# Two-sided critical values from printed normal tables, independent of statistics.NormalDist.
Z_TABLE = {0.90: "1.6448536269514722", 0.95: "1.9599639845400540", 0.99: "2.5758293035489004"}


def wilson_reference(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """The formula exactly as written in reference.md, in 60-digit decimal arithmetic:
    (p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n)."""
    with localcontext() as ctx:
        ctx.prec = 60
        z = Decimal(Z_TABLE[confidence])
        n = Decimal(trials)
        p = Decimal(successes) / n
        root = z * (p * (1 - p) / n + z * z / (4 * n * n)).sqrt()
        denom = 1 + z * z / n
        centre = p + z * z / (2 * n)
        return float((centre - root) / denom), float((centre + root) / denom)


def random_counts(rng: random.Random) -> tuple[int, int]:
    trials = rng.choice([1, 2, 7, 30, 1000, 10**5, 10**7, 10**9]) + rng.randrange(50)
    kind = rng.random()
    if kind < 0.15:
        return 0, trials
    if kind < 0.3:
        return trials, trials
    if kind < 0.6:  # typical ad CTRs, 0.01%..3%
        return min(trials, round(trials * rng.uniform(0.0001, 0.03))), trials
    return rng.randint(0, trials), trials


def beta_draws(rng: random.Random, a: float, b: float, k: int) -> list[float]:
    return [rng.betavariate(a, b) for _ in range(k)]


# --- rates ---------------------------------------------------------------------------------


def test_ctr_is_exact() -> None:
    rate = ctr(150, 10_000)
    assert rate == Fraction(3, 200)
    assert rate is not None
    assert to_percent(rate) == Decimal("1.5")
    assert to_percent(Fraction(1, 3), places=4) == Decimal("33.3333")
    assert ctr(0, 0) is None


@pytest.mark.parametrize(
    ("clicks", "impressions", "field"),
    [
        (-1, 10, "clicks"),
        (11, 10, "clicks"),
        (1, -5, "impressions"),
        (1.0, 10, "clicks"),
        (True, 10, "clicks"),
        (1, "10", "impressions"),
    ],
)
def test_bad_counts_name_the_field(clicks: object, impressions: object, field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        ctr(clicks, impressions)  # type: ignore[arg-type]
    assert err.value.fields[0].field == field


# --- Wilson --------------------------------------------------------------------------------


def test_z_score_matches_tables() -> None:
    for confidence, z in Z_TABLE.items():
        assert z_score(confidence) == pytest.approx(float(z), abs=1e-12)
    for bad in (0, 1, 1.5, -0.2, float("nan")):
        with pytest.raises(ValidationFailed):
            z_score(bad)


def test_wilson_matches_reference_formula_on_random_inputs() -> None:
    rng = random.Random(20240611)
    for _ in range(3000):
        s, n = random_counts(rng)
        confidence = rng.choice(list(Z_TABLE))
        ci = wilson_interval(s, n, confidence)
        low, high = wilson_reference(s, n, confidence)
        assert ci.low == pytest.approx(low, abs=1e-9), (s, n, confidence)
        assert ci.high == pytest.approx(high, abs=1e-9), (s, n, confidence)
        assert 0.0 <= ci.low <= s / n <= ci.high <= 1.0
        assert ci.point == s / n


def test_wilson_keeps_relative_precision_at_tiny_rates() -> None:
    # Absolute 1e-9 says nothing at a 1e-9 CTR: check the relative error there.
    for s, n in [(1, 10**9), (3, 10**10), (2, 10**12), (10**12 - 1, 10**12)]:
        ci = wilson_interval(s, n)
        low, high = wilson_reference(s, n, 0.95)
        assert ci.low == pytest.approx(low, rel=1e-9, abs=0)
        assert ci.high == pytest.approx(high, rel=1e-9, abs=0)


def test_wilson_matches_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(99)
    for _ in range(300):
        s, n = random_counts(rng)
        confidence = rng.choice(list(Z_TABLE))
        ref = stats.binomtest(s, n).proportion_ci(confidence_level=confidence, method="wilson")
        ci = wilson_interval(s, n, confidence)
        assert ci.low == pytest.approx(float(ref.low), abs=1e-9)
        assert ci.high == pytest.approx(float(ref.high), abs=1e-9)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) == Interval(0.0, 1.0, None, 0.95)
    none = wilson_interval(0, 500)
    assert none.low == 0.0
    assert none.high == pytest.approx(1.959963984540054**2 / (500 + 1.959963984540054**2))
    every = wilson_interval(500, 500)
    assert every.high == 1.0
    assert every.low == pytest.approx(500 / (500 + 1.959963984540054**2))
    assert wilson_interval(1, 1).low > 0


def test_wilson_intervals_nest_as_data_grows_at_a_fixed_rate() -> None:
    previous = wilson_interval(3, 400)
    for k in range(2, 200):
        ci = wilson_interval(3 * k, 400 * k)
        assert previous.low <= ci.low <= ci.high <= previous.high
        previous = ci
    assert wilson_interval(3, 400, 0.99).width > wilson_interval(3, 400, 0.90).width


def test_position_against_a_band() -> None:
    assert position(Interval(0.001, 0.004, 0.002), 0.005, 0.01) is Position.BELOW
    assert position(Interval(0.006, 0.009, 0.007), 0.005, 0.01) is Position.WITHIN
    assert position(Interval(0.011, 0.02, 0.015), 0.005, 0.01) is Position.ABOVE
    assert position(Interval(0.004, 0.006, 0.005), 0.005, 0.01) is Position.NOT_ENOUGH_DATA
    assert position(Interval(0.03, 0.05, 0.04), 0.02, None) is Position.WITHIN
    assert position(Interval(0.0, 1.0, None), 0.0, None) is Position.NOT_ENOUGH_DATA
    with pytest.raises(ValidationFailed) as err:
        position(Interval(0.1, 0.2, 0.15), 0.02, 0.01)
    assert err.value.fields[0].field == "benchmark_high"


# --- impressions needed --------------------------------------------------------------------


def decided(clicks: int, impressions: int, low: float, high: float | None) -> bool:
    return position(wilson_interval(clicks, impressions), low, high) is not Position.NOT_ENOUGH_DATA


@pytest.mark.parametrize(
    ("clicks", "impressions", "low", "high"),
    [
        (9, 2000, 0.005, 0.01),
        (0, 100, 0.005, 0.01),
        (14, 1000, 0.005, 0.01),
        (7, 1000, 0.005, 0.01),
        (3, 100, 0.02, None),
        (33, 10_000, 0.0046, 0.0046),
    ],
)
def test_more_impressions_at_the_same_ctr_do_decide(
    clicks: int, impressions: int, low: float, high: float | None
) -> None:
    assert not decided(clicks, impressions, low, high)
    more = impressions_needed_to_decide(clicks, impressions, low, high)
    assert more is not None
    assert more > 0
    total = impressions + more
    assert decided(round(Fraction(clicks, impressions) * total), total, low, high)
    # Not wildly more than needed: scan whole multiples of the sample, where clicks stay
    # exact, for the first that decides.
    k = 2
    while not decided(clicks * k, impressions * k, low, high):
        k += 1
    assert impressions * (k - 1) < total <= impressions * k * 1.1


def test_impressions_needed_edges() -> None:
    assert impressions_needed_to_decide(150, 10_000, 0.005, 0.01) == 0
    assert impressions_needed_to_decide(0, 0, 0.005, 0.01) is None
    # A CTR exactly on a one-figure benchmark can never be called below or above it.
    assert impressions_needed_to_decide(46, 10_000, 0.0046, 0.0046) is None
    with pytest.raises(ValidationFailed):
        impressions_needed_to_decide(1, 10, 0.01, 0.005)


# --- shrinkage -----------------------------------------------------------------------------


def simulated_items(
    rng: random.Random, a: float, b: float, count: int, imps: int
) -> list[tuple[int, int]]:
    items = []
    for _ in range(count):
        p = rng.betavariate(a, b)
        items.append((sum(rng.random() < p for _ in range(imps)), imps))
    return items


def test_method_of_moments_recovers_a_known_prior() -> None:
    rng = random.Random(5)
    items = simulated_items(rng, 20.0, 3980.0, 150, 4000)
    prior = shrink_beta_binomial(items, min_imps=1000)
    assert prior.items_used == 150
    assert prior.mean == pytest.approx(0.005, rel=0.1)
    assert 4000 / 1.6 < prior.strength < 4000 * 1.6
    alpha0, beta0 = prior
    assert (alpha0, beta0) == (prior.alpha, prior.beta)


def test_shrinkage_pulls_small_items_and_spares_large_ones() -> None:
    alpha0, beta0 = BetaPrior(20.0, 3980.0, 10)
    small = shrunk_rate(1, 20, alpha0, beta0)  # 5% observed on 20 impressions
    assert abs(small - 0.005) < abs(1 / 20 - 0.005) / 10
    large = shrunk_rate(600, 100_000, alpha0, beta0)  # 0.6% on 100k impressions
    assert large == pytest.approx(0.006, rel=0.01)
    assert small == (1 + 20) / (20 + 4000)


def test_shrinkage_fallbacks() -> None:
    few = [(5, 1000), (9, 2000), (1, 50)]
    prior = shrink_beta_binomial(few, min_items=5, fallback_strength=500)
    assert prior.items_used == 0
    assert prior.mean == pytest.approx(16 / 3052)
    assert prior.strength == pytest.approx(500)
    given = shrink_beta_binomial(few, fallback_mean=0.004)
    assert given.mean == pytest.approx(0.004)
    # Rates identical across items: no spread to measure, so the prior is as strong as the data.
    same = shrink_beta_binomial([(10, 2000)] * 6)
    assert same.items_used == 6
    assert same.strength == pytest.approx(12_000)
    assert same.mean == pytest.approx(0.005)
    no_clicks = shrink_beta_binomial([(0, 2000)] * 6)
    assert no_clicks.items_used == 0
    assert 0 < no_clicks.mean < 0.001
    with pytest.raises(ValidationFailed) as err:
        shrink_beta_binomial([])
    assert err.value.fields[0].field == "items"
    with pytest.raises(ValidationFailed) as err:
        shrink_beta_binomial([(5, 1000), (9, 3)])
    assert err.value.fields[0].field == "items[1].clicks"
    with pytest.raises(ValidationFailed):
        shrunk_rate(1, 10, 0.0, 5.0)


# --- z-test, sample size, trends -----------------------------------------------------------


def test_z_test_hand_computed() -> None:
    # A: 100/10,000 = 1.0%; B: 130/10,000 = 1.3%; pooled p = 230/20,000 = 0.0115.
    # se = sqrt(0.0115 · 0.9885 · (1/10,000 + 1/10,000)) = 0.00150783...; z = 0.003/se.
    z, p = two_proportion_z_test(100, 10_000, 130, 10_000)
    assert z == pytest.approx(1.98961, abs=1e-5)
    assert p == pytest.approx(0.04663, abs=1e-5)
    z2, p2 = two_proportion_z_test(130, 10_000, 100, 10_000)
    assert z2 == pytest.approx(-z)
    assert p2 == pytest.approx(p)
    assert two_proportion_z_test(0, 500, 0, 800) == (0.0, 1.0)
    with pytest.raises(ValidationFailed) as err:
        two_proportion_z_test(0, 0, 1, 10)
    assert err.value.fields[0].field == "n_a"


def test_z_test_p_value_matches_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for c_a, n_a, c_b, n_b in [(100, 10_000, 130, 10_000), (35, 9_000, 20, 11_000), (5, 50, 1, 60)]:
        z, p = two_proportion_z_test(c_a, n_a, c_b, n_b)
        assert p == pytest.approx(2 * float(stats.norm.sf(abs(z))), rel=1e-9)


def test_sample_size_reference_example() -> None:
    # reference.md: 0.35% baseline, +20%, alpha 0.05, power 0.8 -> about 122,861 per arm.
    assert sample_size_per_arm(0.0035, 0.2) == 122_861
    # The same sum with table z values and exact fractions: 122,860.757...
    z = Fraction(Z_TABLE[0.95]) + Fraction("0.8416212335729143")
    p1, p2 = Fraction(35, 10_000), Fraction(42, 10_000)
    exact = z * z * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2
    assert math.ceil(exact) == 122_861
    assert sample_size_per_arm(0.0035, 0.2, power=0.9) > 122_861
    assert sample_size_per_arm(0.0035, 0.5) < 122_861
    assert sample_size_per_arm(0.0035, -0.2) > 0
    for kwargs, field in [
        ({"baseline": 0.0}, "baseline"),
        ({"relative_lift": 0.0}, "relative_lift"),
        ({"relative_lift": 400.0}, "relative_lift"),
        ({"alpha": 1.0}, "alpha"),
    ]:
        args = {"baseline": 0.0035, "relative_lift": 0.2, **kwargs}
        with pytest.raises(ValidationFailed) as err:
            sample_size_per_arm(**args)
        assert err.value.fields[0].field == field


def test_compare_periods() -> None:
    up = compare_periods(100, 10_000, 130, 10_000)
    assert up.trend is Trend.UP
    assert up.relative_change == pytest.approx(0.3)
    assert (up.before, up.after) == (Fraction(1, 100), Fraction(13, 1000))
    assert compare_periods(130, 10_000, 100, 10_000).trend is Trend.DOWN
    flat = compare_periods(10, 1000, 12, 1000)
    assert flat.trend is Trend.NO_CLEAR_CHANGE
    assert flat.p_value is not None
    assert flat.p_value > 0.05
    assert compare_periods(0, 0, 5, 100).trend is Trend.NOT_ENOUGH_DATA
    assert compare_periods(0, 100, 5, 100).relative_change is None


# --- Bayesian A/B --------------------------------------------------------------------------


def miller_direct(c_a: int, n_a: int, c_b: int, n_b: int, prior: tuple[int, int]) -> float:
    """Evan Miller's sum as printed, each term from lgamma directly (no recurrence)."""

    def lbeta(a: float, b: float) -> float:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    aa, ba = c_a + prior[0], n_a - c_a + prior[1]
    ab, bb = c_b + prior[0], n_b - c_b + prior[1]
    return sum(
        math.exp(lbeta(aa + i, ba + bb) - math.log(bb + i) - lbeta(1 + i, bb) - lbeta(aa, ba))
        for i in range(ab)
    )


CASES = [(10, 1000, 15, 1000), (3, 200, 1, 150), (50, 10_000, 65, 10_000), (0, 40, 2, 40)]


@pytest.mark.parametrize("case", CASES)
def test_prob_b_beats_a_matches_the_printed_formula(case: tuple[int, int, int, int]) -> None:
    for prior in [(1, 1), (2, 300)]:
        assert prob_b_beats_a(*case, prior=prior) == pytest.approx(
            miller_direct(*case, prior), abs=1e-9
        )


@pytest.mark.parametrize("case", CASES)
def test_prob_b_beats_a_against_monte_carlo(case: tuple[int, int, int, int]) -> None:
    c_a, n_a, c_b, n_b = case
    rng = random.Random(sum(case))
    k = 40_000
    wins = sum(
        rng.betavariate(c_b + 1, n_b - c_b + 1) > rng.betavariate(c_a + 1, n_a - c_a + 1)
        for _ in range(k)
    )
    assert prob_b_beats_a(*case) == pytest.approx(wins / k, abs=0.015)


def test_fractional_priors_sum_over_a_whole_beta_parameter() -> None:
    # With alpha 0.5 no alpha is whole; the closed form then runs over the beta parameters.
    rng = random.Random(23)
    k = 40_000
    c_a, n_a, c_b, n_b, prior = 3, 40, 6, 45, (0.5, 2.0)
    wins = sum(
        rng.betavariate(c_b + 0.5, n_b - c_b + 2) > rng.betavariate(c_a + 0.5, n_a - c_a + 2)
        for _ in range(k)
    )
    assert prob_b_beats_a(c_a, n_a, c_b, n_b, prior) == pytest.approx(wins / k, abs=0.015)


def test_prob_b_beats_a_is_symmetric() -> None:
    rng = random.Random(3)
    for _ in range(200):
        n_a, n_b = rng.randint(1, 5000), rng.randint(1, 5000)
        c_a, c_b = rng.randint(0, n_a), rng.randint(0, n_b)
        prior = rng.choice([(1.0, 1.0), (1.0, 99.0), (3.0, 2.5), (0.5, 7.0)])
        forward = prob_b_beats_a(c_a, n_a, c_b, n_b, prior)
        backward = prob_b_beats_a(c_b, n_b, c_a, n_a, prior)
        assert forward + backward == pytest.approx(1.0, abs=1e-9)
    assert prob_b_beats_a(10, 1000, 10, 1000) == pytest.approx(0.5, abs=1e-12)


def test_prob_b_beats_a_large_counts_use_the_normal_approximation() -> None:
    big = MAX_CLOSED_FORM_TERMS * 2
    c_a, n_a, c_b, n_b = big, 20 * big, big + 600, 20 * big
    p = prob_b_beats_a(c_a, n_a, c_b, n_b)
    assert 0.9 < p < 1.0
    rng = random.Random(11)
    k = 20_000
    wins = sum(
        rng.betavariate(c_b + 1, n_b - c_b + 1) > rng.betavariate(c_a + 1, n_a - c_a + 1)
        for _ in range(k)
    )
    assert p == pytest.approx(wins / k, abs=0.02)


def test_prob_b_beats_a_matches_scipy_integration() -> None:
    stats = pytest.importorskip("scipy.stats")
    integrate = pytest.importorskip("scipy.integrate")
    for c_a, n_a, c_b, n_b in [(10, 1000, 15, 1000), (40, 2000, 52, 2100)]:
        a = stats.beta(c_a + 1, n_a - c_a + 1)
        b = stats.beta(c_b + 1, n_b - c_b + 1)
        hi = max(a.ppf(1 - 1e-12), b.ppf(1 - 1e-12))
        ref, _ = integrate.quad(lambda x, a=a, b=b: a.pdf(x) * b.sf(x), 0, hi, limit=200)
        assert prob_b_beats_a(c_a, n_a, c_b, n_b) == pytest.approx(ref, abs=1e-7)


def test_expected_loss_against_monte_carlo() -> None:
    rng = random.Random(17)
    k = 40_000
    for c_a, n_a, c_b, n_b, prior in [(10, 1000, 15, 1000, (1, 1)), (40, 8000, 35, 8000, (2, 400))]:
        pa = beta_draws(rng, c_a + prior[0], n_a - c_a + prior[1], k)
        pb = beta_draws(rng, c_b + prior[0], n_b - c_b + prior[1], k)
        loss = expected_loss(c_a, n_a, c_b, n_b, prior)
        mc_b = sum(max(x - y, 0.0) for x, y in zip(pa, pb, strict=True)) / k
        mc_a = sum(max(y - x, 0.0) for x, y in zip(pa, pb, strict=True)) / k
        assert loss.choose_b == pytest.approx(mc_b, rel=0.08)
        assert loss.choose_a == pytest.approx(mc_a, rel=0.08)
        # E[p_b - p_a] = loss(choose A) - loss(choose B), exactly.
        mean_gap = (c_b + prior[0]) / (n_b + sum(prior)) - (c_a + prior[0]) / (n_a + sum(prior))
        assert loss.choose_a - loss.choose_b == pytest.approx(mean_gap, abs=1e-12)


def test_expected_loss_normal_path_and_decision() -> None:
    big = MAX_CLOSED_FORM_TERMS * 2
    loss = expected_loss(big, 20 * big, big + 3000, 20 * big)
    mean_gap = (big + 3001) / (20 * big + 2) - (big + 1) / (20 * big + 2)
    assert loss.choose_a - loss.choose_b == pytest.approx(mean_gap, rel=1e-9)
    assert loss.choose_b < 1e-6 < loss.choose_a
    assert loss.decide(1e-5) == "B"
    unclear = expected_loss(10, 1000, 11, 1000)
    assert unclear.decide(1e-5) is None
    assert unclear.decide(0.01) in {"A", "B"}
    with pytest.raises(ValidationFailed):
        unclear.decide(0)
