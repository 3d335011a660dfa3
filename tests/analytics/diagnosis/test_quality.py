"""Low-viewability placements and invalid traffic by site."""

from __future__ import annotations

from backbeat.analytics.diagnosis import DEFAULT_THRESHOLDS, FindingKind, Thresholds
from backbeat.analytics.diagnosis.quality import invalid_traffic, low_viewability
from backbeat.analytics.inputs import PlacementFacts
from backbeat.analytics.stats import wilson_interval
from tests.analytics.diagnosis.planted import base_facts


def pl(
    pid: int,
    site: int,
    name: str,
    imps: int,
    viewable: int = 0,
    measured: int = 0,
    invalid: dict[str, int] | None = None,
) -> PlacementFacts:
    return PlacementFacts(
        pid, name, site, f"Site {site}", imps, imps // 100, viewable, measured, invalid or {}
    )


def test_clearly_unseen_placements_are_named() -> None:
    placements = (
        pl(1, 1, "footer", 20_000, viewable=4_000, measured=18_000),
        pl(2, 1, "header", 20_000, viewable=13_000, measured=18_000),
        pl(3, 2, "sidebar", 10_000, viewable=4_700, measured=9_500),  # 49.5%: not clearly < 50%
    )
    facts = base_facts(
        impressions=50_000, clicks=500, placements=placements, viewable=21_700, measured=45_500
    )
    f = low_viewability(facts, DEFAULT_THRESHOLDS)
    assert f is not None
    assert f.kind is FindingKind.LOW_VIEWABILITY
    assert f.subjects == ("Site 1 / footer",)
    first = f.evidence[0]
    assert first.interval is not None and first.interval.high < 0.5
    # The interval is Bonferroni-widened across the 3 measured placements.
    assert first.interval.confidence == 1 - 0.05 / 3
    assert "98.3333% CI" in first.text
    assert f.evidence[-1].value == 0.4  # share of impressions on the flagged placement


def test_unmeasured_placements_and_small_samples_are_not_flagged() -> None:
    placements = (pl(1, 1, "footer", 5_000), pl(2, 1, "header", 5_000, viewable=3, measured=10))
    facts = base_facts(impressions=10_000, clicks=100, placements=placements)
    assert wilson_interval(3, 10, 1 - 0.05 / 1).high > 0.5
    assert low_viewability(facts, DEFAULT_THRESHOLDS) is None


def test_many_fine_placements_are_not_flagged_by_chance() -> None:
    # 30 placements at a true 55%: a 95% interval alone would flag some; Bonferroni does not.
    placements = tuple(
        pl(i, i, "slot", 1_000, viewable=505 if i % 2 else 595, measured=1_000)
        for i in range(1, 31)
    )
    facts = base_facts(impressions=30_000, clicks=300, placements=placements)
    assert low_viewability(facts, DEFAULT_THRESHOLDS) is None


def test_invalid_traffic_by_site_with_reasons() -> None:
    placements = (
        pl(1, 1, "top", 8_000, invalid={"bot": 1_500, "prefetch": 500}),
        pl(2, 1, "side", 2_000, invalid={"bot": 500}),
        pl(3, 2, "top", 10_000, invalid={"bot": 300}),
        pl(4, 3, "top", 3_000, invalid={"duplicate": 360}),  # 10.7%: not clearly over 10%
    )
    facts = base_facts(impressions=23_000, clicks=230, placements=placements)
    f = invalid_traffic(facts, DEFAULT_THRESHOLDS)
    assert f is not None
    assert f.kind is FindingKind.INVALID_TRAFFIC
    assert f.subjects == ("Site 1",)
    share = f.evidence[0]
    assert share.value == 2_500 / 12_500
    assert f.evidence[1].text == "bot 2,000 (80%), prefetch 500 (20%)"


def test_invalid_traffic_threshold_is_configurable() -> None:
    placements = (pl(1, 1, "top", 10_000, invalid={"bot": 600}),)
    facts = base_facts(impressions=10_000, clicks=100, placements=placements)
    assert invalid_traffic(facts, DEFAULT_THRESHOLDS) is None
    f = invalid_traffic(facts, Thresholds(ivt_ceiling=0.04))
    assert f is not None and "more than 4%" in f.explanation
