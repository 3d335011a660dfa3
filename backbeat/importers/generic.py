"""Any CSV, with a small mapping file (TOML or JSON) from its headers to our fields.

Example ``mapping.toml``::

    platform = "snapchat"         # stored on every row; default "generic"
    currency = "EUR"              # when the file has no currency column
    date_format = "%d/%m/%Y"      # strptime; or date_order = "dmy" / "mdy"; or neither
    decimal = ","                 # "," or "."; detected when left out
    account = "Label X"           # optional default account

    [columns]
    "Date" = "day"
    "Campaign" = "campaign"
    "Paid Impressions" = "impressions"
    "Swipe Ups" = "clicks"
    "Amount Spent" = "spend"

Field names are those of :data:`backbeat.importers.columns.FIELD_KINDS`. ``campaign``,
``impressions`` and ``spend`` are required, and a date: ``day``, or ``start`` and ``end``
(or ``period=`` when importing).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from backbeat.errors import ValidationFailed
from backbeat.importers.columns import FIELD_KINDS, Column, PlatformSpec, norm
from backbeat.importers.parsing import CellError, DateOrder, NumberStyle, parse_currency

_SLUG = re.compile(r"[a-z][a-z0-9_]{0,39}")
_KEYS = {"platform", "currency", "date_format", "date_order", "decimal", "account", "columns"}
REQUIRED = ("campaign", "impressions", "spend")


@dataclass(frozen=True)
class GenericMapping:
    """A validated mapping file."""

    columns: tuple[tuple[str, str], ...]  # (header, field)
    platform: str = "generic"
    currency: str | None = None
    date_format: str | None = None
    date_order: DateOrder | None = None
    number_style: NumberStyle | None = None
    account: str | None = None

    def spec(self) -> PlatformSpec:
        """The mapping as a platform spec, so the shared machinery reads the file."""
        by_field: dict[str, list[str]] = {}
        for header, name in self.columns:
            by_field.setdefault(name, []).append(header)
        cols = tuple(Column(name, tuple(headers)) for name, headers in by_field.items())
        return PlatformSpec(name=self.platform, label=f"mapped CSV ({self.platform})", columns=cols)


def _read(source: Path) -> Mapping[str, object]:
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed.one("mapping", f"cannot read {source.name}: {exc}") from None
    try:
        if source.suffix.lower() == ".toml":
            return tomllib.loads(text)
        if source.suffix.lower() == ".json":
            loaded = json.loads(text)
            if not isinstance(loaded, dict):
                raise ValidationFailed.one("mapping", "the JSON must be an object")
            return loaded
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed.one("mapping", f"{source.name} is not valid: {exc}") from None
    raise ValidationFailed.one("mapping", "use a .toml or .json mapping file")


def _text(raw: Mapping[str, object], key: str, problems: dict[str, str]) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems[f"mapping.{key}"] = "must be a non-empty string"
        return None
    return value.strip()


def load_mapping(source: Path | str | Mapping[str, object] | GenericMapping) -> GenericMapping:
    """Read and validate a mapping (a path to .toml/.json, or an already-parsed dict).

    Every problem is reported at once as a ValidationFailed naming ``mapping.<key>``.
    """
    if isinstance(source, GenericMapping):
        return source
    raw = _read(Path(source)) if isinstance(source, (str, Path)) else source
    problems: dict[str, str] = {}
    for key in sorted(set(raw) - _KEYS):
        problems[f"mapping.{key}"] = f"unknown key; known: {', '.join(sorted(_KEYS))}"
    platform = _text(raw, "platform", problems) or "generic"
    if not _SLUG.fullmatch(platform):
        problems["mapping.platform"] = "lower-case letters, digits and _ (at most 40)"
    currency = _text(raw, "currency", problems)
    if currency is not None:
        try:
            currency = parse_currency(currency)
        except CellError as exc:
            problems["mapping.currency"] = str(exc)
    date_format = _text(raw, "date_format", problems)
    if date_format is not None and "%" not in date_format:
        problems["mapping.date_format"] = "a strptime format such as %d/%m/%Y"
    order_text = _text(raw, "date_order", problems)
    order = None
    if order_text is not None:
        if order_text not in ("dmy", "mdy"):
            problems["mapping.date_order"] = "must be 'dmy' or 'mdy'"
        else:
            order = DateOrder(order_text)
    decimal = _text(raw, "decimal", problems)
    style = None
    if decimal is not None:
        if decimal not in (",", "."):
            problems["mapping.decimal"] = "must be ',' or '.'"
        else:
            style = NumberStyle.COMMA if decimal == "," else NumberStyle.DOT
    columns = _columns(raw.get("columns"), problems)
    mapped = {name for _, name in columns}
    absent = [name for name in REQUIRED if name not in mapped]
    if absent:
        problems["mapping.columns"] = f"map a column to {', '.join(absent)}"
    if problems:
        raise ValidationFailed.many(problems)
    return GenericMapping(
        columns=tuple(columns),
        platform=platform,
        currency=currency,
        date_format=date_format,
        date_order=order,
        number_style=style,
        account=_text(raw, "account", problems),
    )


def _columns(value: object, problems: dict[str, str]) -> list[tuple[str, str]]:
    if not isinstance(value, Mapping) or not value:
        problems["mapping.columns"] = "a table of 'header' = 'field' entries is required"
        return []
    columns: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    headers: set[str] = set()
    for header, name in value.items():
        where = f"mapping.columns.{header}"
        if not isinstance(name, str) or name not in FIELD_KINDS:
            problems[where] = f"unknown field {name!r}; known: {', '.join(FIELD_KINDS)}"
            continue
        if name in seen:
            problems[where] = f"field {name!r} is already mapped from {seen[name]!r}"
            continue
        if norm(header) in headers:
            problems[where] = "this header is mapped twice"
            continue
        seen[name] = header
        headers.add(norm(header))
        columns.append((str(header), name))
    return columns
