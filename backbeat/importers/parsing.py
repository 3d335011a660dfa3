"""Shared value parsing for report exports: numbers, money, percents, dates, totals labels.

Exports are localized: ``1,234.56`` (dot decimal) or ``1.234,56`` / ``1 234,56`` (decimal
comma), dates in ISO, US ``m/d/Y`` or European ``d/m/Y`` / ``d.m.Y`` order. A single cell is
often ambiguous (``1,234`` may be 1234 or 1.234; ``03/04/2024`` may be March or April), so the
style is decided per file: :func:`number_evidence` and :func:`date_evidence` say what one cell
proves, the table reader gathers evidence across rows, and :func:`parse_number` /
:func:`parse_date` convert a cell once the style is known.

Errors raise :class:`CellError` (a plain message); the caller adds the row and column.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

import pycountry

MICROS = 1_000_000


class CellError(ValueError):
    """A cell that cannot be read; the message says why (the caller adds row and column)."""


class NumberStyle(StrEnum):
    DOT = "dot"  # 1,234.56
    COMMA = "comma"  # 1.234,56 or 1 234,56


class DateOrder(StrEnum):
    DMY = "dmy"  # 31/01/2024, 31.01.2024
    MDY = "mdy"  # 01/31/2024


AMBIGUOUS = "ambiguous"  # evidence: the cell fits both styles and proves nothing

_BLANKS = frozenset({"", "-", "--", "—", "–", "n/a", "na", "none", "null", "nan", "-/-"})
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")  # thousands spaces (fr), apostrophes (ch)
_SYMBOLS = re.compile(r"[%$€£¥₹₩₺₽]|\b[A-Z]{3}\b|R\$|A\$|C\$|US\$|CHF|kr")
_DIGITS = re.compile(r"\d+")
_DOT_STYLE = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?|\.\d+")
_COMMA_STYLE = re.compile(r"\d{1,3}(\.\d{3})+(,\d+)?|\d+(,\d+)?|,\d+")
_PLAIN_DOT = re.compile(r"\d+(?:\.\d+)?")  # fast path: no grouping, no symbols
_PLAIN_COMMA = re.compile(r"\d+(?:,\d+)?")
_NEGATIVE = re.compile(r"^\s*(\(.*\)|[-−‒].*\d.*|.*\d.*-)\s*$")


def is_blank(text: str) -> bool:
    """True for an empty cell or a platform's placeholder for "no figure" (``--``, ``n/a``)."""
    return text.strip().casefold() in _BLANKS


def _clean(text: str) -> str:
    """The bare number text: no currency symbols, percent signs or grouping spaces."""
    stripped = _SYMBOLS.sub("", text.strip())
    return _SPACES.sub("", stripped)


def number_evidence(text: str, *, integral: bool) -> NumberStyle | str | None:
    """What one cell proves about the file's number style.

    Returns a :class:`NumberStyle`, :data:`AMBIGUOUS` (fits both, e.g. ``1,234`` in a money
    column), or None (proves nothing either way and needs nothing: plain digits, blanks).
    ``integral`` says the column holds counts; there ``1.234`` can only be a thousand and
    more, never one and a bit, so it proves a decimal-comma file.
    """
    body = _clean(text)
    if not body or body.isdigit():
        return None
    dot, comma = body.rfind("."), body.rfind(",")
    if dot >= 0 and comma >= 0:
        return NumberStyle.DOT if dot > comma else NumberStyle.COMMA
    sep = "." if dot >= 0 else ","
    if sep not in body:
        return None
    parts = body.split(sep)
    if len(parts) > 2:  # 1,234,567: the separator groups thousands
        return NumberStyle.COMMA if sep == "." else NumberStyle.DOT
    head, tail = parts
    decimal_style = NumberStyle.DOT if sep == "." else NumberStyle.COMMA
    grouping_style = NumberStyle.COMMA if sep == "." else NumberStyle.DOT
    if len(tail) != 3 or head in ("", "0") or len(head) > 3:
        return decimal_style
    return grouping_style if integral else AMBIGUOUS


