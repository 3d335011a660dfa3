"""Summing imported rows, and checking a file's own totals rows against that sum.

Counts, spend (per currency, never converted) and conversions add up across rows; reach and
frequency do not (the same person seen on two days is one person, not two), so they are never
summed here or compared with a totals row.

A file may carry several totals rows: Google prints ``Total: Account``, ``Total: Campaigns``
and per-network subtotals. Partial subtotals are only skipped. The file passes when at least
one whole-file totals row matches the sum on every figure it shows; otherwise every
mismatching figure is reported with the totals row's number and column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from backbeat.importers.model import ReportRow, RowProblem
from backbeat.importers.table import SUMMABLE, TotalsRow
from backbeat.importers.validate import spend_places

MICROS = Decimal(1_000_000)
_COUNTS = tuple(f for f in SUMMABLE if f not in ("spend", "conversions", "results"))


@dataclass(frozen=True)
class ReportTotals:
    """Sums over the imported rows. Spend is per currency, in micros. No reach: it does not
    add up across days."""

    impressions: int = 0
    clicks: int = 0
    clicks_all: int = 0
    spend_micros: dict[str, int] = field(default_factory=dict)
    conversions: Decimal = Decimal(0)
    results: Decimal = Decimal(0)
    viewable_impressions: int = 0
    views: int = 0
    starts: int = 0
    completes: int = 0


class Accumulator:
    """Running sums while a file streams; memory stays constant whatever the file size."""

    def __init__(self, fields: Iterable[str] = SUMMABLE) -> None:
        self.rows = 0
        self.counts: dict[str, int] = dict.fromkeys(_COUNTS, 0)
        present = set(fields)
        self._counted = [name for name in _COUNTS if name in present]
        self._fractional = [n for n in ("conversions", "results") if n in present]
        self.spend: dict[str, int] = {}
        self.conversions = Decimal(0)
        self.results = Decimal(0)
        self.places: dict[str, int] = {"spend": 0, "conversions": 0, "results": 0}

    def add(self, row: ReportRow) -> None:
        self.rows += 1
        counts = self.counts
        for name in self._counted:
            value = getattr(row, name)
            if value:
                counts[name] += value
        self.spend[row.currency] = self.spend.get(row.currency, 0) + row.spend_micros
        places = self.places
        places["spend"] = max(places["spend"], spend_places(row.spend_micros, row.currency))
        for name in self._fractional:
            value = getattr(row, name)
            if value is not None:
                setattr(self, name, getattr(self, name) + value)
                exponent = value.as_tuple().exponent
                if isinstance(exponent, int) and -exponent > places[name]:
                    places[name] = -exponent

    def totals(self) -> ReportTotals:
        c = self.counts
        return ReportTotals(
            impressions=c["impressions"],
            clicks=c["clicks"],
            clicks_all=c["clicks_all"],
            spend_micros=dict(sorted(self.spend.items())),
            conversions=self.conversions,
            results=self.results,
            viewable_impressions=c["viewable_impressions"],
            views=c["views"],
            starts=c["starts"],
            completes=c["completes"],
        )

    def _sum(self, name: str) -> Decimal | None:
        if name == "spend":
            if len(self.spend) != 1:
                return None  # several currencies: a single total cannot be compared
            return Decimal(next(iter(self.spend.values()))) / MICROS
        if name in ("conversions", "results"):
            value: Decimal = getattr(self, name)
            return value
        return Decimal(self.counts[name])

    def _tolerance(self, name: str, total_places: int) -> Decimal:
        if name not in self.places:
            return Decimal(0)  # counts are exact
        half = Decimal(5) / Decimal(10) ** (total_places + 1)
        row_half = Decimal(5) / Decimal(10) ** (self.places[name] + 1)
        return half + row_half * self.rows

    def mismatches(self, row: TotalsRow) -> list[RowProblem]:
        """Figures of one totals row that differ from the sum of the data rows."""
        found = []
        for name, (value, places, header) in row.figures.items():
            expected = self._sum(name)
            if expected is None:
                continue
            if abs(expected - value) > self._tolerance(name, places):
                found.append(
                    RowProblem(
                        row.row,
                        header,
                        f"{row.label!r} shows {value} but the rows add up to "
                        f"{expected.normalize():f}",
                    )
                )
        return found

    def check(self, rows: list[TotalsRow]) -> list[RowProblem]:
        """Problems with the file's whole-file totals rows; empty when one of them matches."""
        grand = [r for r in rows if r.grand and r.figures]
        if not grand:
            return []
        found: list[RowProblem] = []
        for row in grand:
            problems = self.mismatches(row)
            if not problems:
                return []
            found.extend(problems)
        return found
