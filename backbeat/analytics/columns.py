"""A metric for many rows at once: exact values rendered in one loop per metric.

Rendering a report row by row builds a ``Fraction`` per rate, an ``Interval`` per rate and
a dictionary per row before any text exists; for the 60,000 rows of a network campaign x
day report that took seconds. Every metric is `factor` x `numerator` / `denominator` of
two integer bases (:class:`~backbeat.analytics.metrics.MetricDef`), so its rendered text
can come straight from the two integers: the quotient rounded half-even with integer
``divmod``, the same digits :func:`backbeat.analytics.result.render` gives for the exact
``Fraction``. Interval bounds come from :func:`~backbeat.analytics.stats.wilson_bounds`,
the same floating-point operations as :func:`~backbeat.analytics.stats.wilson_interval`.
``tests/analytics/test_columns.py`` checks both against the row-by-row path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from backbeat.analytics.metrics import Base, MetricDef, Unit
from backbeat.analytics.stats import wilson_bounds

Rendered = int | str | None
Columns = Mapping[Base, Sequence[int]]
# Rendered as: (scale applied to the value, decimal places). Money is in micros (6 places
# of the currency unit); percentages are rates x 100 with 4 places; ratios 4 places.
_SCALE: dict[Unit, tuple[int, int]] = {
    Unit.MONEY: (1, 6),
    Unit.PERCENT: (10**6, 4),
    Unit.RATIO: (10**4, 4),
    Unit.COUNT: (10**4, 4),  # only for a count metric with a denominator (none today)
}


def fixed(units: int, places: int) -> str:
    """An integer number of 10^-places units as a decimal string: -12345, 4 -> "-1.2345"."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def quotient(num: int, den: int) -> int:
    """num / den rounded half-even to an integer (den != 0)."""
    if den < 0:
        num, den = -num, -den
    units, rest = divmod(num, den)
    twice = 2 * rest
    if twice > den or (twice == den and units % 2):
        units += 1
    return units


def _half_even(num: int, den: int) -> int:
    # quotient() for num >= 0 < den, inlined for the loop above.
    units, rest = divmod(num, den)
    if 2 * rest > den or (2 * rest == den and units & 1):
        units += 1
    return units


def columns_of(rows: Sequence[Mapping[Base, int]], bases: Iterable[Base]) -> Columns:
    """Row-wise base aggregates as columns (a base a row lacks counts 0)."""
    return {b: [r.get(b, 0) for r in rows] for b in bases}


def _column(columns: Columns, base: Base, size: int) -> Sequence[int]:
    found = columns.get(base)
    return [0] * size if found is None else found


def render_column(d: MetricDef, columns: Columns, size: int) -> list[Rendered]:
    """The rendered value of metric `d` for each of `size` rows, from base columns."""
    nums = _column(columns, d.numerator, size)
    scale, places = _SCALE[d.unit]
    if d.denominator is None:
        if d.unit is Unit.COUNT:
            return list(nums)
        return [fixed(n * scale, places) for n in nums]
    dens = _column(columns, d.denominator, size)
    k, one = scale * d.factor, 10**places
    out: list[Rendered] = []
    for n, q in zip(nums, dens, strict=True):
        if not q:
            out.append(None)
            continue
        units = quotient(n * k, q) if n < 0 or q < 0 else _half_even(n * k, q)
        whole, frac = divmod(units, one)
        out.append(f"{whole}.{frac:0{places}d}" if units >= 0 else fixed(units, places))
    return out


def interval_column(d: MetricDef, columns: Columns, size: int) -> list[dict[str, str] | None]:
    """The rendered Wilson 95% bounds (percent, 4 places) of rate `d` for each row; None
    where the rate has no interval (no trials, or successes outside [0, trials])."""
    if not d.interval_of_rate or d.denominator is None:
        return [None] * size
    nums, dens = _column(columns, d.numerator, size), _column(columns, d.denominator, size)
    out: list[dict[str, str] | None] = []
    for s, n in zip(nums, dens, strict=True):
        if n <= 0 or not 0 <= s <= n:
            out.append(None)
            continue
        low, high = wilson_bounds(s, n)
        out.append({"low": f"{low * 100:.4f}", "high": f"{high * 100:.4f}"})
    return out
