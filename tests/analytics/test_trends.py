"""Trends: period comparisons, weeks, the best week and the direction of the click rate."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from backbeat.analytics.inputs import DayFacts
from backbeat.analytics.stats import Trend, compare_periods, wilson_interval
from backbeat.analytics.trends import (
    BestBy,
    Direction,
    best_week,
    direction,
    period_over_period,
    totals,
    week_over_week,
    weeks,
)
from backbeat.errors import ValidationFailed

D0 = date(2025, 3, 1)


def series(per_day: list[tuple[int, int]], start: date = D0) -> list[DayFacts]:
    return [
        DayFacts(start + timedelta(days=i), n, c, spend_micros=n * 2_500)
        for i, (n, c) in enumerate(per_day)
    ]


def test_totals_sum_a_closed_range_and_skip_missing_days() -> None:
    days = series([(1_000, 10)] * 10)
    del days[3]
    t = totals(days, D0, D0 + timedelta(days=6))
    assert (t.impressions, t.clicks, t.spend_micros, t.days_with_data) == (6_000, 60, 15_000_000, 6)
    assert t.interval == wilson_interval(60, 6_000)
    with pytest.raises(ValidationFailed) as exc:
        totals(days, D0 + timedelta(days=2), D0)
    assert exc.value.fields[0].field == "last"


def test_daily_input_is_checked() -> None:
    d = DayFacts(D0, 10, 1)
    with pytest.raises(ValidationFailed):
        weeks([d, d])
    with pytest.raises(ValidationFailed):
        weeks([(D0, 10, 1)])  # type: ignore[list-item]


def test_weeks_are_seven_day_blocks_from_the_first_day() -> None:
    days = series([(1_000, 10)] * 16)
    blocks = weeks(days)
    assert [(w.first, w.last, w.days_with_data) for w in blocks] == [
        (D0, D0 + timedelta(days=6), 7),
        (D0 + timedelta(days=7), D0 + timedelta(days=13), 7),
        (D0 + timedelta(days=14), D0 + timedelta(days=20), 2),
    ]
    assert weeks([]) == []
    anchored = weeks(days, anchor=D0 - timedelta(days=3))
    assert anchored[0].days_with_data == 4


def test_week_over_week_matches_compare_periods() -> None:
    days = series([(10_000, 50)] * 7 + [(10_000, 80)] * 7)
    wow = week_over_week(days)
    assert wow is not None
    assert wow.before.first == D0 and wow.after.last == D0 + timedelta(days=13)
    expected = compare_periods(350, 70_000, 560, 70_000)
    assert wow.change == expected
    assert wow.change.trend is Trend.UP
    assert "up 60%, a real change (p < 0.0001)" in wow.sentence
    assert week_over_week([]) is None


def test_period_over_period_without_a_clear_change() -> None:
    days = series([(2_000, 10)] * 14)
    cmp = period_over_period(
        days, (D0, D0 + timedelta(days=6)), (D0 + timedelta(days=7), D0 + timedelta(days=13))
    )
    assert cmp.change.trend is Trend.NO_CLEAR_CHANGE
    assert "no clear change" in cmp.sentence
    empty = period_over_period(days, (D0 - timedelta(days=9), D0 - timedelta(days=8)), (D0, D0))
    assert empty.change.trend is Trend.NOT_ENOUGH_DATA
    assert "nothing to compare" in empty.sentence


def test_best_week_by_ctr_prefers_a_sure_thing_to_a_lucky_small_week() -> None:
    days = series(
        [(5_000, 45)] * 7  # 0.90% on 35,000 impressions
        + [(200, 2)] * 7  # 1.00% on 1,400 impressions: higher, but could be luck
        + [(5_000, 35)] * 7  # 0.70%
    )
    best = best_week(days)
    assert best is not None and best.first == D0
    # The small week is eligible (1,400 >= 1,000) but loses on its Wilson lower bound.
    assert wilson_interval(14, 1_400).low < wilson_interval(315, 35_000).low
    assert best_week(days, min_impressions=100) == best
    by_clicks = best_week(days, BestBy.CLICKS)
    assert by_clicks is not None and by_clicks.first == D0
    assert best_week(series([(10, 0)] * 7)) is None


def test_best_week_by_clicks_breaks_ties_on_ctr() -> None:
    days = series([(5_000, 40)] * 7 + [(4_000, 40)] * 7)
    best = best_week(days, "clicks")  # type: ignore[arg-type]
    assert best is not None and best.first == D0 + timedelta(days=7)


def test_direction_improving_and_declining() -> None:
    rising = series([(5_000, 20 + 5 * (i // 7)) for i in range(28)])
    up = direction(rising)
    assert up.direction is Direction.IMPROVING and up.weeks_used == 4
    assert up.z is not None and up.z > 0
    assert up.sentence.startswith("Your click rate is improving over 4 weeks")
    falling = series([(5_000, 40 - 5 * (i // 7)) for i in range(28)])
    assert direction(falling).direction is Direction.DECLINING


def test_direction_steady_needs_enough_data_to_have_seen_a_change() -> None:
    flat_big = series([(20_000, 150)] * 28)
    steady = direction(flat_big)
    assert steady.direction is Direction.STEADY
    assert "a change of 20% would have shown" in steady.sentence
    flat_small = series([(300, 2)] * 28)
    thin = direction(flat_small)
    assert thin.direction is Direction.NOT_ENOUGH_DATA
    assert thin.p_value is not None
    assert direction(series([(5_000, 30)] * 7)).direction is Direction.NOT_ENOUGH_DATA
    assert direction(series([(5_000, 0)] * 14)).sentence == "Nobody has clicked yet."
