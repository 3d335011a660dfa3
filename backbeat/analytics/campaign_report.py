"""The parts of one campaign's report: its daily series against the pacing plan, breakdowns,
the creative A/B panel and trends. :class:`~backbeat.analytics.service.ReportService`
assembles them; they read the event store only through the report runner.

**Spend against the pacing plan.** The plan is even pacing: by the end of each local day the
campaign should have spent budget x (share of the flight elapsed by then), rounded down to a
micro. Cumulative spend counts from the flight's start, also when the report's period starts
later.

**The creative A/B panel** compares every creative with the best one. The best is the one
whose CTR has the highest Wilson lower bound (the creative we can be surest is good, so a
small creative with a lucky click does not win). For every other creative:

* the two-proportion z-test's p-value against the best (could the gap be luck?);
* P(this creative beats the best): the Bayesian probability with Beta(1, 1) priors
  (E. Miller's closed form);
* the expected loss of choosing it over the best, in CTR (C. Stucchio, 2014): when it is
  below a gap you care about, picking it costs little even if it is worse;
* the impressions still needed: per creative, to tell the observed gap apart at alpha 0.05
  with 80% power (the sample-size formula), less what the smaller of the two already has;
  None while either has no click, or when the CTRs are equal.

The panel is descriptive: it makes one comparison per creative and does not adjust for
making several. The weak-creative finding is the adjusted test (Holm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from backbeat.analytics.diagnosis.pacing import elapsed_share
from backbeat.analytics.dimensions import Dimension, FilterValue
from backbeat.analytics.inputs import CreativeFacts, DayFacts
from backbeat.analytics.metrics import Metric
from backbeat.analytics.result import Result, Row
from backbeat.analytics.stats import (
    Interval,
    expected_loss,
    prob_b_beats_a,
    sample_size_per_arm,
    two_proportion_z_test,
    wilson_interval,
)
from backbeat.analytics.trends import (
    BestBy,
    DirectionReading,
    PeriodComparison,
    PeriodTotals,
    best_week,
    direction,
    week_over_week,
)
from backbeat.domain.campaign import Campaign

M = Metric


@dataclass(frozen=True)
class Rate:
    """`successes` out of `trials` (clicks of impressions, say) with its Wilson 95% interval."""

    successes: int
    trials: int

    @property
    def value(self) -> Fraction | None:
        return Fraction(self.successes, self.trials) if self.trials else None

    @property
    def interval(self) -> Interval:
        return wilson_interval(min(self.successes, self.trials), self.trials)


@dataclass(frozen=True)
class SeriesPoint:
    """One local day: delivery, CTR, spend, and cumulative spend against the even plan."""

    day: date
    impressions: int
    clicks: int
    spend_micros: int
    cumulative_spend_micros: int
    planned_spend_micros: int

    @property
    def ctr(self) -> Rate:
        return Rate(self.clicks, self.impressions)


@dataclass(frozen=True)
class BreakdownLine:
    """One value of a breakdown dimension (a creative, a site, a country...)."""

    key: FilterValue | None
    label: str
    impressions: int
    clicks: int
    spend_micros: int
    reach: int

    @property
    def ctr(self) -> Rate:
        return Rate(self.clicks, self.impressions)


@dataclass(frozen=True)
class Breakdown:
    dimension: Dimension
    title: str
    lines: tuple[BreakdownLine, ...]


BREAKDOWNS: tuple[tuple[Dimension, str], ...] = (
    (Dimension.CREATIVE, "By creative"),
    (Dimension.SITE, "By site"),
    (Dimension.GENRE_MATCH, "By genre match"),
    (Dimension.COUNTRY, "By country"),
    (Dimension.DEVICE, "By device"),
)
BREAKDOWN_METRICS = (M.IMPRESSIONS, M.CLICKS, M.SPEND, M.REACH)
SERIES_METRICS = (M.IMPRESSIONS, M.CLICKS, M.SPEND)


def _int(row: Row, metric: Metric) -> int:
    value = row[metric]
    return value if isinstance(value, int) else 0


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The instant the local `day` ends (the next local midnight)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


def planned_spend(campaign: Campaign, day: date) -> int:
    """What even pacing would have spent by the end of local `day`, in micros."""
    share = elapsed_share(campaign.start, campaign.end, end_of_day(day, campaign.tz))
    return int(campaign.budget_total_micros * share)


def series(result: Result, campaign: Campaign, spent_before: int) -> tuple[SeriesPoint, ...]:
    """Daily points from a day-bucketed result of :data:`SERIES_METRICS`."""
    out = []
    running = spent_before
    for r in result.rows:
        assert isinstance(r.bucket, date)
        spend = _int(r, M.SPEND)
        running += spend
        out.append(
            SeriesPoint(
                r.bucket,
                _int(r, M.IMPRESSIONS),
                _int(r, M.CLICKS),
                spend,
                running,
                planned_spend(campaign, r.bucket),
            )
        )
    return tuple(out)


def breakdown(
    dimension: Dimension, title: str, result: Result, labels: dict[FilterValue, str]
) -> Breakdown:
    """A breakdown's lines from a result grouped by `dimension` alone, most impressions first."""
    lines = []
    for r in result.rows:
        key = r.dimensions[0]
        label = labels.get(key, str(key)) if key is not None else "(none)"
        lines.append(
            BreakdownLine(
                key,
                label,
                _int(r, M.IMPRESSIONS),
                _int(r, M.CLICKS),
                _int(r, M.SPEND),
                _int(r, M.REACH),
            )
        )
    lines.sort(key=lambda ln: (-ln.impressions, -ln.clicks, ln.label))
    return Breakdown(dimension, title, tuple(lines))


