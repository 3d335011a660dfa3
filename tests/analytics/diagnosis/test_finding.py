"""Findings, thresholds, ordering and the wording of numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backbeat.analytics.diagnosis import Evidence, Finding, FindingKind, Severity, Thresholds
from backbeat.analytics.diagnosis.finding import ordered
from backbeat.analytics.diagnosis.wording import (
    interval_text,
    names,
    p_text,
    pct,
    rate_text,
    share,
    typical,
)
from backbeat.analytics.stats import wilson_interval
from backbeat.errors import ValidationFailed


def test_thresholds_refuse_nonsense_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as exc:
        Thresholds(family_alpha=0.0, ivt_ceiling=1.5, min_impressions=1)
    assert {f.field for f in exc.value.fields} == {
        "thresholds.family_alpha",
        "thresholds.ivt_ceiling",
        "thresholds.min_impressions",
    }


def finding(kind: FindingKind, severity: Severity) -> Finding:
    return Finding(kind, severity, "t", "e", (), "a")


def test_ordered_puts_the_most_severe_first_then_by_kind() -> None:
    items = [
        finding(FindingKind.INSUFFICIENT_DATA, Severity.INFO),
        finding(FindingKind.UNDER_DELIVERY, Severity.CRITICAL),
        finding(FindingKind.WEAK_SITES, Severity.WARNING),
        finding(FindingKind.WEAK_CREATIVE, Severity.WARNING),
    ]
    assert [f.kind for f in ordered(items)] == [
        FindingKind.UNDER_DELIVERY,
        FindingKind.WEAK_CREATIVE,
        FindingKind.WEAK_SITES,
        FindingKind.INSUFFICIENT_DATA,
    ]


def test_rate_evidence_carries_the_wilson_interval() -> None:
    e = Evidence.rate("CTR", 21, 10_000)
    assert e.interval == wilson_interval(21, 10_000)
    assert e.value == 0.0021
    assert e.text == "0.21% (95% CI 0.14–0.32%)"


def test_wording() -> None:
    assert pct(0.0062) == "0.62%"
    assert pct(0.00004) == "0.0040%"
    assert share(0.2) == "20%" and share(0.805) == "80.5%" and share(1.0) == "100%"
    assert interval_text(wilson_interval(0, 0)) == "no data"
    assert rate_text(1, 4, 0.9).startswith("25.00% (90% CI ")
    assert p_text(0.00001) == "p < 0.0001" and p_text(0.0123) == "p = 0.0123"
    assert names(["a"]) == "“a”"
    assert names(["a", "b", "c"]) == "“a”, “b” and “c”"
    assert names([str(i) for i in range(8)], limit=2) == "“0”, “1” and 6 more"
    assert typical(Decimal("0.005"), Decimal("0.01")) == "0.5–1%"
    assert typical(Decimal("0.02"), None) == "2%+"
    assert typical(Decimal("0.0046"), Decimal("0.0046")) == "0.46%"
