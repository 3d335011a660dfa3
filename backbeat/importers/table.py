"""Turning a stream of CSV records into :class:`ReportRow` objects, totals rows and problems.

The number style (dot or decimal comma) and date order (day or month first) are decided per
file from the cells that prove one: ``12,50`` in a money column, ``1.234`` in a count column,
``31/01/2024``. Rows holding cells that fit both styles wait in a bounded look-ahead buffer
(:attr:`ParseOptions.lookahead` rows) until a later cell decides; if none does, numbers fall
back to the hint (decimal comma for semicolon files) and an ambiguous date is an error.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from backbeat.importers.columns import (
    DIMENSIONS,
    FIELD_ATTRS,
    NUMERIC_KINDS,
    Binding,
    BoundColumn,
    Kind,
)
from backbeat.importers.errors import ImportFailed
from backbeat.importers.model import ReportRow, RowProblem
from backbeat.importers.parsing import (
    AMBIGUOUS,
    CellError,
    DateOrder,
    NumberStyle,
    date_evidence,
    decimal_places,
    is_blank,
    is_grand_total,
    number_evidence,
    parse_count,
    parse_currency,
    parse_date,
    parse_money_micros,
    parse_number,
    totals_label,
)
from backbeat.importers.reader import check_text

# Fields a totals row is compared on. Reach and frequency are absent on purpose: they do not
# add up across rows.
SUMMABLE = (
    "impressions", "clicks", "clicks_all", "spend", "conversions", "results",
    "viewable_impressions", "views", "views_2s", "views_6s", "q25", "q50", "q75", "q100",
    "starts", "completes",
)  # fmt: skip


@dataclass(frozen=True)
class ParseOptions:
    """How to read one file; every field is optional and overrides detection."""

    platform: str
    account: str | None = None  # for rows with no account column (or an empty cell)
    currency: str | None = None  # for files with no currency column or header suffix
    period: tuple[date, date] | None = None  # for files with no date columns
    date_order: DateOrder | None = None
    date_format: str | None = None  # strptime format; wins over detection
    number_style: NumberStyle | None = None
    number_hint: NumberStyle = NumberStyle.DOT  # used when no cell decides
    lookahead: int = 10_000


@dataclass(frozen=True)
class TotalsRow:
    """A totals/summary row: skipped, and later compared with the sum of the data rows."""

    row: int
    label: str
    grand: bool  # over the whole file (checked), or a partial subtotal (only skipped)
    figures: dict[str, tuple[Decimal, int, str]]  # field -> (value, decimals shown, header)


Item = ReportRow | TotalsRow | RowProblem


class _RowFault(Exception):
    """A row-level problem (empty campaign, missing date...) found while assembling a row."""

    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _text(text: str) -> str | None:
    stripped = text.strip()
    if is_blank(stripped):
        return None
    try:
        return check_text(stripped)
    except ValueError as exc:
        raise CellError(str(exc)) from None


def _currency(text: str) -> str | None:
    return None if is_blank(text) else parse_currency(text)


class TableParser:
    """Parses the records of one file against a :class:`Binding`."""

    def __init__(self, binding: Binding, options: ParseOptions) -> None:
        self.binding = binding
        self.options = options
        self.style: NumberStyle | None = options.number_style
        self.order: DateOrder | None = options.date_order
        self._settled = options.number_style is not None and (
            options.date_order is not None or options.date_format is not None
        )
        cols = binding.columns
        self._numeric = [c for c in cols if c.kind in NUMERIC_KINDS]
        self._dates = [] if options.date_format else [c for c in cols if c.kind is Kind.DATE]
        self._dims = [c for c in cols if c.field in DIMENSIONS]
        self._campaign = binding.get("campaign")
        self._has_day = binding.has("day")
        self._has_range = binding.has("start") and binding.has("end")
        self._plan = [
            (c.index, FIELD_ATTRS.get(c.field, c.field), self._converter(c), c.header) for c in cols
        ]
        self._width = len(binding.headers)
        self._pending: deque[tuple[int, list[str]]] = deque()
        self._waiting_number = False  # a pending row has a number that fits both styles
        self._waiting_date = False  # a pending row has a date that fits both orders
        self._date_cache: dict[tuple[str, DateOrder | None], date] = {}
        self._check_currency_source()

    def _check_currency_source(self) -> None:
        b = self.binding
        if b.has("currency") or b.header_currency or self.options.currency:
            return
        raise ImportFailed.at(
            None,
            "currency",
            "the file names no currency (no Currency column, no '(XXX)' suffix on a money "
            "column); pass currency=",
        )

    # --- streaming ---------------------------------------------------------------------

    def parse(self, records: Iterable[tuple[int, list[str]]]) -> Iterator[Item]:
        """Yield a row, a totals row or problems for every record, in file order."""
        for row, cells in records:
            if not any(c.strip() for c in cells):
                continue
            if not self._settled and self._undecided():
                ambiguous = self._observe(cells)
                if ambiguous or self._pending:
                    self._pending.append((row, cells))
                    if self._resolved() or len(self._pending) >= self.options.lookahead:
                        yield from self._flush()
                    continue
            yield from self._item(row, cells)
        yield from self._flush()

    def _undecided(self) -> bool:
        return (self.style is None and bool(self._numeric)) or (
            self.order is None and bool(self._dates)
        )

    def _resolved(self) -> bool:
        """True when every ambiguity seen in the pending rows has been decided."""
        numbers = not self._waiting_number or self.style is not None
        dates = not self._waiting_date or self.order is not None
        return numbers and dates

    def _observe(self, cells: list[str]) -> bool:
        """Learn the file's styles from one record; True if it holds a cell still ambiguous."""
        ambiguous_number = ambiguous_date = False
        if self.style is None:
            for col in self._numeric:
                if col.index >= len(cells):
                    continue
                seen = number_evidence(cells[col.index], integral=col.kind is Kind.COUNT)
                if isinstance(seen, NumberStyle):
                    self.style = seen
                    break
                ambiguous_number = ambiguous_number or seen == AMBIGUOUS
        if self.order is None:
            for col in self._dates:
                if col.index >= len(cells):
                    continue
                evident = date_evidence(cells[col.index])
                if isinstance(evident, DateOrder):
                    self.order = evident
                    break
                ambiguous_date = ambiguous_date or evident == AMBIGUOUS
        self._waiting_number |= ambiguous_number and self.style is None
        self._waiting_date |= ambiguous_date and self.order is None
        return not self._resolved()

    def _flush(self) -> Iterator[Item]:
        if self._pending and not self._resolved():
            self._settled = True  # no cell decided: numbers take the hint, dates stay unknown
        while self._pending:
            row, cells = self._pending.popleft()
            yield from self._item(row, cells)
        self._waiting_number = self._waiting_date = False

    # --- one record --------------------------------------------------------------------

    def _item(self, row: int, cells: list[str]) -> Iterator[Item]:
        if len(cells) != self._width:
            extra = cells[self._width :]
            if len(cells) < self._width or any(c.strip() for c in extra):
                yield RowProblem(
                    row,
                    None,
                    f"has {len(cells)} cells but the header has {self._width}: malformed file",
                )
                return
        label = self._totals_label(cells)
        if label is not None:
            yield from self._totals(row, label, cells)
            return
        yield from self._data(row, cells)

    def _totals_label(self, cells: list[str]) -> str | None:
        first = totals_label(cells[0])
        if first is not None:
            return first
        if self._campaign is not None:
            named = totals_label(cells[self._campaign.index])
            if named is not None:
                return named
        dims = self._dims
        blank_is_total = self.binding.spec.blank_names_are_totals and bool(dims)
        if blank_is_total and all(is_blank(cells[c.index]) for c in dims):
            return "summary row"
        return None

    def _totals(self, row: int, label: str, cells: list[str]) -> Iterator[Item]:
        style = self.style or self.options.number_hint
        figures: dict[str, tuple[Decimal, int, str]] = {}
        for col in self._numeric:
            if col.field not in SUMMABLE:
                continue
            text = cells[col.index]
            try:
                value = parse_number(text, style)
            except CellError as exc:
                yield RowProblem(row, col.header, str(exc))
                continue
            if value is not None:
                figures[col.field] = (value, decimal_places(text, style), col.header)
        yield TotalsRow(row, label, is_grand_total(label), figures)

    def _data(self, row: int, cells: list[str]) -> Iterator[Item]:
        values: dict[str, Any] = {}
        problems: list[RowProblem] = []
        for index, attr, convert, header in self._plan:
            try:
                values[attr] = convert(cells[index])
            except CellError as exc:
                problems.append(RowProblem(row, header, str(exc)))
        if not problems:
            try:
                yield self._assemble(row, values)
                return
            except _RowFault as fault:
                problems.append(RowProblem(row, fault.column, fault.message))
        yield from problems

    def _converter(self, col: BoundColumn) -> Callable[[str], Any]:
        return {
            Kind.COUNT: self._count,
            Kind.MONEY: self._money,
            Kind.DECIMAL: self._decimal,
            Kind.DATE: self._date,
            Kind.CURRENCY: _currency,
            Kind.TEXT: _text,
        }[col.kind]

    def _count(self, text: str) -> int | None:
        return parse_count(text, self.style or self.options.number_hint)

    def _money(self, text: str) -> int | None:
        return parse_money_micros(text, self.style or self.options.number_hint)

    def _decimal(self, text: str) -> Decimal | None:
        return parse_number(text, self.style or self.options.number_hint)

    def _date(self, text: str) -> date | None:
        key = (text, self.order)
        found = self._date_cache.get(key)
        if found is None:
            if is_blank(text):
                return None
            found = parse_date(text, self.order, self.options.date_format)
            if len(self._date_cache) > 4096:
                self._date_cache.clear()
            self._date_cache[key] = found
        return found

    def _fail(self, name: str, message: str) -> _RowFault:
        col = self.binding.get(name)
        return _RowFault(col.header if col else name, message)

    def _assemble(self, row: int, values: dict[str, Any]) -> ReportRow:
        opts = self.options
        campaign = values.pop("campaign", None)
        if campaign is None:
            raise self._fail("campaign", "campaign name is empty")
        start, end = self._period(values)
        currency = self._currency(values.pop("currency", None))
        account = values.pop("account", None) or opts.account
        values["impressions"] = values.get("impressions") or 0
        values["spend_micros"] = values.get("spend_micros") or 0
        return ReportRow(
            platform=opts.platform,
            account=account,
            campaign=campaign,
            start=start,
            end=end,
            currency=currency,
            source_row=row,
            **values,
        )

    def _period(self, values: dict[str, Any]) -> tuple[date, date]:
        day, start, end = (
            values.pop("day", None),
            values.pop("start", None),
            values.pop("end", None),
        )
        if day is not None:
            return day, day
        if self._has_day:
            raise self._fail("day", "date is empty")
        if self._has_range:
            if start is None:
                raise self._fail("start", "start date is empty")
            if end is None:
                raise self._fail("end", "end date is empty")
            if end < start:
                raise self._fail("end", f"period ends ({end}) before it starts ({start})")
            return start, end
        if self.options.period is None:
            raise self._fail("day", "no date column; pass period=(start, end)")
        return self.options.period

    def _currency(self, cell: str | None) -> str:
        header = self.binding.header_currency
        if cell is not None and header is not None and cell != header:
            raise self._fail("currency", f"{cell} contradicts the {header} in the column headers")
        found = cell or header or self.options.currency
        if found is None:
            raise self._fail("currency", "currency is empty; pass currency=")
        return found
