"""Statistics for click-through rates: intervals, shrinkage, A/B tests, sample sizes, trends.

Pure functions over integer counts; no numpy or scipy. Rates are plain floats (they are not
money); an exact CTR is available as a `Fraction` from `ctr`. Every input is checked and bad
input raises `ValidationFailed` naming the field.

Sources: Wilson (1927) score interval; D. Robinson (2015), empirical-Bayes shrinkage of batting
averages; E. Miller, "Formulas for Bayesian A/B testing"; C. Stucchio (2014), the expected-loss
stopping rule; the standard two-proportion z-test and its sample-size formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from fractions import Fraction
from statistics import NormalDist, fmean, variance
from typing import NamedTuple

from backbeat.errors import ValidationFailed

_NORMAL = NormalDist()
# Past this many series terms the exact Bayesian sum gets slow in pure Python. Both posteriors
# then rest on more than 50,000 clicks (or non-clicks), where a normal approximation to the
# difference is accurate to well under 0.001.
MAX_CLOSED_FORM_TERMS = 50_000
# impressions_needed_to_decide gives up past this many impressions: the CTR sits on an edge.
MAX_IMPRESSIONS = 10**12
# Longest linear scan for the first whole-click total that decides (see below).
MAX_SCAN = 5_000

Number = int | float | Decimal | Fraction


# --- input checks -------------------------------------------------------------------------


def _count(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.one(field, "must be a whole number")
    if value < 0:
        raise ValidationFailed.one(field, "must not be negative")
    return value


def _counts(successes: object, trials: object, s_field: str, t_field: str) -> tuple[int, int]:
    s, n = _count(successes, s_field), _count(trials, t_field)
    if s > n:
        raise ValidationFailed.one(s_field, f"cannot be more than {t_field}")
    return s, n


def _real(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, Fraction)):
        raise ValidationFailed.one(field, "must be a number")
    x = float(value)
    if not math.isfinite(x):
        raise ValidationFailed.one(field, "must be a finite number")
    return x


def _unit(value: object, field: str) -> float:
    x = _real(value, field)
    if not 0.0 < x < 1.0:
        raise ValidationFailed.one(field, "must be between 0 and 1, exclusive")
    return x


def _positive(value: object, field: str) -> float:
    x = _real(value, field)
    if x <= 0:
        raise ValidationFailed.one(field, "must be greater than 0")
    return x


def z_score(confidence: float = 0.95) -> float:
    """The two-sided critical value: 1.959963984540054 for 95% confidence."""
    c = _unit(confidence, "confidence")
    return _NORMAL.inv_cdf(1 - (1 - c) / 2)


# --- rates and intervals -------------------------------------------------------------------


def ctr(clicks: int, impressions: int) -> Fraction | None:
    """The exact click-through rate, or None without impressions."""
    c, n = _counts(clicks, impressions, "clicks", "impressions")
    return Fraction(c, n) if n else None


def to_percent(rate: Fraction | float, places: int = 2) -> Decimal:
    """A rate as a percentage rounded half-even: Fraction(3, 200) -> Decimal('1.50')."""
    if isinstance(rate, Fraction):
        exact = Decimal(rate.numerator) / Decimal(rate.denominator)
    else:
        exact = Decimal(rate)
    return (exact * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Interval:
    """A confidence interval for a rate. `point` is the observed rate (None without data)."""

    low: float
    high: float
    point: float | None
    confidence: float = 0.95

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low


def _upper_raw(s: float, n: float, z: float) -> float:
    # The "+" root of the score quadratic: a sum of positive terms, so no cancellation.
    p, z2 = s / n, z * z
    return (p + z2 / (2 * n) + z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))) / (1 + z2 / n)


def _lower_raw(s: float, n: float, z: float) -> float:
    # The "-" root as product-of-roots / "+" root: exact at tiny CTRs where a difference is not.
    if s <= 0:
        return 0.0
    p = s / n
    return p * p / ((1 + z * z / n) * _upper_raw(s, n, z))


def _wilson(s: float, n: float, z: float) -> tuple[float, float]:
    """Wilson bounds for possibly fractional successes; the side near 0 or 1 via the complement."""
    if s <= n - s:
        low, high = _lower_raw(s, n, z), _upper_raw(s, n, z)
    else:
        low, high = 1 - _upper_raw(n - s, n, z), 1 - _lower_raw(n - s, n, z)
    return max(0.0, low), min(1.0, high)


Z95 = z_score(0.95)


def wilson_bounds(successes: int, trials: int) -> tuple[float, float]:
    """The 95% Wilson bounds exactly as :func:`wilson_interval` computes them, without its
    checks: for loops over many report rows whose counts already satisfy
    0 <= successes <= trials and trials > 0."""
    return _wilson(successes, trials, Z95)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for `successes` out of `trials`; always inside [0, 1].

    Convention for no trials: the whole range (0, 1) with point None. With 0 successes the low
    end is exactly 0; with successes == trials the high end is exactly 1.
    """
    s, n = _counts(successes, trials, "successes", "trials")
    z = Z95 if confidence == 0.95 else z_score(confidence)
    if n == 0:
        return Interval(0.0, 1.0, None, confidence)
    low, high = _wilson(s, n, z)
    return Interval(low, high, s / n, confidence)


