"""Compare a campaign with published benchmarks, and say so in words an artist can use.

`verdict` only calls a CTR below, within or above a benchmark when the Wilson interval
supports it: the whole interval lies below the low end, above the high end, or inside the
band. Otherwise the answer is NOT_ENOUGH_DATA, with roughly how many more impressions at the
current CTR would settle it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from backbeat.analytics.benchmarks_data import BENCHMARKS, Benchmark, Metric
from backbeat.analytics.stats import (
    Interval,
    Position,
    ctr,
    impressions_needed_to_decide,
    position,
    wilson_interval,
)
from backbeat.errors import ValidationFailed

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "Metric",
    "Position",
    "Verdict",
    "benchmark_for",
    "benchmarks",
    "cpm_position",
    "verdict",
]


def _slug(text: str) -> str:
    return "-".join(text.strip().lower().replace("_", " ").replace("-", " ").split())


def _index() -> dict[tuple[str, Metric], Benchmark]:
    table: dict[tuple[str, Metric], Benchmark] = {}
    for row in BENCHMARKS:
        for name in (row.key, *row.aliases):
            slot = (_slug(name), row.metric)
            if slot in table:
                raise RuntimeError(f"benchmark name {name!r} is used twice for {row.metric}")
            table[slot] = row
    return table


_BY_NAME = _index()


def _metric(metric: object) -> Metric:
    try:
        return Metric(str(metric).strip().lower())
    except ValueError:
        choices = ", ".join(m.value for m in Metric)
        raise ValidationFailed.one("metric", f"must be one of {choices}") from None


def benchmarks(metric: Metric | str | None = None) -> tuple[Benchmark, ...]:
    """Every benchmark row, or those for one metric."""
    if metric is None:
        return BENCHMARKS
    m = _metric(metric)
    return tuple(b for b in BENCHMARKS if b.metric is m)


def benchmark_for(format_or_platform: str, metric: Metric | str) -> Benchmark | None:
    """The benchmark for a channel, ad format or platform name, or None if we have none.

    Names are matched case-insensitively with spaces, hyphens and underscores alike, against
    each row's key and aliases: "display" (an `AdFormat` value) finds music display ads,
    "Google Display Network" and "gdn" the GDN average, "meta" the Facebook figures.
    """
    if not isinstance(format_or_platform, str) or not format_or_platform.strip():
        raise ValidationFailed.one("format_or_platform", "must be a non-empty name")
    return _BY_NAME.get((_slug(format_or_platform), _metric(metric)))


def cpm_position(cpm: Decimal, benchmark: Benchmark) -> Position:
    """Where a CPM (currency units per 1,000 impressions) sits against a CPM benchmark.

    A CPM is a known price, not an estimate, so there is no interval and no NOT_ENOUGH_DATA.
    """
    if benchmark.metric is not Metric.CPM:
        raise ValidationFailed.one("benchmark", "needs a CPM benchmark")
    if not isinstance(cpm, Decimal) or not cpm.is_finite() or cpm < 0:
        raise ValidationFailed.one("cpm", "must be a non-negative Decimal amount")
    if cpm < benchmark.low:
        return Position.BELOW
    if benchmark.high is not None and cpm > benchmark.high:
        return Position.ABOVE
    return Position.WITHIN


@dataclass(frozen=True)
class Verdict:
    """How a CTR compares with a benchmark, with the evidence for saying so.

    `more_impressions_needed` is 0 once the verdict is decided; for NOT_ENOUGH_DATA it is the
    number of further impressions at the current CTR that would decide it, or None when that
    cannot be said (no impressions yet, or the CTR sits on an edge of the benchmark).
    """

    outcome: Position
    clicks: int
    impressions: int
    ctr: Fraction | None
    interval: Interval
    benchmark: Benchmark
    more_impressions_needed: int | None
    sentence: str

    @property
    def source(self) -> str:
        return self.benchmark.citation


def _pct(rate: float) -> str:
    # Two decimals, more for tiny rates so at least two significant digits show.
    value = rate * 100
    places = 2
    while places < 4 and 0 < value < 10 ** (1 - places):
        places += 1
    return f"{value:.{places}f}"


def _dec_pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}"


def _phrase(b: Benchmark) -> str:
    if b.high is None:
        return f"the {_dec_pct(b.low)}%+ typical for {b.label}"
    if b.is_point:
        return f"the {_dec_pct(b.low)}% average for {b.label}"
    return f"the {_dec_pct(b.low)}–{_dec_pct(b.high)}% typical for {b.label}"


def _sentence(outcome: Position, ci: Interval, b: Benchmark, more: int | None) -> str:
    phrase = _phrase(b)
    if ci.point is None:
        return f"No impressions yet, so there is no CTR to compare with {phrase}."
    label = f"{ci.confidence * 100:g}% CI"
    measured = f"{_pct(ci.point)}% ({label} {_pct(ci.low)}–{_pct(ci.high)}%)"
    if outcome is not Position.NOT_ENOUGH_DATA:
        return f"Your CTR of {measured} is {outcome.value} {phrase}."
    start = f"Your CTR so far is {measured}, a range that overlaps {phrase}, "
    if more is None:
        return start + "and it sits so close to the benchmark that more data will not settle it."
    return (
        start + f"so it is too early to say how it compares. About {more:,} more impressions "
        "at this rate should settle it."
    )


def verdict(
    clicks: int, impressions: int, benchmark: Benchmark, confidence: float = 0.95
) -> Verdict:
    """Compare clicks/impressions with a CTR benchmark, honestly (see the module docstring)."""
    if not isinstance(benchmark, Benchmark) or benchmark.metric is not Metric.CTR:
        raise ValidationFailed.one("benchmark", "needs a CTR benchmark")
    rate = ctr(clicks, impressions)
    ci = wilson_interval(clicks, impressions, confidence)
    outcome = position(ci, benchmark.low, benchmark.high)
    more = impressions_needed_to_decide(
        clicks, impressions, benchmark.low, benchmark.high, confidence
    )
    sentence = _sentence(outcome, ci, benchmark, more)
    return Verdict(outcome, clicks, impressions, rate, ci, benchmark, more, sentence)
