"""The metric registry: one definition per reported metric, in one place.

A metric is computed from *base aggregates* (:class:`Base`): plain counts and sums that the
SQL builder knows how to compute in every dialect. The registry says which bases each metric
needs and how to turn them into the metric's value, exactly:

* counts are ``int``;
* money is integer micros (``int`` for sums such as spend, ``Fraction`` of micros for
  per-unit prices such as eCPM, so nothing is rounded until it is rendered);
* rates and ratios are ``Fraction``;
* ``None`` when the value is undefined (a CTR without impressions).

Rates whose numerator is a subset of their denominator carry a Wilson 95% interval
(:func:`backbeat.analytics.stats.wilson_interval`); :meth:`MetricDef.interval` returns it.

Validity: every base except the two invalid-traffic ones counts valid events only unless
the query says ``include_invalid``. The invalid ones count events of the tracked kinds
(impression, viewable, click, conversion); decisions are not traffic and never count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from backbeat.analytics.stats import Interval, wilson_interval
from backbeat.domain.events import Attribution, EventType

Value = int | Fraction | None


class Unit(StrEnum):
    COUNT = "count"
    PERCENT = "percent"  # a rate in [0, 1], shown as a percentage
    MONEY = "money"  # micros of the account currency
    RATIO = "ratio"


class Validity(StrEnum):
    """Which events a base reads, by their `valid` flag."""

    VALID = "valid"  # valid only, or all when the query includes invalid traffic
    ANY = "any"
    INVALID = "invalid"


class Measure(StrEnum):
    COUNT = "count"  # number of events
    PRICE = "price"  # sum of price_micros
    VISITORS = "visitors"  # exact number of distinct (non-anonymous) visitors


class Base(StrEnum):
    """A base aggregate the SQL computes; every metric is derived from these."""

    IMPRESSIONS = "impressions"
    VIEWABLE = "viewable"
    CLICKS = "clicks"
    CONVERSIONS = "conversions"
    CT_CONVERSIONS = "ct_conversions"
    VT_CONVERSIONS = "vt_conversions"
    SPEND = "spend"
    VISITORS = "visitors"
    TRACKED = "tracked"
    INVALID = "invalid"


TRACKED_TYPES = (EventType.IMPRESSION, EventType.VIEWABLE, EventType.CLICK, EventType.CONVERSION)
# Billing happens on impressions (CPM) and clicks (CPC). Decision rows carry the unit price
# too (for pacing), and must never count as spend.
BILLED_TYPES = (EventType.IMPRESSION, EventType.CLICK)


@dataclass(frozen=True)
class BaseSpec:
    """What a base aggregate counts: events of `types`, of `validity`, optionally of one
    `attribution`, measured by `measure`. `additive` bases may be summed across rows
    (reach may not), so an hourly rollup that has their `columns` can answer them."""

    base: Base
    types: tuple[EventType, ...]
    measure: Measure = Measure.COUNT
    validity: Validity = Validity.VALID
    attribution: Attribution | None = None

    @property
    def additive(self) -> bool:
        return self.measure is not Measure.VISITORS

    @property
    def columns(self) -> tuple[str, ...]:
        """Event columns the base's condition reads besides ``type`` and ``valid``."""
        if self.measure is Measure.VISITORS:
            return ("visitor",)
        return ("attribution",) if self.attribution is not None else ()


BASES: dict[Base, BaseSpec] = {
    s.base: s
    for s in (
        BaseSpec(Base.IMPRESSIONS, (EventType.IMPRESSION,)),
        BaseSpec(Base.VIEWABLE, (EventType.VIEWABLE,)),
        BaseSpec(Base.CLICKS, (EventType.CLICK,)),
        BaseSpec(Base.CONVERSIONS, (EventType.CONVERSION,)),
        BaseSpec(
            Base.CT_CONVERSIONS, (EventType.CONVERSION,), attribution=Attribution.CLICK_THROUGH
        ),
        BaseSpec(
            Base.VT_CONVERSIONS, (EventType.CONVERSION,), attribution=Attribution.VIEW_THROUGH
        ),
        BaseSpec(Base.SPEND, BILLED_TYPES, Measure.PRICE),
        BaseSpec(Base.VISITORS, (EventType.IMPRESSION,), Measure.VISITORS),
        BaseSpec(Base.TRACKED, TRACKED_TYPES, validity=Validity.ANY),
        BaseSpec(Base.INVALID, TRACKED_TYPES, validity=Validity.INVALID),
    )
}


class Metric(StrEnum):
    IMPRESSIONS = "impressions"
    VIEWABLE_IMPRESSIONS = "viewable_impressions"
    VIEWABILITY_RATE = "viewability_rate"
    REACH = "reach"
    FREQUENCY = "frequency"
    CLICKS = "clicks"
    CTR = "ctr"
    SPEND = "spend"
    ECPM = "ecpm"
    CPC = "cpc"
    CONVERSIONS = "conversions"
    CLICK_THROUGH_CONVERSIONS = "click_through_conversions"
    VIEW_THROUGH_CONVERSIONS = "view_through_conversions"
    CONVERSION_RATE = "conversion_rate"
    COST_PER_CONVERSION = "cost_per_conversion"
    INVALID_EVENTS = "invalid_events"
    INVALID_RATE = "invalid_rate"


Bases = Mapping[Base, int]