class Position(StrEnum):
    """Where an interval sits against a band [low, high]."""

    BELOW = "below"
    WITHIN = "within"
    ABOVE = "above"
    NOT_ENOUGH_DATA = "not_enough_data"


def _band(low: object, high: object) -> tuple[float, float | None]:
    lo = _real(low, "benchmark_low")
    hi = None if high is None else _real(high, "benchmark_high")
    if not 0.0 <= lo < 1.0:
        raise ValidationFailed.one("benchmark_low", "must be a rate in [0, 1)")
    if hi is not None and not lo <= hi <= 1.0:
        raise ValidationFailed.one("benchmark_high", "must be a rate between benchmark_low and 1")
    return lo, hi


def _classify(ci_low: float, ci_high: float, low: float, high: float | None) -> Position:
    if ci_high < low:
        return Position.BELOW
    if high is not None and ci_low > high:
        return Position.ABOVE
    if ci_low >= low and (high is None or ci_high <= high):
        return Position.WITHIN
    return Position.NOT_ENOUGH_DATA


def position(interval: Interval, low: Number, high: Number | None) -> Position:
    """BELOW/ABOVE when the interval lies wholly below `low`/above `high`, WITHIN when it lies
    wholly inside the band, otherwise NOT_ENOUGH_DATA. `high=None` means no upper edge."""
    lo, hi = _band(low, high)
    if interval.point is None:
        return Position.NOT_ENOUGH_DATA
    return _classify(interval.low, interval.high, lo, hi)


def impressions_needed_to_decide(
    clicks: int,
    impressions: int,
    benchmark_low: Number,
    benchmark_high: Number | None,
    confidence: float = 0.95,
) -> int | None:
    """How many more impressions, at the current CTR, until the Wilson interval settles where
    the CTR sits against the band (below, inside or above). 0 when it already does.

    None when it cannot be said: no impressions yet (no CTR to project), or the CTR sits on an
    edge of the band so no amount of data settles it (more than `MAX_IMPRESSIONS`).
    The answer allows for whole clicks: at `impressions + answer` impressions and
    `round(CTR * total)` clicks (half to even) the interval does decide.
    """
    s, n = _counts(clicks, impressions, "clicks", "impressions")
    low, high = _band(benchmark_low, benchmark_high)
    z = z_score(confidence)
    if n == 0:
        return None
    if _classify(*_wilson(s, n, z), low, high) is not Position.NOT_ENOUGH_DATA:
        return 0
    rate = Fraction(s, n)

    def decides(ci_low: float, ci_high: float) -> bool:
        return _classify(ci_low, ci_high, low, high) is not Position.NOT_ENOUGH_DATA

    def at_rate(total: int) -> bool:
        # Fractional clicks exactly at the current CTR; the intervals nest as `total` grows,
        # so this is monotone.
        return decides(*_wilson(float(rate * total), total, z))

    def any_rounding(total: int) -> bool:
        # Clicks rounded either way by up to half a click: more clicks raise both bounds, so
        # the bounds at s-1/2 and s+1/2 cover every whole-click outcome. Also monotone.
        expected = float(rate * total)
        ci_low = _wilson(max(0.0, expected - 0.5), total, z)[0]
        ci_high = _wilson(min(float(total), expected + 0.5), total, z)[1]
        return decides(ci_low, ci_high)

    surely = _first_total(any_rounding, n)
    if surely is None:
        return None
    earliest = _first_total(at_rate, n) or surely
    # Between the two, find the first total that decides with whole clicks (round half even).
    # Past MAX_SCAN the gap is under about 1% of the total, so the safe answer is close enough.
    for total in range(earliest, min(surely, earliest + MAX_SCAN)):
        if decides(*_wilson(round(rate * total), total, z)):
            return total - n
    return surely - n


