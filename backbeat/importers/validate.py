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

from collections.abc import Callable, Mapping
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
    """Checks rows of one file; ``headers`` maps field names to the file's column headers.

    Only the rate checks whose column the file has are run.
    """

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.headers = dict(headers)
        self._rates = [name for name in _RATES if name in self.headers]

    def _col(self, name: str) -> str:
        return self.headers.get(name, name)

    def check(self, row: ReportRow) -> tuple[list[RowProblem], list[RowProblem]]:
        """(errors, warnings) for one row."""
        errors: list[RowProblem] = []
        warnings: list[RowProblem] = []
        n = row.source_row
        clicks = row.clicks
        if clicks is not None and clicks > row.impressions:
            errors.append(
                RowProblem(
                    n, self._col("clicks"), f"{clicks} clicks exceed {row.impressions} impressions"
                )
            )
        if clicks is not None and row.clicks_all is not None and row.clicks_all < clicks:
            warnings.append(
                RowProblem(
                    n,
                    self._col("clicks_all"),
                    f"all clicks ({row.clicks_all}) are fewer than link clicks ({clicks})",
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
        if self._rates:
            warnings.extend(self._derived(row))
        return errors, warnings

    def _derived(self, row: ReportRow) -> list[RowProblem]:
        problems = []
        for name in self._rates:
            reported, denominator, numerator, rounding, formula = _RATES[name](row)
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


# For each rate column: (reported, denominator, numerator, numerator's rounding, formula).
_Rate = tuple[Decimal | None, int | None, Decimal, Decimal, str]
_ZERO = Decimal(0)


def _ctr(row: ReportRow) -> _Rate:
    clicks = Decimal(row.clicks or 0) * 100
    return row.reported_ctr, row.impressions, clicks, _ZERO, "clicks / impressions"


def _ctr_all(row: ReportRow) -> _Rate:
    clicks = Decimal(row.clicks_all or 0) * 100
    return row.reported_ctr_all, row.impressions, clicks, _ZERO, "all clicks / impressions"


def _cpm(row: ReportRow) -> _Rate:
    spend, half = _spend(row)
    return (
        row.reported_cpm,
        row.impressions,
        spend * 1000,
        half * 1000,
        "spend / impressions x 1000",
    )


def _cpc(row: ReportRow) -> _Rate:
    spend, half = _spend(row)
    return row.reported_cpc, row.clicks, spend, half, "spend / clicks"


def _cpv(row: ReportRow) -> _Rate:
    spend, half = _spend(row)
    return row.reported_cpv, row.views, spend, half, "spend / views"


def _frequency(row: ReportRow) -> _Rate:
    return row.frequency, row.reach, Decimal(row.impressions), _ZERO, "impressions / reach"


_RATES: dict[str, Callable[[ReportRow], _Rate]] = {
    "ctr": _ctr,
    "ctr_all": _ctr_all,
    "cpm": _cpm,
    "cpc": _cpc,
    "cpv": _cpv,
    "frequency": _frequency,
}
