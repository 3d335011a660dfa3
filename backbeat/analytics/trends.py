"""Trends over a campaign's daily series: week over week, any period over another, your best
week, and whether the click rate is improving, declining or steady.

Definitions (see docs/analytics.md):
- A *week* is a block of 7 calendar days counted from an anchor day (by default the first day
  of the series, so week 1 is the campaign's first seven days). Days missing from the series
  had no delivery. "Week over week" compares the 7 days ending on the last day of data with
  the 7 days before them.
- Changes in CTR between two periods use `stats.compare_periods` (two-proportion z-test): up
  or down only when p < alpha, otherwise "no clear change".
- *Best week by CTR*: among weeks with at least `min_impressions`, the one whose CTR has the
  highest Wilson lower bound, i.e. the week we can be surest had a high click rate, so a small
  week with a lucky click or two does not win. *Best week by clicks*: the most clicks (ties to
  the higher CTR).
- *Direction*: the Cochran–Armitage trend test of CTR across the weeks that have at least
  `min_impressions`, scored by week number. IMPROVING or DECLINING when p < alpha. STEADY only
  when there was enough data to have seen a 20% change between the first and second half
  (the sample size for that, per half, at alpha and 80% power); otherwise NOT_ENOUGH_DATA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from backbeat.analytics.diagnosis.compare import trend_test
from backbeat.analytics.diagnosis.wording import interval_text, p_text, share
from backbeat.analytics.inputs import Counts, DayFacts
from backbeat.analytics.stats import (
    Interval,
    PeriodChange,
    Trend,
    compare_periods,
    sample_size_per_arm,
    wilson_interval,
)
from backbeat.errors import ValidationFailed

WEEK = 7
MIN_IMPRESSIONS = 1_000
STEADY_DETECTABLE_CHANGE = 0.20


@dataclass(frozen=True)
class PeriodTotals:
    """Delivery between `first` and `last`, both days included."""

    first: date
    last: date
    impressions: int
    clicks: int
    spend_micros: int
    days_with_data: int

    @property
    def interval(self) -> Interval:
        return wilson_interval(self.clicks, self.impressions)

    @property
    def counts(self) -> Counts:
        return Counts(self.impressions, self.clicks)


def _days(daily: Sequence[DayFacts]) -> list[DayFacts]:
    if not all(isinstance(d, DayFacts) for d in daily):
        raise ValidationFailed.one("daily", "must be a list of DayFacts")
    days = sorted(daily, key=lambda d: d.day)
    if len({d.day for d in days}) != len(days):
        raise ValidationFailed.one("daily", "each day may appear only once")
    return days


def totals(daily: Sequence[DayFacts], first: date, last: date) -> PeriodTotals:
    """Sum the days from `first` to `last` inclusive."""
    if last < first:
        raise ValidationFailed.one("last", "must not be before first")
    inside = [d for d in _days(daily) if first <= d.day <= last]
    return PeriodTotals(
        first,
        last,
        sum(d.impressions for d in inside),
        sum(d.clicks for d in inside),
        sum(d.spend_micros for d in inside),
        len(inside),
    )


@dataclass(frozen=True)
class PeriodComparison:
    """Two periods' CTRs and whether the change between them is real."""

    before: PeriodTotals
    after: PeriodTotals
    change: PeriodChange
    sentence: str


def _sentence(before: PeriodTotals, after: PeriodTotals, change: PeriodChange) -> str:
    if change.trend is Trend.NOT_ENOUGH_DATA:
        return "One of the two periods has no impressions, so there is nothing to compare."
    moved = (
        f"Your CTR went from {interval_text(before.interval)} to {interval_text(after.interval)}"
    )
    if change.trend is Trend.NO_CLEAR_CHANGE:
        return (
            f"{moved}. That difference is small enough to be chance"
            f" ({p_text(change.p_value or 1.0)}), so there is no clear change."
        )
    how = "up" if change.trend is Trend.UP else "down"
    size = f" {share(abs(change.relative_change))}" if change.relative_change is not None else ""
    return f"{moved}: {how}{size}, a real change ({p_text(change.p_value or 0.0)})."