def _first_total(settled: Callable[[int], bool], start: int) -> int | None:
    """The least total above `start` where a monotone `settled` holds; None past the limit."""
    lo, hi = start, 2 * start
    while not settled(hi):
        if hi > MAX_IMPRESSIONS:
            return None
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if settled(mid) else (mid, hi)
    return hi


# --- empirical-Bayes shrinkage -------------------------------------------------------------


@dataclass(frozen=True)
class BetaPrior:
    """A Beta(alpha, beta) prior for CTRs. Unpacks as `alpha0, beta0 = prior`.

    `items_used` is how many items the fit used; 0 means the fallback prior.
    """

    alpha: float
    beta: float
    items_used: int

    def __iter__(self) -> Iterator[float]:
        return iter((self.alpha, self.beta))

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def strength(self) -> float:
        """alpha + beta: how many impressions' worth of evidence the prior carries."""
        return self.alpha + self.beta


def shrink_beta_binomial(
    items: Sequence[tuple[int, int]],
    *,
    min_imps: int = 1000,
    min_items: int = 5,
    fallback_mean: float | None = None,
    fallback_strength: float = 1000.0,
) -> BetaPrior:
    """Fit a Beta prior to (clicks, impressions) items by the method of moments.

    Only items with at least `min_imps` impressions take part. Their observed rates vary by
    more than the true rates do, by binomial noise of about m(1-m)/n; that share is removed:
    var_true = (var_obs - m(1-m)·mean(1/n)) / (1 - mean(1/n)), then
    alpha + beta = m(1-m)/var_true - 1. The strength is capped at the fitted items' total
    impressions (a prior may not outweigh the data it came from) and floored at 1.

    With fewer than `min_items` such items, or no clicks among them, the fallback prior has
    mean `fallback_mean` (default: the pooled CTR of all items, (clicks+1)/(imps+2)) and
    strength `fallback_strength`.
    """
    if _count(min_imps, "min_imps") < 2:
        raise ValidationFailed.one("min_imps", "must be at least 2")
    if _count(min_items, "min_items") < 2:
        raise ValidationFailed.one("min_items", "must be at least 2")
    strength0 = _positive(fallback_strength, "fallback_strength")
    mean0 = None if fallback_mean is None else _unit(fallback_mean, "fallback_mean")
    pairs: list[tuple[int, int]] = []
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValidationFailed.one(f"items[{i}]", "must be a (clicks, impressions) pair")
        pairs.append(_counts(item[0], item[1], f"items[{i}].clicks", f"items[{i}].impressions"))

    used = [(c, n) for c, n in pairs if n >= min_imps]
    if len(used) >= min_items:
        rates = [c / n for c, n in used]
        m = fmean(rates)
        if 0.0 < m < 1.0:
            noise = fmean(1 / n for _, n in used)
            var_true = (variance(rates, m) - m * (1 - m) * noise) / (1 - noise)
            cap = float(sum(n for _, n in used))
            strength = cap if var_true <= 0 else min(cap, max(1.0, m * (1 - m) / var_true - 1))
            return BetaPrior(m * strength, (1 - m) * strength, len(used))

    if mean0 is None:
        if not pairs:
            raise ValidationFailed.one("items", "no items to fit and no fallback_mean given")
        mean0 = (sum(c for c, _ in pairs) + 1) / (sum(n for _, n in pairs) + 2)
    return BetaPrior(mean0 * strength0, (1 - mean0) * strength0, 0)


def shrunk_rate(clicks: int, impressions: int, alpha0: float, beta0: float) -> float:
    """(clicks + alpha0) / (impressions + alpha0 + beta0): the CTR pulled toward the prior."""
    c, n = _counts(clicks, impressions, "clicks", "impressions")
    a, b = _positive(alpha0, "alpha0"), _positive(beta0, "beta0")
    return (c + a) / (n + a + b)


# --- frequentist comparison ----------------------------------------------------------------


class ZTest(NamedTuple):
    """z > 0 when B's rate is higher; p_value is two-sided."""

    z: float
    p_value: float


