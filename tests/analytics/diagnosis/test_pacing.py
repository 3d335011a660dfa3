"""Pacing: spend share against flight share, with a tolerance band and projections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from backbeat.analytics.diagnosis import DEFAULT_THRESHOLDS, FindingKind, Severity
from backbeat.analytics.diagnosis.pacing import elapsed_share, pacing
from backbeat.domain.campaign import Pacing
from tests.analytics.diagnosis.planted import BUDGET, END, START, base_facts

DAY = timedelta(days=1)  # the flight is 30 days


def at(days: float) -> datetime:
    return START + DAY * days


def test_elapsed_share_is_exact_and_clipped() -> None:
    assert elapsed_share(START, END, at(10)) == Fraction(1, 3)
    assert elapsed_share(START, END, at(-1)) == 0
    assert elapsed_share(START, END, at(31)) == 1


def test_on_pace_and_inside_the_band_says_nothing() -> None:
    for spent in (Fraction(1, 2), Fraction(43, 100), Fraction(57, 100)):
        facts = base_facts(spend_micros=int(BUDGET * spent))
        assert pacing(facts, at(15), DEFAULT_THRESHOLDS) is None


def test_before_the_flight_and_early_on_says_nothing() -> None:
    assert pacing(base_facts(spend_micros=0), at(-2), DEFAULT_THRESHOLDS) is None
    # 2 days in (under 10% of the flight), a slow start is normal.
    assert pacing(base_facts(spend_micros=0), at(2), DEFAULT_THRESHOLDS) is None


def test_under_delivery_projects_the_end_spend() -> None:
    facts = base_facts(spend_micros=BUDGET * 3 // 10)  # 30% spent at half time
    f = pacing(facts, at(15), DEFAULT_THRESHOLDS)
    assert f is not None
    assert f.kind is FindingKind.UNDER_DELIVERY
    assert f.severity is Severity.WARNING
    pace = next(e for e in f.evidence if e.label.startswith("Pace"))
    assert pace.value == 0.6
    projected = next(e for e in f.evidence if e.label == "Projected spend by the end")
    assert projected.value == BUDGET * 6 // 10
    assert "$600.00 of $1,000.00" in f.explanation


def test_badly_under_is_critical() -> None:
    f = pacing(base_facts(spend_micros=BUDGET // 10), at(15), DEFAULT_THRESHOLDS)
    assert f is not None and f.severity is Severity.CRITICAL


def test_over_delivery_says_when_the_money_runs_out() -> None:
    facts = base_facts(spend_micros=BUDGET * 3 // 4, timezone="Europe/Berlin")
    f = pacing(facts, at(15), DEFAULT_THRESHOLDS)
    assert f is not None
    assert f.kind is FindingKind.OVER_DELIVERY
    assert f.severity is Severity.WARNING
    # 75% spent at 50% elapsed: runs out at 2/3 of the flight, day 20, in Berlin time.
    assert f.evidence[-1].text == "2025-03-21 01:00 CET"
    assert f.title == "Your budget is being spent too fast"


def test_budget_gone_early_is_critical() -> None:
    f = pacing(base_facts(spend_micros=BUDGET), at(6), DEFAULT_THRESHOLDS)
    assert f is not None
    assert f.kind is FindingKind.OVER_DELIVERY and f.severity is Severity.CRITICAL
    assert f.title == "Your budget ran out early"
    assert f.evidence[-1].text == "2025-03-07 00:00 UTC"


def test_asap_campaigns_may_run_ahead() -> None:
    facts = base_facts(spend_micros=BUDGET * 9 // 10, pacing=Pacing.ASAP)
    assert pacing(facts, at(15), DEFAULT_THRESHOLDS) is None


def test_after_the_flight_unspent_budget_is_reported() -> None:
    done = datetime(2025, 4, 2, tzinfo=UTC)
    assert pacing(base_facts(spend_micros=BUDGET * 9 // 10), done, DEFAULT_THRESHOLDS) is None
    f = pacing(base_facts(spend_micros=BUDGET * 6 // 10), done, DEFAULT_THRESHOLDS)
    assert f is not None
    assert f.kind is FindingKind.UNDER_DELIVERY and f.severity is Severity.INFO
    assert "$400.00 was not used" in f.explanation
    f = pacing(base_facts(spend_micros=BUDGET // 5), done, DEFAULT_THRESHOLDS)
    assert f is not None and f.severity is Severity.WARNING