def period_over_period(
    daily: Sequence[DayFacts],
    before: tuple[date, date],
    after: tuple[date, date],
    alpha: float = 0.05,
) -> PeriodComparison:
    """Compare CTR between two periods (each a (first, last) pair of days, inclusive)."""
    b, a = totals(daily, *before), totals(daily, *after)
    change = compare_periods(b.clicks, b.impressions, a.clicks, a.impressions, alpha)
    return PeriodComparison(b, a, change, _sentence(b, a, change))


def week_over_week(
    daily: Sequence[DayFacts], through: date | None = None, alpha: float = 0.05
) -> PeriodComparison | None:
    """The 7 days ending on `through` (default: the last day of data) against the 7 before.
    None without any data."""
    days = _days(daily)
    if not days:
        return None
    end = through or days[-1].day
    week = timedelta(days=WEEK)
    last_week = (end - week + timedelta(days=1), end)
    prior_week = (last_week[0] - week, last_week[0] - timedelta(days=1))
    return period_over_period(days, prior_week, last_week, alpha)


def weeks(daily: Sequence[DayFacts], anchor: date | None = None) -> list[PeriodTotals]:
    """Consecutive 7-day blocks from `anchor` (default: the first day of data) to the last day
    of data. The last block may run past the data; its `days_with_data` says so."""
    days = _days(daily)
    if not days:
        return []
    start = anchor or days[0].day
    if start > days[-1].day:
        return []
    blocks = []
    first = start
    while first <= days[-1].day:
        blocks.append(totals(days, first, first + timedelta(days=WEEK - 1)))
        first += timedelta(days=WEEK)
    return blocks


class BestBy(StrEnum):
    CTR = "ctr"
    CLICKS = "clicks"


def best_week(
    daily: Sequence[DayFacts],
    by: BestBy = BestBy.CTR,
    *,
    min_impressions: int = MIN_IMPRESSIONS,
    anchor: date | None = None,
) -> PeriodTotals | None:
    """Your best week (see the module docstring for the two definitions); None when no week
    has `min_impressions`."""
    eligible = [w for w in weeks(daily, anchor) if w.impressions >= min_impressions]
    if not eligible:
        return None
    if BestBy(by) is BestBy.CTR:
        return max(eligible, key=lambda w: (w.interval.low, w.clicks))
    return max(eligible, key=lambda w: (w.clicks, w.clicks / w.impressions))


class Direction(StrEnum):
    IMPROVING = "improving"
    DECLINING = "declining"
    STEADY = "steady"
    NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class DirectionReading:
    """Which way the weekly CTR is heading, the test behind it, and a sentence."""

    direction: Direction
    weeks_used: int
    z: float | None
    p_value: float | None
    sentence: str


def direction(
    daily: Sequence[DayFacts],
    *,
    alpha: float = 0.05,
    min_impressions: int = MIN_IMPRESSIONS,
    anchor: date | None = None,
) -> DirectionReading:
    """Is the weekly CTR improving, declining or steady? (see the module docstring)"""
    used = [w for w in weeks(daily, anchor) if w.impressions >= min_impressions]
    if len(used) < 2:
        return DirectionReading(
            Direction.NOT_ENOUGH_DATA,
            len(used),
            None,
            None,
            f"We need at least two weeks with {min_impressions:,} impressions each to see a trend.",
        )
    test = trend_test([(float(i), w.counts) for i, w in enumerate(used)])
    if test is None:
        return DirectionReading(
            Direction.NOT_ENOUGH_DATA, len(used), None, None, "Nobody has clicked yet."
        )
    span = f"over {len(used)} weeks ({p_text(test.p_value)})"
    if test.p_value < alpha:
        way = Direction.IMPROVING if test.z > 0 else Direction.DECLINING
        return DirectionReading(
            way, len(used), test.z, test.p_value, f"Your click rate is {way.value} {span}."
        )
    pooled = sum(w.clicks for w in used) / sum(w.impressions for w in used)
    half = sum(w.impressions for w in used) // 2
    enough = half >= sample_size_per_arm(pooled, STEADY_DETECTABLE_CHANGE, alpha=alpha)
    if enough:
        return DirectionReading(
            Direction.STEADY,
            len(used),
            test.z,
            test.p_value,
            f"Your click rate is steady {span}: a change of "
            f"{share(STEADY_DETECTABLE_CHANGE)} would have shown.",
        )
    return DirectionReading(
        Direction.NOT_ENOUGH_DATA,
        len(used),
        test.z,
        test.p_value,
        f"No clear trend {span}, but there is too little data to call it steady yet.",
    )
