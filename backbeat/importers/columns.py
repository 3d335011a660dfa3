"""Our target fields, each platform's header aliases for them, and matching a header row.

A :class:`PlatformSpec` lists, for every field we understand, the header spellings a platform
uses (in every language we know). :func:`bind` matches a file's header row against a spec:
it normalises case, spacing and quotes, and peels a currency suffix such as ``(EUR)`` off
money headers (``Amount spent (EUR)`` -> field ``spend``, currency ``EUR``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pycountry

from backbeat.importers.errors import ImportFailed
from backbeat.importers.model import RowProblem


class Kind(StrEnum):
    TEXT = "text"
    COUNT = "count"  # whole, non-negative numbers
    DECIMAL = "decimal"  # rates, frequencies, fractional conversions
    MONEY = "money"  # exact amounts, stored as micros
    DATE = "date"
    CURRENCY = "currency"


# Every field a mapping may name, with its kind. "day"/"start"/"end" fill ReportRow.start/end.
FIELD_KINDS: dict[str, Kind] = {
    "account": Kind.TEXT,
    "campaign": Kind.TEXT,
    "ad_group": Kind.TEXT,
    "ad": Kind.TEXT,
    "day": Kind.DATE,
    "start": Kind.DATE,
    "end": Kind.DATE,
    "currency": Kind.CURRENCY,
    "impressions": Kind.COUNT,
    "clicks": Kind.COUNT,
    "clicks_all": Kind.COUNT,
    "spend": Kind.MONEY,
    "reach": Kind.COUNT,
    "frequency": Kind.DECIMAL,
    "conversions": Kind.DECIMAL,
    "results": Kind.DECIMAL,
    "result_indicator": Kind.TEXT,
    "viewable_impressions": Kind.COUNT,
    "views": Kind.COUNT,
    "views_2s": Kind.COUNT,
    "views_6s": Kind.COUNT,
    "q25": Kind.COUNT,
    "q50": Kind.COUNT,
    "q75": Kind.COUNT,
    "q100": Kind.COUNT,
    "q25_rate": Kind.DECIMAL,
    "q50_rate": Kind.DECIMAL,
    "q75_rate": Kind.DECIMAL,
    "q100_rate": Kind.DECIMAL,
    "starts": Kind.COUNT,
    "completes": Kind.COUNT,
    "ctr": Kind.DECIMAL,
    "ctr_all": Kind.DECIMAL,
    "cpm": Kind.DECIMAL,
    "cpc": Kind.DECIMAL,
    "cpv": Kind.DECIMAL,
}

# Field name -> ReportRow attribute, where they differ.
FIELD_ATTRS: dict[str, str] = {
    "spend": "spend_micros",
    "ctr": "reported_ctr",
    "ctr_all": "reported_ctr_all",
    "cpm": "reported_cpm",
    "cpc": "reported_cpc",
    "cpv": "reported_cpv",
}

NUMERIC_KINDS = frozenset({Kind.COUNT, Kind.DECIMAL, Kind.MONEY})
DIMENSIONS = ("campaign", "ad_group", "ad")

_SUFFIX = re.compile(r"^(.*?)\s*\(\s*([A-Z]{3})\s*\)\s*$")


def norm(header: str) -> str:
    """A header reduced for matching: NFKC, no BOM, straight quotes, casefolded, one space."""
    text = unicodedata.normalize("NFKC", header).replace("\ufeff", "")
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    return " ".join(text.casefold().split())


def split_currency(header: str) -> tuple[str, str | None]:
    """``Amount spent (EUR)`` -> (``Amount spent``, ``EUR``); other headers are unchanged.

    Only an upper-case ISO 4217 code counts, so ``CTR (all)`` keeps its suffix.
    """
    m = _SUFFIX.match(unicodedata.normalize("NFKC", header).strip())
    if m and pycountry.currencies.get(alpha_3=m.group(2)) is not None:
        return m.group(1), m.group(2)
    return header, None


@dataclass(frozen=True)
class Column:
    """One field and the header spellings that mean it. The first alias is shown in messages."""

    field: str
    aliases: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.field not in FIELD_KINDS:
            raise ValueError(f"unknown field {self.field!r}")


@dataclass(frozen=True)
class PlatformSpec:
    """What one platform's exports look like."""

    name: str
    label: str
    columns: tuple[Column, ...]
    required: tuple[str, ...] = ("campaign", "impressions", "spend")
    # Meta's optional summary row has every name cell empty: it is a totals row.
    blank_names_are_totals: bool = False
    # Google prints the report's date range in the preamble; rows without a Day column
    # then cover that whole range.
    period_from_preamble: bool = False
    lookup: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table: dict[str, str] = {}
        for col in self.columns:
            for alias in col.aliases:
                key = norm(alias)
                if table.setdefault(key, col.field) != col.field:
                    raise ValueError(f"{self.name}: alias {alias!r} names two fields")
        object.__setattr__(self, "lookup", table)

    def field_for(self, header: str) -> tuple[str | None, str | None]:
        """The field a header means here (or None), and the currency its suffix names."""
        direct = self.lookup.get(norm(header))
        if direct is not None:
            return direct, None
        bare, currency = split_currency(header)
        if currency is None:
            return None, None
        return self.lookup.get(norm(bare)), currency

    def display(self, name: str) -> str:
        """How a field is spelled in this platform's (English) exports."""
        if name == "date":
            day, start, end = (self.display(n) for n in ("day", "start", "end"))
            return f"{day} (or {start} and {end})"
        for col in self.columns:
            if col.field == name:
                return col.aliases[0]
        return name