@dataclass(frozen=True)
class MetricDef:
    """One metric: the count or sum `numerator`, or `factor` x `numerator` / `denominator`
    (None without a denominator). `interval` marks rates whose numerator is a subset of
    their denominator: they carry a Wilson 95% interval.

    Declaring metrics this way (instead of as functions) lets a large report compute and
    render a metric for all its rows in one loop of integer arithmetic
    (:mod:`backbeat.analytics.columns`), with the same exact values."""

    metric: Metric
    label: str
    formula: str
    unit: Unit
    higher_is_better: bool
    numerator: Base
    denominator: Base | None = None
    factor: int = 1
    interval_of_rate: bool = False

    @property
    def name(self) -> str:
        return self.metric.value

    @property
    def needs(self) -> tuple[Base, ...]:
        """The base aggregates the metric is computed from."""
        if self.denominator is None:
            return (self.numerator,)
        return (self.numerator, self.denominator)

    def value(self, bases: Bases) -> Value:
        """The metric's exact value from base aggregates (missing bases count as 0)."""
        num = bases.get(self.numerator, 0)
        if self.denominator is None:
            return num
        den = bases.get(self.denominator, 0)
        return Fraction(num * self.factor, den) if den else None

    def rate_of(self, bases: Bases) -> tuple[int, int] | None:
        """(successes, trials) of a rate with an interval; None for other metrics."""
        if not self.interval_of_rate or self.denominator is None:
            return None
        return bases.get(self.numerator, 0), bases.get(self.denominator, 0)

    def interval(self, bases: Bases) -> Interval | None:
        """The Wilson 95% interval of a rate; None for other metrics, without trials, or when
        the numerator is not a subset of the denominator (e.g. conversions > clicks)."""
        pair = self.rate_of(bases)
        if pair is None:
            return None
        successes, trials = pair
        if trials <= 0 or not 0 <= successes <= trials:
            return None
        return wilson_interval(successes, trials)


B = Base
_DEFS: tuple[MetricDef, ...] = (
    MetricDef(Metric.IMPRESSIONS, "Impressions", "valid impressions (begin to render)",
              Unit.COUNT, True, B.IMPRESSIONS),
    MetricDef(Metric.VIEWABLE_IMPRESSIONS, "Viewable impressions",
              "impressions that met the MRC viewability standard", Unit.COUNT, True,
              B.VIEWABLE),
    MetricDef(Metric.VIEWABILITY_RATE, "Viewability rate",
              "viewable impressions / impressions: an impression the tag could not measure "
              "(a browser without IntersectionObserver, an ad rendered through POST /decide) "
              "counts as not viewable, so this is a floor", Unit.PERCENT, True, B.VIEWABLE,
              B.IMPRESSIONS,
              interval_of_rate=True),
    MetricDef(Metric.REACH, "Reach",
              "distinct visitors with at least one impression (exact; anonymous visitors "
              "excluded; never summed across buckets)", Unit.COUNT, True, B.VISITORS),
    MetricDef(Metric.FREQUENCY, "Frequency", "impressions / reach", Unit.RATIO, False,
              B.IMPRESSIONS, B.VISITORS),
    MetricDef(Metric.CLICKS, "Clicks", "valid clicks", Unit.COUNT, True, B.CLICKS),
    MetricDef(Metric.CTR, "CTR", "clicks / impressions", Unit.PERCENT, True, B.CLICKS,
              B.IMPRESSIONS, interval_of_rate=True),
    MetricDef(Metric.SPEND, "Spend", "sum of the prices billed on impressions and clicks",
              Unit.MONEY, False, B.SPEND),
    MetricDef(Metric.ECPM, "eCPM", "spend / impressions x 1000", Unit.MONEY, False, B.SPEND,
              B.IMPRESSIONS, factor=1000),
    MetricDef(Metric.CPC, "CPC", "spend / clicks", Unit.MONEY, False, B.SPEND, B.CLICKS),
    MetricDef(Metric.CONVERSIONS, "Conversions", "valid conversions", Unit.COUNT, True,
              B.CONVERSIONS),
    MetricDef(Metric.CLICK_THROUGH_CONVERSIONS, "Click-through conversions",
              "conversions attributed to a click", Unit.COUNT, True, B.CT_CONVERSIONS),
    MetricDef(Metric.VIEW_THROUGH_CONVERSIONS, "View-through conversions",
              "conversions attributed to an impression without a click", Unit.COUNT, True,
              B.VT_CONVERSIONS),
    MetricDef(Metric.CONVERSION_RATE, "Conversion rate", "conversions / clicks",
              Unit.PERCENT, True, B.CONVERSIONS, B.CLICKS, interval_of_rate=True),
    MetricDef(Metric.COST_PER_CONVERSION, "Cost per conversion", "spend / conversions",
              Unit.MONEY, False, B.SPEND, B.CONVERSIONS),
    MetricDef(Metric.INVALID_EVENTS, "Invalid events",
              "impressions, views, clicks and conversions flagged invalid (group by "
              "drop_reason for the reasons)", Unit.COUNT, False, B.INVALID),
    MetricDef(Metric.INVALID_RATE, "Invalid rate",
              "invalid events / all impressions, views, clicks and conversions",
              Unit.PERCENT, False, B.INVALID, B.TRACKED, interval_of_rate=True),
)
REGISTRY: dict[Metric, MetricDef] = {d.metric: d for d in _DEFS}


def get(metric: Metric) -> MetricDef:
    """The definition of `metric`."""
    return REGISTRY[metric]


def bases_for(metrics: tuple[Metric, ...] | list[Metric]) -> tuple[Base, ...]:
    """The base aggregates the metrics need, each once, in the order of :class:`Base`."""
    wanted = {b for m in metrics for b in REGISTRY[m].needs}
    return tuple(b for b in Base if b in wanted)


def _check_registry() -> None:
    missing = set(Metric) - set(REGISTRY)
    if missing:  # a metric added to the enum without a definition
        raise RuntimeError(f"metrics without a definition: {sorted(missing)}")


_check_registry()
