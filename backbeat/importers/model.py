"""The normalised report row every platform export is turned into, and its problem records.

A row covers one day (``start == end``) or one reporting period. Figures are kept exactly as
the platform reported them: currency is per row and never converted, spend is integer micros,
rates are Decimals in the unit shown in the file (CTR in percent, CPM/CPC/CPV in currency
units). ``reach`` and ``frequency`` belong to the row's own period only: reach never adds up
across days, so nothing in this package sums it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One row of a platform report after parsing and validation."""

    platform: str
    campaign: str
    start: date
    end: date
    currency: str  # ISO 4217, as the platform reported it; never converted
    impressions: int
    spend_micros: int
    account: str | None = None
    ad_group: str | None = None  # Google "Ad group", Meta "Ad set", TikTok "Ad group"
    ad: str | None = None
    clicks: int | None = None  # link / destination clicks: the comparable click count
    clicks_all: int | None = None  # every click (likes, comments, profile...): kept apart
    reach: int | None = None  # only when the platform gave it for exactly this period
    frequency: Decimal | None = None
    conversions: Decimal | None = None
    results: Decimal | None = None
    result_indicator: str | None = None
    viewable_impressions: int | None = None
    views: int | None = None
    views_2s: int | None = None
    views_6s: int | None = None
    q25: int | None = None  # plays reaching 25% (counts; TikTok, Spotify)
    q50: int | None = None
    q75: int | None = None
    q100: int | None = None
    q25_rate: Decimal | None = None  # percent of impressions reaching 25% (Google reports rates)
    q50_rate: Decimal | None = None
    q75_rate: Decimal | None = None
    q100_rate: Decimal | None = None
    starts: int | None = None  # audio starts (Spotify)
    completes: int | None = None  # audio completes (Spotify)
    reported_ctr: Decimal | None = None  # percent, as printed by the platform
    reported_ctr_all: Decimal | None = None
    reported_cpm: Decimal | None = None  # currency units per 1,000 impressions
    reported_cpc: Decimal | None = None  # currency units per click
    reported_cpv: Decimal | None = None  # currency units per view
    source_row: int = 0  # row number in the file, as a spreadsheet shows it

    @property
    def day(self) -> date | None:
        """The day this row covers, or None when it covers a longer period."""
        return self.start if self.start == self.end else None


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem found in a file. ``row`` is the spreadsheet row number (1 = first line)."""

    row: int | None
    column: str | None
    message: str

    def where(self) -> str:
        """A short location such as ``row 12, column 'Link clicks'``."""
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts) or "file"

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


ImportWarning = RowProblem
