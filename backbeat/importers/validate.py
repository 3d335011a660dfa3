"""Row checks: impossible figures are errors, inconsistent ones are warnings.

Errors (the import stops, nothing is stored): link/destination clicks above impressions.
Warnings (reported with row and column, the row is kept): all-clicks below link clicks, reach
above impressions, and a platform's own CTR, CPM, CPC, CPV or frequency column that does not
match the figure recomputed from the base counts beyond what rounding explains.

Rounding tolerance: the reported rate is off by at most half a unit of its last printed
decimal; a rate computed from the printed spend is also off by the spend's own rounding
(half a cent, or half a unit for zero-decimal currencies) divided by the denominator.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from backbeat.importers.model import ReportRow, RowProblem

MICROS = Decimal(1_000_000)
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "PYG", "UGX", "XAF", "XOF"})
_EPSILON = Decimal("1e-9")


def half_unit(value: Decimal) -> Decimal:
    """Half a unit of the last decimal a Decimal shows: ``1.23`` -> 0.005."""
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return Decimal(5) / Decimal(10) ** (places + 1)


def spend_places(spend_micros: int, currency: str) -> int:
    """Decimals the spend was printed with: at least the currency's usual (2, or 0)."""
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    while places < 6 and spend_micros % 10 ** (6 - places):
        places += 1
    return places


def _spend(row: ReportRow) -> tuple[Decimal, Decimal]:
    """Spend in currency units, and half a unit of how it was printed."""
    places = spend_places(row.spend_micros, row.currency)
    return Decimal(row.spend_micros) / MICROS, Decimal(5) / Decimal(10) ** (places + 1)


def _fmt(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.0001')).normalize():f}"


class RowChecker:
    """Checks rows of one file; ``headers`` maps field names to the file's column headers."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.headers = dict(headers)

    def _col(self, name: str) -> str:
        return self.headers.get(name, name)

    def check(self, row: ReportRow) -> tuple[list[RowProblem], list[RowProblem]]:
        """(errors, warnings) for one row."""
        errors: list[RowProblem] = []
        warnings: list[RowProblem] = []
        n = row.source_row
        if row.clicks is not None and row.clicks > row.impressions:
            errors.append(
                RowProblem(
                    n,
                    self._col("clicks"),
                    f"{row.clicks} clicks exceed {row.impressions} impressions",
                )
            )
        if row.clicks is not None and row.clicks_all is not None and row.clicks_all < row.clicks:
            warnings.append(
                RowProblem(
                    n,
                    self._col("clicks_all"),
                    f"all clicks ({row.clicks_all}) are fewer than link clicks ({row.clicks})",
                )
            )
        if row.reach is not None and row.reach > row.impressions:
            warnings.append(
                RowProblem(
                    n,
                    self._col("reach"),
                    f"reach ({row.reach}) exceeds impressions ({row.impressions})",
                )
            )
        warnings.extend(self._derived(row))
        return errors, warnings

    def _derived(self, row: ReportRow) -> list[RowProblem]:
        spend, spend_half = _spend(row)
        impressions = Decimal(row.impressions)
        checks: list[tuple[str, Decimal | None, int | None, Decimal, Decimal, str]] = []
        # (field, reported, denominator, numerator, numerator rounding, formula)
        if row.clicks is not None:
            checks.append(
                ("ctr", row.reported_ctr, row.impressions, Decimal(row.clicks) * 100, Decimal(0),
                 "clicks / impressions")
            )  # fmt: skip
            checks.append(
                ("cpc", row.reported_cpc, row.clicks, spend, spend_half, "spend / clicks")
            )
        if row.clicks_all is not None:
            checks.append(
                ("ctr_all", row.reported_ctr_all, row.impressions, Decimal(row.clicks_all) * 100,
                 Decimal(0), "all clicks / impressions")
            )  # fmt: skip
        checks.append(
            ("cpm", row.reported_cpm, row.impressions, spend * 1000, spend_half * 1000,
             "spend / impressions x 1000")
        )  # fmt: skip
        if row.views is not None:
            checks.append(("cpv", row.reported_cpv, row.views, spend, spend_half, "spend / views"))
        if row.reach is not None:
            checks.append(
                ("frequency", row.frequency, row.reach, impressions, Decimal(0),
                 "impressions / reach")
            )  # fmt: skip
        problems = []
        for name, reported, denominator, numerator, rounding, formula in checks:
            if reported is None or not denominator:
                continue
            expected = numerator / denominator
            tolerance = half_unit(reported) + rounding / denominator + _EPSILON
            if abs(expected - reported) > tolerance:
                problems.append(
                    RowProblem(
                        row.source_row,
                        self._col(name),
                        f"reported {_fmt(reported)} but {formula} gives {_fmt(expected)}",
                    )
                )
        return problems
