"""The benchmark table, its lookup, and CTR verdicts for artists."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from backbeat.analytics.benchmarks import (
    BENCHMARKS,
    Benchmark,
    Metric,
    Position,
    benchmark_for,
    benchmarks,
    cpm_position,
    verdict,
)
from backbeat.analytics.stats import wilson_interval
from backbeat.domain.money import ecpm, to_micros
from backbeat.domain.taxonomy import AdFormat
from backbeat.errors import ValidationFailed


def ctr_row(key: str) -> Benchmark:
    row = benchmark_for(key, Metric.CTR)
    assert row is not None
    return row


def cpm_row(key: str) -> Benchmark:
    row = benchmark_for(key, Metric.CPM)
    assert row is not None
    return row


# --- the table -----------------------------------------------------------------------------


def test_table_rows_are_well_formed() -> None:
    seen = set()
    for row in BENCHMARKS:
        assert (row.key, row.metric) not in seen
        seen.add((row.key, row.metric))
        assert row.source.strip()
        assert row.quality.strip()
        assert row.label.strip()
        assert row.low > 0
        if row.high is not None:
            assert row.low <= row.high
        if row.metric is Metric.CTR:
            assert row.low < 1
            assert row.high is None or row.high < 1


def test_table_holds_the_reference_figures() -> None:
    # /work/shared/reference.md, "Benchmarks".
    expected_ctr = {
        "music-display": (Decimal("0.005"), Decimal("0.01")),
        "social": (Decimal("0.01"), Decimal("0.02")),
        "video": (Decimal("0.02"), None),
        "music-overall": (Decimal("0.005"), Decimal("0.03")),
        "google-display-network": (Decimal("0.0046"), Decimal("0.0046")),
        "standard-banner": (Decimal("0.001"), Decimal("0.001")),
        "in-stream-video": (Decimal("0.0111"), Decimal("0.0111")),
        "facebook": (Decimal("0.009"), Decimal("0.009")),
    }
    expected_cpm = {
        "music-display": (Decimal("2.50"), None),
        "google-display-network": (Decimal("2.80"), Decimal("2.80")),
        "facebook": (Decimal("7"), Decimal("7")),
        "tiktok": (Decimal("10"), Decimal("10")),
        "spotify-audio": (Decimal("15"), Decimal("25")),
    }
    assert {(b.key, (b.low, b.high)) for b in benchmarks(Metric.CTR)} == set(expected_ctr.items())
    assert {(b.key, (b.low, b.high)) for b in benchmarks("cpm")} == set(expected_cpm.items())
    assert len(benchmarks()) == len(expected_ctr) + len(expected_cpm)
    gdn = ctr_row("google-display-network")
    assert (gdn.source.split(",")[0], gdn.year) == ("WordStream", 2016)
    assert gdn.citation == "WordStream, Google Ads industry benchmarks (2016 data)"
    assert ctr_row("facebook").year == 2017
    assert "CTR (all)" in ctr_row("facebook").quality
    assert {ctr_row("standard-banner").year, ctr_row("in-stream-video").year} == {2012}
    assert "seed" in ctr_row("music-display").citation.lower()
    assert "rule of thumb" in ctr_row("music-display").quality


# --- lookup --------------------------------------------------------------------------------


def test_lookup_by_key_alias_and_ad_format() -> None:
    assert benchmark_for("Google Display Network", "CTR") is ctr_row("google-display-network")
    assert benchmark_for("gdn", Metric.CTR) is ctr_row("google-display-network")
    assert benchmark_for(" Music_Display ", "ctr") is ctr_row("music-display")
    assert benchmark_for(AdFormat.DISPLAY, Metric.CTR) is ctr_row("music-display")
    assert benchmark_for(AdFormat.VIDEO, Metric.CTR) is ctr_row("video")
    assert benchmark_for("meta", "cpm") is cpm_row("facebook")
    assert benchmark_for("Spotify", "cpm") is cpm_row("spotify-audio")
    assert benchmark_for("spotify", "ctr") is None
    assert benchmark_for(AdFormat.NATIVE, Metric.CTR) is None
    assert benchmark_for("myspace", "ctr") is None


def test_lookup_rejects_bad_input() -> None:
    with pytest.raises(ValidationFailed) as err:
        benchmark_for("display", "cpc")
    assert err.value.fields[0].field == "metric"
    with pytest.raises(ValidationFailed) as err:
        benchmark_for("  ", "ctr")
    assert err.value.fields[0].field == "format_or_platform"


# --- verdicts ------------------------------------------------------------------------------


def test_clear_below_within_and_above() -> None:
    band = ctr_row("music-display")
    below = verdict(252, 60_000, band)  # 0.42%
    assert below.outcome is Position.BELOW
    ci = wilson_interval(252, 60_000)
    assert below.interval == ci
    assert ci.high < 0.005
    assert below.sentence == (
        f"Your CTR of 0.42% (95% CI {ci.low * 100:.2f}–{ci.high * 100:.2f}%) "
        "is below the 0.5–1% typical for music display ads."
    )
    assert below.more_impressions_needed == 0
    assert below.ctr == Fraction(252, 60_000)
    within = verdict(750, 100_000, band)
    assert within.outcome is Position.WITHIN
    assert "is within the 0.5–1% typical" in within.sentence
    above = verdict(150, 10_000, band)
    assert above.outcome is Position.ABOVE
    assert above.sentence.startswith("Your CTR of 1.50% (95% CI 1.28–1.76%) is above")
    assert above.source == band.citation


def test_ambiguous_small_sample_needs_more_data_and_more_data_decides() -> None:
    band = ctr_row("music-display")
    clicks, impressions = 9, 2000  # 0.45%, CI about 0.24–0.85%
    first = verdict(clicks, impressions, band)
    assert first.outcome is Position.NOT_ENOUGH_DATA
    more = first.more_impressions_needed
    assert more is not None
    assert more > 0
    assert f"About {more:,} more impressions" in first.sentence
    assert "too early" in first.sentence
    total = impressions + more
    later = verdict(round(Fraction(clicks, impressions) * total), total, band)
    assert later.outcome is Position.BELOW
    assert later.more_impressions_needed == 0
    halfway = impressions + more // 2
    assert (
        verdict(round(Fraction(clicks, impressions) * halfway), halfway, band).outcome
        is Position.NOT_ENOUGH_DATA
    )


def test_no_data_and_a_ctr_on_the_benchmark() -> None:
    empty = verdict(0, 0, ctr_row("music-display"))
    assert empty.outcome is Position.NOT_ENOUGH_DATA
    assert empty.ctr is None
    assert empty.more_impressions_needed is None
    assert empty.sentence.startswith("No impressions yet")
    edge = verdict(46, 10_000, ctr_row("gdn"))
    assert edge.outcome is Position.NOT_ENOUGH_DATA
    assert edge.more_impressions_needed is None
    assert "will not settle it" in edge.sentence
    assert "the 0.46% average for Google Display Network ads" in edge.sentence


def test_one_figure_and_open_ended_benchmarks() -> None:
    gdn = ctr_row("gdn")
    assert verdict(20, 10_000, gdn).outcome is Position.BELOW
    assert verdict(90, 10_000, gdn).outcome is Position.ABOVE
    video = ctr_row("video")
    assert verdict(300, 10_000, video).outcome is Position.WITHIN
    assert "the 2%+ typical for video ads" in verdict(300, 10_000, video).sentence
    assert verdict(100, 10_000, video).outcome is Position.BELOW


def test_confidence_is_reported_and_widens_the_interval() -> None:
    band = ctr_row("music-display")
    loose = verdict(60, 10_000, band, confidence=0.90)
    strict = verdict(60, 10_000, band, confidence=0.99)
    assert "(90% CI" in loose.sentence
    assert "(99% CI" in strict.sentence
    assert strict.interval.width > loose.interval.width


def test_verdict_rejects_bad_input() -> None:
    with pytest.raises(ValidationFailed) as err:
        verdict(10, 1000, cpm_row("tiktok"))
    assert err.value.fields[0].field == "benchmark"
    with pytest.raises(ValidationFailed) as err:
        verdict(11, 10, ctr_row("social"))
    assert err.value.fields[0].field == "clicks"


def test_cpm_position() -> None:
    floor = cpm_row("music-display")
    paid = ecpm(to_micros("5.00", "spend"), 1000)
    assert paid == Decimal(5)
    assert cpm_position(paid, floor) is Position.WITHIN
    assert cpm_position(Decimal("2.00"), floor) is Position.BELOW
    spotify = cpm_row("spotify-audio")
    assert cpm_position(Decimal("30"), spotify) is Position.ABOVE
    assert cpm_position(Decimal("15"), spotify) is Position.WITHIN
    with pytest.raises(ValidationFailed):
        cpm_position(Decimal("3"), ctr_row("social"))
    with pytest.raises(ValidationFailed):
        cpm_position(Decimal("-1"), spotify)
