"""diagnose(): every family together, in order, and what runs below the data minimum."""

from __future__ import annotations

from datetime import timedelta

from backbeat.analytics.diagnosis import FindingKind, Severity, diagnose
from backbeat.analytics.inputs import CreativeFacts, FrequencyBucket, PlacementFacts
from tests.analytics.diagnosis.planted import BUDGET, NOW, base_facts


def test_a_troubled_campaign_gets_every_finding_most_severe_first() -> None:
    placements = (
        PlacementFacts(1, "top", 1, "Rock blog", 60_000, 300, 40_000, 55_000, {"bot": 200}),
        PlacementFacts(2, "footer", 2, "Indie zine", 40_000, 120, 5_000, 38_000, {"bot": 9_000}),
    )
    facts = base_facts(
        impressions=100_000,
        clicks=420,
        spend_micros=BUDGET // 10,  # 10% spent at half time: critical under-delivery
        creatives=(CreativeFacts(1, "A", 50_000, 330), CreativeFacts(2, "B", 50_000, 90)),
        placements=placements,
        frequency=(
            FrequencyBucket(1, 50_000, 300),
            FrequencyBucket(2, 30_000, 90),
            FrequencyBucket(3, 20_000, 30, and_more=True),
        ),
    )
    findings = diagnose(facts, NOW)
    kinds = [f.kind for f in findings]
    assert kinds[0] is FindingKind.UNDER_DELIVERY
    assert findings[0].severity is Severity.CRITICAL
    assert set(kinds) >= {
        FindingKind.WEAK_CREATIVE,
        FindingKind.FREQUENCY_FATIGUE,
        FindingKind.LOW_VIEWABILITY,
        FindingKind.INVALID_TRAFFIC,
    }
    ranks = [f.severity.rank for f in findings]
    assert ranks == sorted(ranks, reverse=True)
    for f in findings:
        assert f.title and f.explanation and f.action and f.evidence


def test_below_the_minimum_only_delivery_checks_run() -> None:
    placements = (PlacementFacts(1, "footer", 1, "Blog", 800, 0, 20, 700),)
    facts = base_facts(
        impressions=800,
        clicks=0,
        spend_micros=BUDGET * 9 // 10,
        creatives=(CreativeFacts(1, "A", 400, 0), CreativeFacts(2, "B", 400, 0)),
        placements=placements,
        frequency=(FrequencyBucket(1, 600, 0), FrequencyBucket(2, 200, 0)),
    )
    kinds = {f.kind for f in diagnose(facts, NOW)}
    assert kinds == {
        FindingKind.INSUFFICIENT_DATA,
        FindingKind.OVER_DELIVERY,
        FindingKind.LOW_VIEWABILITY,
    }


def test_now_moves_pacing_only() -> None:
    facts = base_facts(spend_micros=BUDGET // 2, impressions=100_000, clicks=750)
    assert diagnose(facts, NOW) == []
    later = diagnose(facts, NOW + timedelta(days=10))
    assert [f.kind for f in later] == [FindingKind.UNDER_DELIVERY]
