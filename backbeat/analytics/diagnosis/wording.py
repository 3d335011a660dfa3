"""How numbers are written for artists: percentages with their ranges, counts, money.

Shared by the findings, the scorecard and trends so the same number reads the same way
everywhere: "0.21% (95% CI 0.15–0.29%)".
"""

from __future__ import annotations

from decimal import Decimal

from backbeat.analytics.stats import Interval, wilson_interval
from backbeat.domain.money import Micros, format_money


def pct(rate: float) -> str:
    """A rate as a percentage: two decimals, more for tiny rates so two digits show."""
    value = rate * 100
    places = 2
    while places < 4 and 0 < value < 10 ** (1 - places):
        places += 1
    return f"{value:.{places}f}%"


def confidence_label(confidence: float) -> str:
    return f"{confidence * 100:g}% CI"


def interval_text(ci: Interval) -> str:
    """'0.21% (95% CI 0.15–0.29%)', or 'no data' without a point."""
    if ci.point is None:
        return "no data"
    low, high = pct(ci.low).rstrip("%"), pct(ci.high)
    return f"{pct(ci.point)} ({confidence_label(ci.confidence)} {low}–{high})"


def rate_text(successes: int, trials: int, confidence: float = 0.95) -> str:
    """A rate with its Wilson range, from counts."""
    return interval_text(wilson_interval(successes, trials, confidence))


def count(n: int) -> str:
    return f"{n:,}"


def money(micros: Micros) -> str:
    return format_money(micros)


def p_text(p_value: float) -> str:
    """A p-value for the evidence line: 'p < 0.0001' rather than a string of zeros."""
    if p_value < 0.0001:
        return "p < 0.0001"
    return f"p = {p_value:.4f}"


def names(items: list[str], limit: int = 5) -> str:
    """'a, b and c'; past `limit` names, 'a, b, c and 4 more'."""
    shown = [f"“{n}”" for n in items[:limit]]
    rest = len(items) - len(shown)
    if rest > 0:
        return ", ".join(shown) + f" and {rest} more"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def share(rate: float) -> str:
    """A share or threshold with at most one decimal: 0.2 -> '20%', 0.805 -> '80.5%'."""
    text = f"{rate * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def typical(low: Decimal, high: Decimal | None) -> str:
    """A benchmark band as published: '0.5–1%', '2%+' (a floor only) or '0.46%' (a point)."""

    def num(rate: Decimal) -> str:
        return f"{(rate * 100).normalize():f}"

    if high is None:
        return f"{num(low)}%+"
    if high == low:
        return f"{num(low)}%"
    return f"{num(low)}–{num(high)}%"
