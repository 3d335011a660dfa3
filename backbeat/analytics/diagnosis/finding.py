"""What a diagnosis returns: findings with severity, evidence and a recommended action.

The thresholds every finding family uses live here too, in one frozen `Thresholds`, so the
documentation (docs/analytics.md) and tests can name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backbeat.analytics.diagnosis.wording import interval_text
from backbeat.analytics.stats import Interval, wilson_interval
from backbeat.domain.rules import Problems


class FindingKind(StrEnum):
    WEAK_CREATIVE = "weak_creative"
    ALL_CREATIVES_WEAK = "all_creatives_weak"
    GENRE_MISMATCH = "genre_mismatch"
    WEAK_SITES = "weak_sites"
    LOW_CTR_CAUSE_UNKNOWN = "low_ctr_cause_unknown"
    FREQUENCY_FATIGUE = "frequency_fatigue"
    LOW_VIEWABILITY = "low_viewability"
    INVALID_TRAFFIC = "invalid_traffic"
    UNDER_DELIVERY = "under_delivery"
    OVER_DELIVERY = "over_delivery"
    OBJECTIVE_MISMATCH = "objective_mismatch"
    INSUFFICIENT_DATA = "insufficient_data"


# The finding families that explain a low CTR by a cause; planted-truth tests count these.
CTR_CAUSES = frozenset(
    {FindingKind.WEAK_CREATIVE, FindingKind.GENRE_MISMATCH, FindingKind.WEAK_SITES}
)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


@dataclass(frozen=True)
class Evidence:
    """One number behind a finding, written out, with its interval when it is a rate."""

    label: str
    text: str
    value: float | None = None
    interval: Interval | None = None

    @classmethod
    def rate(cls, label: str, successes: int, trials: int, confidence: float = 0.95) -> Evidence:
        ci = wilson_interval(successes, trials, confidence)
        return cls(label, interval_text(ci), ci.point, ci)

    @classmethod
    def note(cls, label: str, text: str, value: float | None = None) -> Evidence:
        return cls(label, text, value)


@dataclass(frozen=True)
class Finding:
    """One thing worth telling the artist. `subjects` names the creatives, sites or placements
    concerned (empty when the finding is about the whole campaign)."""

    kind: FindingKind
    severity: Severity
    title: str
    explanation: str
    evidence: tuple[Evidence, ...]
    action: str
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Thresholds:
    """Every cut-off diagnosis uses. Defaults are documented in docs/analytics.md.

    `family_alpha` is the false-alarm budget of each family of tests (creatives, sites, the
    genre split, fatigue); `quality_alpha` that of the viewability and invalid-traffic
    checks across placements and sites (Bonferroni).
    """

    confidence: float = 0.95
    family_alpha: float = 0.01
    quality_alpha: float = 0.05
    min_impressions: int = 1_000
    min_item_impressions: int = 1_000
    min_relative_gap: float = 0.20
    min_mismatch_share: float = 0.20
    min_weak_sites_share: float = 0.10
    detectable_gap: float = 0.30
    fatigue_min_drop: float = 0.20
    viewability_floor: float = 0.50
    viewability_goal: float = 0.70
    ivt_ceiling: float = 0.10
    pacing_tolerance: float = 0.15
    pacing_min_elapsed: float = 0.10

    def __post_init__(self) -> None:
        p = Problems()
        rates = (
            "confidence",
            "family_alpha",
            "quality_alpha",
            "min_relative_gap",
            "min_mismatch_share",
            "min_weak_sites_share",
            "detectable_gap",
            "fatigue_min_drop",
            "viewability_floor",
            "viewability_goal",
            "ivt_ceiling",
            "pacing_tolerance",
            "pacing_min_elapsed",
        )
        for name in rates:
            value = getattr(self, name)
            ok = isinstance(value, (int, float)) and 0.0 < float(value) < 1.0
            p.check(ok, f"thresholds.{name}", "must be between 0 and 1, exclusive")
        for name in ("min_impressions", "min_item_impressions"):
            value = getattr(self, name)
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 2
            p.check(ok, f"thresholds.{name}", "must be a whole number, 2 or more")
        p.raise_if_any()


DEFAULT_THRESHOLDS = Thresholds()


def ordered(findings: list[Finding]) -> list[Finding]:
    """Most severe first; within a severity, in FindingKind order (stable)."""
    kinds = list(FindingKind)
    return sorted(findings, key=lambda f: (-f.severity.rank, kinds.index(f.kind)))