def parse_number(text: str, style: NumberStyle) -> Decimal | None:
    """A non-negative Decimal from a cell, or None for a blank cell.

    Currency symbols, ISO codes, percent signs and grouping spaces are dropped; a negative
    figure is refused (no report column here can be negative).
    """
    if (_PLAIN_DOT if style is NumberStyle.DOT else _PLAIN_COMMA).fullmatch(text):
        return Decimal(text if style is NumberStyle.DOT else text.replace(",", "."))
    if is_blank(text):
        return None
    if _NEGATIVE.match(text):
        raise CellError(f"negative number {text.strip()!r} is not allowed")
    body = _clean(text)
    pattern = _DOT_STYLE if style is NumberStyle.DOT else _COMMA_STYLE
    if not pattern.fullmatch(body):
        styled = "1,234.56" if style is NumberStyle.DOT else "1.234,56"
        raise CellError(f"{text.strip()!r} is not a number (this file writes numbers as {styled})")
    if style is NumberStyle.DOT:
        plain = body.replace(",", "")
    else:
        plain = body.replace(".", "").replace(",", ".")
    try:
        return Decimal(plain)
    except InvalidOperation:  # pragma: no cover - the patterns above only admit valid digits
        raise CellError(f"{text.strip()!r} is not a number") from None


def parse_count(text: str, style: NumberStyle) -> int | None:
    """A whole, non-negative count (impressions, clicks, views) or None for a blank cell."""
    if text.isascii() and text.isdigit():  # the common case, kept cheap for big files
        return int(text)
    value = parse_number(text, style)
    if value is None:
        return None
    if value != value.to_integral_value():
        raise CellError(f"{text.strip()!r} is not a whole number")
    return int(value)


def parse_money_micros(text: str, style: NumberStyle) -> int | None:
    """An amount in integer micros, exactly (no float on the way), or None for a blank cell."""
    value = parse_number(text, style)
    if value is None:
        return None
    micros = value * MICROS
    if micros != micros.to_integral_value():
        raise CellError(f"{text.strip()!r} has more than 6 decimal places")
    return int(micros)


def decimal_places(text: str, style: NumberStyle) -> int:
    """How many decimals a cell shows (``1.25`` -> 2); used to judge rounding tolerances."""
    body = _clean(text)
    sep = "." if style is NumberStyle.DOT else ","
    _, found, tail = body.rpartition(sep)
    return len(tail) if found and tail.isdigit() else 0


# --- dates -------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_NUMERIC = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})(?:[T ,].*)?")
_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january", "janv", "janvier", "januar", "enero", "ene"),
            ("feb", "february", "févr", "fevr", "février", "februar", "febrero"),
            ("mar", "march", "mars", "märz", "marz", "marzo"),
            ("apr", "april", "avr", "avril", "abril", "abr"),
            ("may", "mai", "mayo"),
            ("jun", "june", "juin", "juni", "junio"),
            ("jul", "july", "juil", "juillet", "juli", "julio"),
            ("aug", "august", "août", "aout", "agosto", "ago"),
            ("sep", "sept", "september", "septembre", "septiembre"),
            ("oct", "october", "octobre", "oktober", "octubre", "okt"),
            ("nov", "november", "novembre", "noviembre"),
            (
                "dec",
                "december",
                "déc",
                "decembre",
                "décembre",
                "dezember",
                "diciembre",
                "dic",
                "dez",
            ),
        ],
        start=1,
    )
    for name in names
}
_WORDY_MDY = re.compile(r"([^\W\d]+)\.?\s+(\d{1,2}),?\s+(\d{4})")  # Mar 1, 2024
_WORDY_DMY = re.compile(r"(\d{1,2})\.?\s+([^\W\d]+)\.?,?\s+(\d{4})")  # 1 Mar 2024, 1. März 2024


