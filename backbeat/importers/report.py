"""What an import reports back: counts, date range, currencies, totals and warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from backbeat.importers.model import RowProblem
from backbeat.importers.totals import ReportTotals


@dataclass(frozen=True)
class ImportReport:
    """The outcome of :func:`backbeat.importers.driver.import_file`.

    ``already_imported`` is True (and ``import_id`` None, nothing stored) when a file with the
    same checksum was imported before. ``rows_replaced`` counts rows of earlier imports that
    this one replaced because their dates overlap for the same account and platform.
    """

    import_id: str | None
    platform: str
    source: str
    checksum: str
    already_imported: bool = False
    rows_imported: int = 0
    totals_rows_skipped: int = 0
    rows_replaced: int = 0
    start: date | None = None
    end: date | None = None
    currencies: tuple[str, ...] = ()
    accounts: tuple[str | None, ...] = ()
    totals: ReportTotals = field(default_factory=ReportTotals)
    warnings: tuple[RowProblem, ...] = ()
    warnings_omitted: int = 0  # warnings beyond the cap, counted but not listed
    ignored_columns: tuple[str, ...] = ()
    encoding: str = ""
    delimiter: str = ""

    @property
    def date_range(self) -> tuple[date, date] | None:
        if self.start is None or self.end is None:
            return None
        return self.start, self.end