def two_proportion_z_test(c_a: int, n_a: int, c_b: int, n_b: int) -> ZTest:
    """Pooled two-proportion z-test of A against B.

    z = (p_b - p_a) / sqrt(p(1-p)(1/n_a + 1/n_b)) with p = (c_a + c_b)/(n_a + n_b). When
    nobody (or everybody) clicked there is no variance and no evidence: z = 0, p = 1.
    """
    ca, na = _counts(c_a, n_a, "c_a", "n_a")
    cb, nb = _counts(c_b, n_b, "c_b", "n_b")
    for name, size in (("n_a", na), ("n_b", nb)):
        if size == 0:
            raise ValidationFailed.one(name, "needs at least one impression")
    pooled = (ca + cb) / (na + nb)
    se = math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    if se == 0:
        return ZTest(0.0, 1.0)
    z = (cb / nb - ca / na) / se
    return ZTest(z, math.erfc(abs(z) / math.sqrt(2)))


def sample_size_per_arm(
    baseline: float, relative_lift: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Impressions per arm to detect `relative_lift` (0.2 = +20%) over `baseline` CTR:
    ceil((z_{1-alpha/2} + z_{power})² · [p1(1-p1) + p2(1-p2)] / (p1 - p2)²).
    """
    p1 = _unit(baseline, "baseline")
    lift = _real(relative_lift, "relative_lift")
    a = _unit(alpha, "alpha")
    pw = _unit(power, "power")
    p2 = p1 * (1 + lift)
    if lift == 0 or not 0.0 < p2 < 1.0:
        raise ValidationFailed.one("relative_lift", "must move the baseline to a rate in (0, 1)")
    z = _NORMAL.inv_cdf(1 - a / 2) + _NORMAL.inv_cdf(pw)
    return math.ceil(z * z * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2)


class Trend(StrEnum):
    UP = "up"
    DOWN = "down"
    NO_CLEAR_CHANGE = "no clear change"
    NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class PeriodChange:
    """CTR of an earlier and a later period, the relative change, and whether it is real."""

    before: Fraction | None
    after: Fraction | None
    relative_change: float | None
    z: float | None
    p_value: float | None
    trend: Trend


def compare_periods(c1: int, n1: int, c2: int, n2: int, alpha: float = 0.05) -> PeriodChange:
    """Compare period 1 (before) with period 2 (after). UP or DOWN only when the z-test's
    p-value is below `alpha`; `relative_change` is (after - before)/before, None from 0."""
    before, after = ctr(c1, n1), ctr(c2, n2)
    a = _unit(alpha, "alpha")
    if before is None or after is None:
        return PeriodChange(before, after, None, None, None, Trend.NOT_ENOUGH_DATA)
    change = float((after - before) / before) if before else None
    z, p = two_proportion_z_test(c1, n1, c2, n2)
    trend = Trend.NO_CLEAR_CHANGE if p >= a else (Trend.UP if z > 0 else Trend.DOWN)
    return PeriodChange(before, after, change, z, p, trend)


# --- Bayesian comparison -------------------------------------------------------------------


def _posterior(clicks: object, imps: object, prior: object, tag: str) -> tuple[float, float]:
    c, n = _counts(clicks, imps, f"c_{tag}", f"n_{tag}")
    if not isinstance(prior, (tuple, list)) or len(prior) != 2:
        raise ValidationFailed.one("prior", "must be an (alpha, beta) pair")
    a0, b0 = _positive(prior[0], "prior"), _positive(prior[1], "prior")
    return c + a0, n - c + b0


def _lbeta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _series(a: float, b: float, c: float, d: float) -> float:
    """P(X > Y), X ~ Beta(a, b) with whole a, Y ~ Beta(c, d): Evan Miller's sum

    sum_{i<a} B(c+i, d+b) / ((b+i) B(1+i, b) B(c, d)), term by term through the ratio
    t_{i+1}/t_i = (c+i)(b+i) / ((c+d+b+i)(1+i)), kept in logs so no term under- or overflows.
    """
    log_t = _lbeta(c, d + b) - _lbeta(c, d)
    logs = [log_t]
    for i in range(int(a) - 1):
        log_t += math.log((c + i) * (b + i) / ((c + d + b + i) * (1 + i)))
        logs.append(log_t)
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(x - top) for x in logs))


def _normal_diff(ax: float, bx: float, ay: float, by: float) -> tuple[float, float]:
    """Mean and standard deviation of X - Y under normal approximations to both Betas."""

    def moments(a: float, b: float) -> tuple[float, float]:
        return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))

    (mx, vx), (my, vy) = moments(ax, bx), moments(ay, by)
    return mx - my, math.sqrt(vx + vy)


def _prob_greater(ax: float, bx: float, ay: float, by: float) -> float:
    """P(X > Y) for X ~ Beta(ax, bx), Y ~ Beta(ay, by).

    The closed form needs one whole parameter to sum over; by symmetry (1 - P(Y > X)) and
    by reflection (p -> 1 - p) any of the four will do, so the shortest sum is used. Past
    MAX_CLOSED_FORM_TERMS, a normal approximation.
    """
    plans: list[tuple[float, Callable[[], float]]] = [
        (ax, lambda: _series(ax, bx, ay, by)),
        (ay, lambda: 1 - _series(ay, by, ax, bx)),
        (by, lambda: _series(by, ay, bx, ax)),
        (bx, lambda: 1 - _series(bx, ax, by, ay)),
    ]
    usable = [(k, f) for k, f in plans if k.is_integer() and k <= MAX_CLOSED_FORM_TERMS]
    if usable:
        return min(1.0, max(0.0, min(usable, key=lambda kf: kf[0])[1]()))
    mu, sd = _normal_diff(ax, bx, ay, by)
    return _NORMAL.cdf(mu / sd)


def prob_b_beats_a(
    c_a: int, n_a: int, c_b: int, n_b: int, prior: tuple[float, float] = (1.0, 1.0)
) -> float:
    """Posterior probability that B's true CTR is higher than A's.

    Each arm's CTR is Beta(prior_alpha + clicks, prior_beta + non-clicks). Exact by Evan
    Miller's closed form while one posterior parameter is a whole number of at most
    MAX_CLOSED_FORM_TERMS (with whole-number priors that is min(clicks) + 1); otherwise a
    normal approximation to the difference. That approximation is close once both arms have
    thousands of clicks, but a prior with fractional alpha AND beta (such as a raw empirical-
    Bayes fit) forces it at any size, where with few clicks it can be off by about 0.02:
    round such a prior to whole numbers first.
    """
    aa, ba = _posterior(c_a, n_a, prior, "a")
    ab, bb = _posterior(c_b, n_b, prior, "b")
    return _prob_greater(ab, bb, aa, ba)


class ExpectedLoss(NamedTuple):
    """Expected CTR given up by choosing each arm (C. Stucchio, 2014), in rate units."""

    choose_a: float
    choose_b: float

    def decide(self, threshold: float) -> str | None:
        """'A' or 'B' once choosing it risks less than `threshold` of CTR, else None."""
        t = _positive(threshold, "threshold")
        best = min(("A", self.choose_a), ("B", self.choose_b), key=lambda kv: kv[1])
        return best[0] if best[1] < t else None


def expected_loss(
    c_a: int, n_a: int, c_b: int, n_b: int, prior: tuple[float, float] = (1.0, 1.0)
) -> ExpectedLoss:
    """E[max(p_a - p_b, 0)] (the loss of choosing B) and E[max(p_b - p_a, 0)] (choosing A).

    Uses x·Beta(a, b) density = a/(a+b)·Beta(a+1, b) density, so
    E[max(p_a - p_b, 0)] = m_a·P(Beta(a_a+1, b_a) > p_b) - m_b·P(p_a > Beta(a_b+1, b_b)).
    Past MAX_CLOSED_FORM_TERMS, the normal formula sd·φ(mu/sd) ± mu·Φ(±mu/sd).
    """
    aa, ba = _posterior(c_a, n_a, prior, "a")
    ab, bb = _posterior(c_b, n_b, prior, "b")
    whole = [k for k in (aa, ba, ab, bb) if k.is_integer()]
    if whole and min(whole) < MAX_CLOSED_FORM_TERMS:
        ma, mb = aa / (aa + ba), ab / (ab + bb)
        lose_b = ma * _prob_greater(aa + 1, ba, ab, bb) - mb * _prob_greater(aa, ba, ab + 1, bb)
        lose_a = mb * _prob_greater(ab + 1, bb, aa, ba) - ma * _prob_greater(ab, bb, aa + 1, ba)
        return ExpectedLoss(max(0.0, lose_a), max(0.0, lose_b))
    mu, sd = _normal_diff(ab, bb, aa, ba)  # distribution of p_b - p_a
    pdf = math.exp(-0.5 * (mu / sd) ** 2) / math.sqrt(2 * math.pi)
    return ExpectedLoss(sd * pdf + mu * _NORMAL.cdf(mu / sd), sd * pdf - mu * _NORMAL.cdf(-mu / sd))
