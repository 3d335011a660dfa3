"""The metric registry: one exact definition per metric."""

from __future__ import annotations

from fractions import Fraction

from backbeat.analytics.metrics import (
    BASES,
    REGISTRY,
    Base,
    Metric,
    Unit,
    bases_for,
    get,
)
from backbeat.analytics.stats import wilson_interval
from backbeat.domain.events import EventType

B = Base
SAMPLE = {
    B.IMPRESSIONS: 10_000, B.VIEWABLE: 6_000, B.CLICKS: 150, B.CONVERSIONS: 12,
    B.CT_CONVERSIONS: 9, B.VT_CONVERSIONS: 3, B.SPEND: 85_000_000, B.VISITORS: 4_000,
    B.TRACKED: 16_500, B.INVALID: 330,
}


def test_every_metric_has_one_complete_definition() -> None:
    assert set(REGISTRY) == set(Metric)
    for metric, d in REGISTRY.items():
        assert d.metric is metric and d.name == metric.value
        assert d.label and d.formula and d.needs
        assert isinstance(d.unit, Unit)
        assert set(d.needs) <= set(BASES)


def test_values_are_exact() -> None:
    expected = {
        Metric.IMPRESSIONS: 10_000,
        Metric.VIEWABLE_IMPRESSIONS: 6_000,
        Metric.VIEWABILITY_RATE: Fraction(3, 5),
        Metric.REACH: 4_000,
        Metric.FREQUENCY: Fraction(5, 2),
        Metric.CLICKS: 150,
        Metric.CTR: Fraction(3, 200),
        Metric.SPEND: 85_000_000,
        Metric.ECPM: Fraction(8_500_000),
        Metric.CPC: Fraction(1_700_000, 3),
        Metric.CONVERSIONS: 12,
        Metric.CLICK_THROUGH_CONVERSIONS: 9,
        Metric.VIEW_THROUGH_CONVERSIONS: 3,
        Metric.CONVERSION_RATE: Fraction(12, 150),
        Metric.COST_PER_CONVERSION: Fraction(85_000_000, 12),
        Metric.INVALID_EVENTS: 330,
        Metric.INVALID_RATE: Fraction(1, 50),
    }
    assert {m: get(m).value(SAMPLE) for m in Metric} == expected


def test_undefined_without_a_denominator() -> None:
    for m in (Metric.CTR, Metric.ECPM, Metric.CPC, Metric.FREQUENCY, Metric.VIEWABILITY_RATE,
              Metric.CONVERSION_RATE, Metric.COST_PER_CONVERSION, Metric.INVALID_RATE):
        assert get(m).value({}) is None
        assert get(m).interval({}) is None
    assert get(Metric.CLICKS).value({}) == 0  # a missing base reads as zero


def test_rates_carry_wilson_intervals() -> None:
    assert get(Metric.CTR).interval(SAMPLE) == wilson_interval(150, 10_000)
    assert get(Metric.VIEWABILITY_RATE).interval(SAMPLE) == wilson_interval(6_000, 10_000)
    assert get(Metric.INVALID_RATE).interval(SAMPLE) == wilson_interval(330, 16_500)
    assert get(Metric.SPEND).interval(SAMPLE) is None
    # View-through conversions can outnumber clicks: no binomial interval then.
    assert get(Metric.CONVERSION_RATE).interval({B.CONVERSIONS: 5, B.CLICKS: 2}) is None
    assert get(Metric.CONVERSION_RATE).value({B.CONVERSIONS: 5, B.CLICKS: 2}) == Fraction(5, 2)


def test_bases_for_lists_each_base_once_in_a_stable_order() -> None:
    assert bases_for([Metric.CTR, Metric.CPC, Metric.CLICKS]) == (
        B.IMPRESSIONS, B.CLICKS, B.SPEND)
    assert bases_for([Metric.FREQUENCY]) == (B.IMPRESSIONS, B.VISITORS)


def test_base_specs() -> None:
    assert not BASES[B.VISITORS].additive and BASES[B.VISITORS].columns == ("visitor",)
    assert BASES[B.CT_CONVERSIONS].additive
    assert BASES[B.CT_CONVERSIONS].columns == ("attribution",)
    assert BASES[B.SPEND].additive and BASES[B.SPEND].columns == ()
    assert BASES[B.SPEND].types == (EventType.IMPRESSION, EventType.CLICK)
    assert EventType.DECISION not in BASES[B.TRACKED].types
