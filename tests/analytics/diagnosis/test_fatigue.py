"""Frequency fatigue: trend test, size of the drop, and the cap recommended."""

from __future__ import annotations

from backbeat.analytics.diagnosis import DEFAULT_THRESHOLDS, FindingKind
from backbeat.analytics.diagnosis.fatigue import frequency_fatigue, recommended_views
from backbeat.analytics.inputs import FrequencyBucket
from backbeat.domain.campaign import FrequencyCap
from tests.analytics.diagnosis.planted import base_facts

TIRED = (
    FrequencyBucket(1, 50_000, 500),
    FrequencyBucket(2, 30_000, 270),
    FrequencyBucket(3, 20_000, 120),
    FrequencyBucket(4, 20_000, 80, and_more=True),
)


def test_fatigue_found_with_evidence_per_view() -> None:
    f = frequency_fatigue(base_facts(frequency=TIRED), DEFAULT_THRESHOLDS)
    assert f is not None
    assert f.kind is FindingKind.FREQUENCY_FATIGUE
    labels = [e.label for e in f.evidence]
    assert labels[:4] == [
        "CTR on the 1st view",
        "CTR on the 2nd view",
        "CTR on the 3rd view",
        "CTR on the 4th view or later",
    ]
    assert "1.00%" in f.explanation and "0.40%" in f.explanation
    # The 2nd view (0.9%) is only 10% down; the 3rd (0.6%) is clearly and 40% down.
    assert f.evidence[-1].value == 2
    assert "Set a frequency cap of 2 per person per day" in f.action


def test_recommendation_respects_an_existing_cap() -> None:
    lower = frequency_fatigue(
        base_facts(frequency=TIRED, frequency_cap=FrequencyCap(5, 24)), DEFAULT_THRESHOLDS
    )
    assert lower is not None
    assert "Lower the frequency cap from 5 to 2 per person per day" in lower.action
    weekly = frequency_fatigue(
        base_facts(frequency=TIRED, frequency_cap=FrequencyCap(6, 168)), DEFAULT_THRESHOLDS
    )
    assert weekly is not None and "from 6 to 2 per person per 168 hours" in weekly.action
    tight = frequency_fatigue(
        base_facts(frequency=TIRED, frequency_cap=FrequencyCap(2, 24)), DEFAULT_THRESHOLDS
    )
    assert tight is not None and "Refresh the creative" in tight.action


def test_a_significant_but_small_decline_is_not_fatigue() -> None:
    small = (
        FrequencyBucket(1, 2_000_000, 20_000),
        FrequencyBucket(2, 2_000_000, 19_400),
        FrequencyBucket(3, 2_000_000, 18_800),  # 6% down: real, but not worth a cap
    )
    assert frequency_fatigue(base_facts(frequency=small), DEFAULT_THRESHOLDS) is None


def test_rising_or_thin_data_is_not_fatigue() -> None:
    rising = (FrequencyBucket(1, 50_000, 300), FrequencyBucket(2, 50_000, 450))
    assert frequency_fatigue(base_facts(frequency=rising), DEFAULT_THRESHOLDS) is None
    thin = (FrequencyBucket(1, 500, 10), FrequencyBucket(2, 500, 0))
    assert frequency_fatigue(base_facts(frequency=thin), DEFAULT_THRESHOLDS) is None
    no_first = (FrequencyBucket(2, 50_000, 500), FrequencyBucket(3, 50_000, 100))
    assert frequency_fatigue(base_facts(frequency=no_first), DEFAULT_THRESHOLDS) is None
    assert frequency_fatigue(base_facts(), DEFAULT_THRESHOLDS) is None


def test_recommended_views_fallbacks() -> None:
    # No single later view is clearly lower, but the 3rd is 25% down: recommend 2.
    noisy = [FrequencyBucket(1, 2_000, 20), FrequencyBucket(2, 500, 5), FrequencyBucket(3, 400, 3)]
    assert recommended_views(noisy, 0.2) == 2
    # Nothing ever drops that far: the last exposure seen.
    flat = [FrequencyBucket(1, 2_000, 20), FrequencyBucket(2, 2_000, 19)]
    assert recommended_views(flat, 0.2) == 2