@dataclass(frozen=True)
class BoundColumn:
    """A file column matched to a field."""

    index: int
    header: str
    field: str
    kind: Kind
    currency: str | None  # from a ``(XXX)`` header suffix


@dataclass(frozen=True)
class Binding:
    """A header row matched against a spec."""

    spec: PlatformSpec
    headers: tuple[str, ...]
    columns: tuple[BoundColumn, ...]
    ignored: tuple[str, ...]
    header_currency: str | None

    def get(self, name: str) -> BoundColumn | None:
        for col in self.columns:
            if col.field == name:
                return col
        return None

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def has_dates(self) -> bool:
        return self.has("day") or (self.has("start") and self.has("end"))

    def missing(self, *, period_known: bool = False) -> list[str]:
        """Required fields with no column, spelled as the platform spells them."""
        absent = [self.spec.display(n) for n in self.spec.required if not self.has(n)]
        if not self.has_dates() and not period_known:
            absent.append(self.spec.display("date"))
        return absent


def bind(spec: PlatformSpec, headers: Sequence[str], header_row: int | None = None) -> Binding:
    """Match ``headers`` to ``spec``. Two columns meaning one field, or money columns naming
    different currencies, raise :class:`ImportFailed` naming the header row and columns."""
    bound: list[BoundColumn] = []
    ignored: list[str] = []
    seen: dict[str, str] = {}
    currencies: dict[str, str] = {}
    problems: list[RowProblem] = []
    for index, header in enumerate(headers):
        name, currency = spec.field_for(header)
        if name is None:
            if header.strip():
                ignored.append(header)
            continue
        if name in seen:
            problems.append(
                RowProblem(header_row, header, f"means the same as column {seen[name]!r}")
            )
            continue
        seen[name] = header
        if currency is not None:
            currencies[header] = currency
        bound.append(BoundColumn(index, header, name, FIELD_KINDS[name], currency))
    if len(set(currencies.values())) > 1:
        listed = ", ".join(f"{h!r}" for h in currencies)
        problems.append(
            RowProblem(header_row, None, f"columns name different currencies: {listed}")
        )
    if problems:
        raise ImportFailed(problems, "the header row cannot be read")
    header_currency = next(iter(currencies.values()), None)
    return Binding(spec, tuple(headers), tuple(bound), tuple(ignored), header_currency)