def _make(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(f"{text!r} is not a real date") from None


def _month(word: str, text: str) -> int:
    name = unicodedata.normalize("NFC", word.casefold())
    if name not in _MONTHS:
        raise CellError(f"{text!r}: unknown month name {word!r}")
    return _MONTHS[name]


def _year(digits: str) -> int:
    return int(digits) if len(digits) == 4 else 2000 + int(digits)


def date_evidence(text: str) -> DateOrder | str | None:
    """What one date cell proves about day/month order: an order, AMBIGUOUS, or None."""
    m = _NUMERIC.fullmatch(text.strip())
    if m is None:
        return None
    first, sep, second = int(m.group(1)), m.group(2), int(m.group(3))
    if sep == ".":  # 31.01.2024 is only ever written day first
        return DateOrder.DMY
    if first > 12 >= second:
        return DateOrder.DMY
    if second > 12 >= first:
        return DateOrder.MDY
    if first == second:  # 05/05/2024 reads the same both ways
        return None
    return AMBIGUOUS


def parse_date(text: str, order: DateOrder | None, fmt: str | None = None) -> date:
    """A calendar day from a cell. ``fmt`` (strptime) wins when given; otherwise ISO,
    ``YYYYMMDD``, month names, and numeric dates in ``order`` are understood. A numeric date
    whose order is unknown and not evident raises :class:`CellError`."""
    raw = text.strip()
    if not raw:
        raise CellError("date is empty")
    if fmt is not None:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            raise CellError(f"{raw!r} does not match the date format {fmt!r}") from None
    if m := _ISO.fullmatch(raw):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw)
    if m := _COMPACT.fullmatch(raw):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw)
    if m := _NUMERIC.fullmatch(raw):
        a, b, year = int(m.group(1)), int(m.group(3)), _year(m.group(4))
        evident = date_evidence(raw)
        chosen = evident if isinstance(evident, DateOrder) else order
        if evident is None:  # same day and month: either order gives the same date
            chosen = DateOrder.DMY
        if chosen is None:
            raise CellError(
                f"{raw!r} is ambiguous: it could be day/month or month/day; "
                "pass date_order='dmy' or 'mdy'"
            )
        if order is not None and isinstance(evident, DateOrder) and evident is not order:
            raise CellError(f"{raw!r} contradicts the {order.value} dates in the rest of the file")
        day, month = (a, b) if chosen is DateOrder.DMY else (b, a)
        return _make(year, month, day, raw)
    if m := _WORDY_MDY.fullmatch(raw):
        return _make(int(m.group(3)), _month(m.group(1), raw), int(m.group(2)), raw)
    if m := _WORDY_DMY.fullmatch(raw):
        return _make(int(m.group(3)), _month(m.group(2), raw), int(m.group(1)), raw)
    raise CellError(f"{raw!r} is not a date")


def parse_period(text: str, order: DateOrder | None = None) -> tuple[date, date] | None:
    """A ``start - end`` date range as printed in report preambles, or None if the text is
    not one (``March 1, 2024 - March 31, 2024``, ``2024-03-01 – 2024-03-31``)."""
    for sep in (" - ", " – ", " — ", " to ", " bis ", " au "):
        if sep in text:
            left, _, right = text.strip().partition(sep)
            try:
                start, end = parse_date(left, order), parse_date(right, order)
            except CellError:
                continue
            return (start, end) if start <= end else None
    return None


# --- labels and codes --------------------------------------------------------------------

_TOTALS = re.compile(
    r"^(total|totals|totaux|totale|gesamt|gesamtsumme|summe|insgesamt|suma)\b"
    r"\s*(general|général|generale)?\s*(:.*)?$",
    re.IGNORECASE,
)
_TOTAL_PREFIXES = frozenset({"tot", "ges", "sum", "ins"})
_GRAND = re.compile(r"^[^:]*(:\s*(account|campaigns|filtered campaigns|konto|kampagnen|compte))?$")


def totals_label(text: str) -> str | None:
    """The normalised label if a cell marks a totals row (``Total``, ``Total: Account``,
    ``Gesamt``...), else None."""
    if text.lstrip()[:3].casefold() not in _TOTAL_PREFIXES:  # cheap rejection, every row
        return None
    label = " ".join(text.split())
    return label if _TOTALS.match(label) else None


def is_grand_total(label: str) -> bool:
    """True for a totals row over the whole file (``Total``, ``Total: Account``), False for a
    partial one such as Google's per-network ``Total: Search``."""
    return _GRAND.match(label.casefold()) is not None


def parse_currency(text: str) -> str:
    """An ISO 4217 code, upper-cased; anything else raises :class:`CellError`."""
    code = text.strip().upper()
    if len(code) != 3 or not code.isalpha() or pycountry.currencies.get(alpha_3=code) is None:
        raise CellError(f"{text.strip()!r} is not an ISO 4217 currency code")
    return code
