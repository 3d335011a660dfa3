"""High impressions, low clicks: is the CTR a problem, and if so, why?

The campaign's CTR is a problem when `benchmarks.verdict` calls it BELOW its format's
benchmark (the whole Wilson interval under the typical range) on a campaign whose objective
is clicks (traffic or retargeting). The causes are then looked for in turn: one weak creative
(`creatives`), the wrong genre's sites or a few weak sites (`targeting`), and every creative
low with every audience. When none can be shown, the finding says what data is missing.

The relative checks (a creative or site far below its siblings) also run when the CTR is
fine, or on awareness campaigns, as info findings: a weak creative is worth knowing about
either way.
"""

from __future__ import annotations

from backbeat.analytics.benchmarks import (
    Benchmark,
    Metric,
    Position,
    Verdict,
    benchmark_for,
    verdict,
)
from backbeat.analytics.diagnosis.creatives import all_creatives_weak, weak_creatives
from backbeat.analytics.diagnosis.finding import (
    Evidence,
    Finding,
    FindingKind,
    Severity,
    Thresholds,
)
from backbeat.analytics.diagnosis.objective import objective_mismatch
from backbeat.analytics.diagnosis.targeting import genre_mismatch, weak_sites
from backbeat.analytics.diagnosis.wording import count, share
from backbeat.analytics.inputs import CampaignFacts
from backbeat.analytics.stats import sample_size_per_arm
from backbeat.domain.campaign import Objective


def ctr_benchmark(facts: CampaignFacts) -> Benchmark | None:
    return benchmark_for(facts.benchmark_name, Metric.CTR)


def ctr_verdict(facts: CampaignFacts, th: Thresholds) -> Verdict | None:
    """The campaign's CTR against its benchmark, or None without a benchmark or impressions."""
    bench = ctr_benchmark(facts)
    if bench is None or facts.impressions == 0:
        return None
    return verdict(facts.clicks, facts.impressions, bench, th.confidence)


def ctr_findings(
    facts: CampaignFacts, v: Verdict | None, th: Thresholds, *, reading_ctr: bool
) -> list[Finding]:
    """Every CTR finding for the campaign (see the module docstring)."""
    awareness = facts.objective is Objective.AWARENESS
    low = v is not None and v.outcome is Position.BELOW
    findings: list[Finding] = []
    if awareness and (reading_ctr or low):
        findings.append(objective_mismatch(facts, v, th))
    problem = low and not awareness
    severity = Severity.WARNING if problem else Severity.INFO
    causes = weak_creatives(facts, th, severity)
    genre = genre_mismatch(facts, th, severity)
    sites = weak_sites(facts, th, severity, by_genre=genre is not None)
    causes += [f for f in (genre, sites) if f is not None]
    findings += causes
    if problem and v is not None:
        everywhere = all_creatives_weak(facts, th, v.benchmark)
        if everywhere is not None:
            findings.append(everywhere)
        elif not causes:
            findings.append(cause_unknown(facts, v, th))
    return findings


def _needed_per_arm(baseline: float, th: Thresholds) -> int:
    """Impressions per group to see a `detectable_gap` relative drop at the family alpha."""
    return sample_size_per_arm(baseline, -th.detectable_gap, alpha=th.family_alpha, power=0.8)


def cause_unknown(facts: CampaignFacts, v: Verdict, th: Thresholds) -> Finding:
    """Warning: the CTR is low but the data cannot say why; say what would tell."""
    baseline = facts.clicks / facts.impressions if facts.clicks else float(v.benchmark.low)
    per_arm = _needed_per_arm(baseline, th)
    gap = share(th.detectable_gap)
    missing: list[str] = []
    evidence = [Evidence.rate("Your CTR", facts.clicks, facts.impressions, th.confidence)]
    creatives = facts.creatives
    if len(creatives) < 2:
        missing.append(
            "Only one creative is running, so there is nothing to compare it with. Add a "
            f"second one: with about {count(per_arm)} impressions each we could spot a "
            f"{gap} difference between them."
        )
    else:
        smallest = min(c.impressions for c in creatives)
        more = max(0, per_arm - smallest)
        missing.append(
            f"Your creatives look alike so far. To spot a {gap} difference between two of "
            f"them takes about {count(per_arm)} impressions each; the smallest has "
            f"{count(smallest)}"
            + (f", so about {count(more)} more." if more else ", so they really are alike.")
        )
        evidence.append(Evidence.note("Impressions per creative needed", count(per_arm), per_arm))
    split = facts.genre_counts()
    if split is None:
        missing.append(
            "We don't know which of your sites match your genre, so targeting can't be tested."
        )
    elif split.mismatched.impressions == 0 or split.matched.impressions == 0:
        missing.append(
            "All impressions ran on one kind of site (genre-matched or not), so there is "
            "nothing to compare targeting with."
        )
    else:
        smaller = min(split.matched.impressions, split.mismatched.impressions)
        more = max(0, per_arm - smaller)
        missing.append(
            f"Genre-matched and other sites look alike so far; telling a {gap} difference "
            f"apart takes about {count(per_arm)} impressions on each side"
            + (f" ({count(more)} more on the smaller side)." if more else ".")
        )
    return Finding(
        FindingKind.LOW_CTR_CAUSE_UNKNOWN,
        Severity.WARNING,
        "Your click rate is low, and the data can't yet say why",
        f"{v.sentence} No single creative or site stands out, and not every creative is "
        "clearly low everywhere. " + " ".join(missing),
        tuple(evidence),
        "Run two or three different creatives side by side, and keep targeting to your "
        "genres, so the next look can tell a weak ad from the wrong audience.",
    )
