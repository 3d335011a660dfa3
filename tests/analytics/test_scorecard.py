"""Scorecards per objective: values, intervals, verdicts and what good looks like."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backbeat.analytics.benchmarks import Metric, Position, benchmark_for, verdict
from backbeat.analytics.scorecard import scorecard
from backbeat.analytics.stats import wilson_interval
from backbeat.domain.campaign import Objective
from backbeat.domain.taxonomy import AdFormat
from backbeat.errors import NotFound, ValidationFailed
from tests.analytics.diagnosis.planted import base_facts


def test_awareness_card() -> None:
    facts = base_facts(
        objective=Objective.AWARENESS,
        impressions=200_000,
        clicks=300,
        spend_micros=600_000_000,
        reach=50_000,
        viewable=150_000,
        measured=190_000,
    )
    card = scorecard(facts)
    assert [ln.metric for ln in card.lines] == ["Reach", "Frequency", "eCPM", "Viewability"]
    assert card.line("Reach").text == "50,000 people"
    assert card.line("Frequency").value == 4.0
    assert card.line("Frequency").text == "4.00 views per person"
    cpm = card.line("eCPM")
    assert cpm.value == Decimal(3)
    assert cpm.text == "$3.00"
    assert cpm.verdict is Position.WITHIN  # music display starts at $2.50, no ceiling
    assert cpm.verdict_text == "within the typical $2.50+"
    view = card.line("Viewability")
    assert view.interval == wilson_interval(150_000, 190_000)
    assert view.verdict is Position.WITHIN  # 78.9%, clearly above the 70% goal
    assert view.verdict_text == "meets the IAB's 70% goal"
    for ln in card.lines:
        assert ln.good


def test_awareness_card_without_measurements() -> None:
    card = scorecard(
        base_facts(objective=Objective.AWARENESS, impressions=0, clicks=0, spend_micros=0)
    )
    assert card.line("Reach").text == "not measured" and card.line("Reach").value is None
    assert card.line("Frequency").value is None
    assert card.line("eCPM").text == "no data" and card.line("eCPM").verdict is None
    assert card.line("Viewability").verdict is None


def test_viewability_below_goal_and_undecided() -> None:
    low = scorecard(base_facts(objective=Objective.AWARENESS, viewable=5_000, measured=10_000))
    assert low.line("Viewability").verdict is Position.BELOW
    close = scorecard(base_facts(objective=Objective.AWARENESS, viewable=69, measured=100))
    assert close.line("Viewability").verdict is Position.NOT_ENOUGH_DATA


def test_traffic_card() -> None:
    facts = base_facts(impressions=100_000, clicks=400, spend_micros=250_000_000)
    card = scorecard(facts)
    assert [ln.metric for ln in card.lines] == ["CTR", "CPC", "Clicks"]
    ctr = card.line("CTR")
    bench = benchmark_for("display", Metric.CTR)
    assert bench is not None
    v = verdict(400, 100_000, bench)
    assert ctr.interval == v.interval
    assert ctr.verdict is Position.BELOW is v.outcome
    assert ctr.verdict_text == v.sentence
    assert card.line("CPC").value == Decimal("0.625")
    assert card.line("CPC").text == "$0.62"  # half-even to the cent
    assert "a click costs $0.25–$0.50" in card.line("CPC").good
    assert card.line("Clicks").value == 400


def test_traffic_card_without_benchmark_or_clicks() -> None:
    card = scorecard(base_facts(format=AdFormat.NATIVE, clicks=0))
    assert card.line("CTR").verdict is None
    assert card.line("CPC").value is None and card.line("CPC").text == "no data"
    assert "a click costs" not in card.line("CPC").good


def test_retargeting_card() -> None:
    facts = base_facts(
        objective=Objective.RETARGETING,
        impressions=50_000,
        clicks=900,
        spend_micros=300_000_000,
        conversions=45,
    )
    card = scorecard(facts)
    assert [ln.metric for ln in card.lines] == ["CTR", "Conversions", "Cost per conversion"]
    conv = card.line("Conversions")
    assert conv.interval == wilson_interval(45, 900)
    assert conv.text.startswith("45; 5.00% (95% CI")
    assert card.line("Cost per conversion").value == Decimal("300") / 45
    assert card.line("Cost per conversion").text == "$6.67"


def test_retargeting_conversions_without_a_rate() -> None:
    unmeasured = scorecard(base_facts(objective=Objective.RETARGETING))
    assert unmeasured.line("Conversions").text == "not measured"
    assert unmeasured.line("Cost per conversion").value is None
    # View-through conversions can outnumber clicks: no rate per click then.
    more = scorecard(base_facts(objective=Objective.RETARGETING, clicks=10, conversions=12))
    assert more.line("Conversions").interval is None
    assert more.line("Conversions").text == "12"


def test_bad_input_and_missing_line() -> None:
    with pytest.raises(ValidationFailed):
        scorecard("facts")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        scorecard(base_facts()).line("Reach")