def genre_labels() -> dict[FilterValue, str]:
    return {True: "Sites matching your genres", False: "Other sites"}


# --- the creative A/B panel --------------------------------------------------------------


@dataclass(frozen=True)
class ABLine:
    """One creative against the best (the best's own line has no comparison figures)."""

    creative_id: int
    name: str
    impressions: int
    clicks: int
    is_best: bool
    z: float | None = None
    p_value: float | None = None
    prob_beats_best: float | None = None
    expected_loss: float | None = None  # CTR given up by choosing it over the best
    more_impressions_needed: int | None = None

    @property
    def ctr(self) -> Rate:
        return Rate(self.clicks, self.impressions)


@dataclass(frozen=True)
class ABPanel:
    best: ABLine | None
    lines: tuple[ABLine, ...]


def _more_needed(best: CreativeFacts, other: CreativeFacts) -> int | None:
    if not best.clicks or not other.clicks:
        return None
    p1 = best.clicks / best.impressions
    p2 = other.clicks / other.impressions
    if p1 == p2 or p1 >= 1 or p2 >= 1:
        return None
    per_arm = sample_size_per_arm(p1, p2 / p1 - 1)
    return max(0, per_arm - min(best.impressions, other.impressions))


def ab_panel(creatives: Sequence[CreativeFacts]) -> ABPanel:
    """Every creative with impressions against the best one (see the module docstring)."""
    ranked = [c for c in creatives if c.impressions > 0]
    if not ranked:
        return ABPanel(None, ())
    best = max(ranked, key=lambda c: (wilson_interval(c.clicks, c.impressions).low, c.clicks))
    lines = []
    for c in sorted(ranked, key=lambda c: (-c.impressions, c.creative_id)):
        if c is best:
            lines.append(ABLine(c.creative_id, c.name, c.impressions, c.clicks, True))
            continue
        z, p = two_proportion_z_test(best.clicks, best.impressions, c.clicks, c.impressions)
        lines.append(
            ABLine(
                c.creative_id,
                c.name,
                c.impressions,
                c.clicks,
                False,
                z,
                p,
                prob_b_beats_a(best.clicks, best.impressions, c.clicks, c.impressions),
                expected_loss(best.clicks, best.impressions, c.clicks, c.impressions).choose_b,
                _more_needed(best, c),
            )
        )
    head = next(ln for ln in lines if ln.is_best)
    return ABPanel(head, tuple(lines))


# --- trends ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendsBundle:
    """Week over week, the best weeks by CTR and by clicks, and the direction of the CTR."""

    week_over_week: PeriodComparison | None
    best_week_by_ctr: PeriodTotals | None
    best_week_by_clicks: PeriodTotals | None
    direction: DirectionReading


def trends_of(daily: Sequence[DayFacts]) -> TrendsBundle:
    return TrendsBundle(
        week_over_week(daily),
        best_week(daily, BestBy.CTR),
        best_week(daily, BestBy.CLICKS),
        direction(daily),
    )
