"""The shared import driver: detect, stream-parse, validate, store in one transaction.

:func:`import_file` never holds the file in memory: rows are parsed one at a time, written in
batches, and only running sums, the date range and a capped list of warnings are kept. Any
error (malformed file, wrong platform, missing columns, negative numbers, clicks above
impressions...) rolls the transaction back and raises :class:`ImportFailed` naming every
problem's row and column (up to ``max_problems``); nothing of the file is stored.

Idempotence: a file whose SHA-256 was imported before is reported as ``already_imported`` and
changes nothing. A new file whose dates overlap earlier imports for the same account and
platform replaces their rows in that range, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Literal

from backbeat.errors import ValidationFailed
from backbeat.importers import registry
from backbeat.importers.columns import PlatformSpec, bind
from backbeat.importers.errors import ImportFailed
from backbeat.importers.generic import GenericMapping, load_mapping
from backbeat.importers.model import ReportRow, RowProblem
from backbeat.importers.parsing import (
    CellError,
    DateOrder,
    NumberStyle,
    parse_currency,
    parse_period,
)
from backbeat.importers.reader import Export, Progress, file_checksum, open_export
from backbeat.importers.report import ImportReport
from backbeat.importers.sink import ImportSink, ImportStart, ImportSummary, ImportTransaction
from backbeat.importers.table import ParseOptions, TableParser, TotalsRow
from backbeat.importers.totals import Accumulator
from backbeat.importers.validate import RowChecker

MAX_TOTALS_ROWS = 1000


def import_file(
    path: Path | str,
    sink: ImportSink,
    platform: str | None = None,
    account: str | None = None,
    mapping: Path | str | Mapping[str, object] | GenericMapping | None = None,
    progress: Progress | None = None,
    *,
    currency: str | None = None,
    period: tuple[date, date] | None = None,
    date_order: DateOrder | str | None = None,
    totals_mismatch: Literal["warn", "error"] = "warn",
    batch_size: int = 1000,
    max_problems: int = 50,
    max_warnings: int = 1000,
) -> ImportReport:
    """Import one report export into ``sink``.

    ``platform`` forces a parser (else it is detected from the header row); ``mapping`` reads
    any CSV through a generic mapping. ``account`` is the default for rows without an account
    column. ``currency`` and ``period`` fill in for files that state neither. ``progress`` is
    called with (bytes read, total bytes) while the file streams. A totals row that disagrees
    with the rows is a warning, or an error with ``totals_mismatch="error"``.
    """
    file = Path(path)
    if not file.is_file():
        raise ImportFailed.at(None, None, f"no such file: {file}")
    _check_arguments(period, currency, date_order, totals_mismatch, batch_size)
    generic = load_mapping(mapping) if mapping is not None else None
    forced = generic.spec() if generic is not None else None
    if forced is None and platform is not None:
        forced = registry.get(platform)
    extra = (forced,) if forced is not None else ()
    with open_export(file, lambda h: registry.known_header(h, extra), progress) as export:
        spec, period = _choose(export, forced, period)
        options = _options(spec, generic, export, account, currency, period, date_order)
        checksum = file_checksum(file)
        if sink.has_checksum(checksum):
            return ImportReport(
                import_id=None,
                platform=spec.name,
                source=file.name,
                checksum=checksum,
                already_imported=True,
                encoding=export.encoding,
                delimiter=export.delimiter,
            )
        run = _Run(export, spec, options, totals_mismatch, max_problems, max_warnings)
        start = ImportStart(uuid.uuid4().hex, spec.name, options.account, checksum, file.name)
        txn = sink.begin(start)
        try:
            run.stream(txn, batch_size)
            if export.checksum() != checksum:
                raise ImportFailed.at(None, None, "the file changed while it was being imported")
            replaced = run.replace(txn)
            txn.commit(run.summary())
        except BaseException:
            txn.rollback()
            raise
        return run.report(start, replaced)


def _check_arguments(
    period: tuple[date, date] | None,
    currency: str | None,
    date_order: DateOrder | str | None,
    totals_mismatch: str,
    batch_size: int,
) -> None:
    problems: dict[str, str] = {}
    if period is not None and period[1] < period[0]:
        problems["period"] = "the period ends before it starts"
    if currency is not None:
        try:
            parse_currency(currency)
        except CellError as exc:
            problems["currency"] = str(exc)
    if date_order is not None and date_order not in ("dmy", "mdy"):
        problems["date_order"] = "must be 'dmy' or 'mdy'"
    if totals_mismatch not in ("warn", "error"):
        problems["totals_mismatch"] = "must be 'warn' or 'error'"
    if batch_size < 1:
        problems["batch_size"] = "must be at least 1"
    if problems:
        raise ValidationFailed.many(problems)


def _choose(
    export: Export, forced: PlatformSpec | None, period: tuple[date, date] | None
) -> tuple[PlatformSpec, tuple[date, date] | None]:
    """The platform spec, and the period for files without date columns."""
    spec = forced
    if spec is None:
        preamble_period = _preamble_period(export.preamble)
        spec = registry.get(
            registry.detect(
                export.header,
                export.header_row,
                period_known=period is not None or preamble_period is not None,
            )
        )
    if period is None and spec.period_from_preamble:
        period = _preamble_period(export.preamble)
    registry.require(spec, export.header, export.header_row, period_known=period is not None)
    return spec, period


def _preamble_period(lines: list[str]) -> tuple[date, date] | None:
    """The first date range printed above the header, as a whole line or as one cell."""
    for line in lines:
        for candidate in (line, *line.split("\t"), *line.split(";")):
            found = parse_period(candidate.strip().strip('"'))
            if found is not None:
                return found
    return None


def _options(
    spec: PlatformSpec,
    generic: GenericMapping | None,
    export: Export,
    account: str | None,
    currency: str | None,
    period: tuple[date, date] | None,
    date_order: DateOrder | str | None,
) -> ParseOptions:
    order = DateOrder(date_order) if date_order is not None else None
    currency = parse_currency(currency) if currency is not None else None
    hint = NumberStyle.COMMA if export.delimiter == ";" else NumberStyle.DOT
    if generic is None:
        return ParseOptions(
            platform=spec.name,
            account=account,
            currency=currency,
            period=period,
            date_order=order,
            number_hint=hint,
        )
    return ParseOptions(
        platform=spec.name,
        account=account or generic.account,
        currency=currency or generic.currency,
        period=period,
        date_order=order or generic.date_order,
        date_format=generic.date_format,
        number_style=generic.number_style,
        number_hint=hint,
    )


class _Run:
    """The state of one import while its file streams."""

    def __init__(
        self,
        export: Export,
        spec: PlatformSpec,
        options: ParseOptions,
        totals_mismatch: str,
        max_problems: int,
        max_warnings: int,
    ) -> None:
        self.export = export
        self.spec = spec
        self.binding = bind(spec, export.header, export.header_row)
        self.parser = TableParser(self.binding, options)
        self.checker = RowChecker({c.field: c.header for c in self.binding.columns})
        self.options = options
        self.totals_mismatch = totals_mismatch
        self.max_problems = max_problems
        self.max_warnings = max_warnings
        self.sums = Accumulator(c.field for c in self.binding.columns)
        self.problems: list[RowProblem] = []
        self.warnings: list[RowProblem] = []
        self.warnings_omitted = 0
        self.totals_rows: list[TotalsRow] = []
        self.totals_skipped = 0
        self.ranges: dict[str | None, tuple[date, date]] = {}

    def _warn(self, found: list[RowProblem]) -> None:
        room = self.max_warnings - len(self.warnings)
        self.warnings.extend(found[: max(room, 0)])
        self.warnings_omitted += max(len(found) - max(room, 0), 0)

    def stream(self, txn: ImportTransaction, batch_size: int) -> None:
        """Parse, check and write every row; raise ImportFailed if any problem was found."""
        batch: list[ReportRow] = []
        for item in self.parser.parse(self.export.records()):
            if isinstance(item, RowProblem):
                self.problems.append(item)
                if len(self.problems) >= self.max_problems:
                    break
                continue
            if isinstance(item, TotalsRow):
                self.totals_skipped += 1
                if len(self.totals_rows) < MAX_TOTALS_ROWS:
                    self.totals_rows.append(item)
                continue
            errors, warnings = self.checker.check(item)
            if errors:
                self.problems.extend(errors)
                if len(self.problems) >= self.max_problems:
                    break
                continue
            if warnings:
                self._warn(warnings)
            self._track(item)
            if not self.problems:  # after the first error, keep looking but stop writing
                batch.append(item)
                if len(batch) >= batch_size:
                    txn.write(batch)
                    batch = []
        if not self.problems:
            self._finish_totals()
        if self.problems:
            raise ImportFailed(self.problems[: self.max_problems], "the file was not imported")
        if self.sums.rows == 0:
            raise ImportFailed.at(None, None, "the file has no data rows")
        if batch:
            txn.write(batch)

    def _track(self, row: ReportRow) -> None:
        self.sums.add(row)
        known = self.ranges.get(row.account)
        if known is None:
            self.ranges[row.account] = (row.start, row.end)
        elif row.start < known[0] or row.end > known[1]:
            self.ranges[row.account] = (min(known[0], row.start), max(known[1], row.end))

    def _finish_totals(self) -> None:
        found = self.sums.check(self.totals_rows)
        if self.totals_mismatch == "error":
            self.problems.extend(found)
        else:
            self._warn(found)

    def replace(self, txn: ImportTransaction) -> int:
        """Replace earlier imports' rows in this file's date range, account by account."""
        return sum(
            txn.replace_range(account, self.spec.name, lo, hi)
            for account, (lo, hi) in self.ranges.items()
        )

    def _span(self) -> tuple[date, date]:
        return (
            min(lo for lo, _ in self.ranges.values()),
            max(hi for _, hi in self.ranges.values()),
        )

    def summary(self) -> ImportSummary:
        start, end = self._span()
        return ImportSummary(
            start=start,
            end=end,
            rows=self.sums.rows,
            currencies=tuple(sorted(self.sums.spend)),
            accounts=tuple(self.ranges),
        )

    def report(self, start: ImportStart, replaced: int) -> ImportReport:
        first, last = self._span()
        return ImportReport(
            import_id=start.import_id,
            platform=self.spec.name,
            source=start.source,
            checksum=start.checksum,
            rows_imported=self.sums.rows,
            totals_rows_skipped=self.totals_skipped,
            rows_replaced=replaced,
            start=first,
            end=last,
            currencies=tuple(sorted(self.sums.spend)),
            accounts=tuple(self.ranges),
            totals=self.sums.totals(),
            warnings=tuple(self.warnings),
            warnings_omitted=self.warnings_omitted,
            ignored_columns=self.binding.ignored,
            encoding=self.export.encoding,
            delimiter=self.export.delimiter,
        )
