"""`where` filters and `order` keys of ``Repository.page`` turned into SQL.

A filter key is a column name (equality; None means IS NULL; a set, frozenset, list or tuple
means "any of"), ``q`` (case-insensitive substring of the search column, with LIKE wildcards
in the text escaped so ``50%`` means those three characters), or a virtual filter a
repository declares. Anything else is a programming error and raises ValueError.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from enum import Enum
from typing import Any, TypeGuard

from sqlalchemy import JSON, Column, ColumnElement, Table, UnaryExpression, true

from backbeat.domain.taxonomy import Size

SEARCH_KEY = "q"
Virtual = Callable[[object], ColumnElement[bool]]


def db_value(value: object) -> object:
    """A domain value as the column stores it: enums by value, sizes as ``WxH``."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Size):
        return str(value)
    return value


def is_many(value: object) -> TypeGuard[Collection[object]]:
    return isinstance(value, (set, frozenset, list, tuple))


def plain_columns(table: Table) -> dict[str, Column[Any]]:
    """Columns that can be compared and sorted: everything except JSON documents."""
    return {c.name: c for c in table.columns if not isinstance(c.type, JSON)}


def equals(column: Column[Any], value: object) -> ColumnElement[bool]:
    """`column` equals `value`, or is any of it when `value` is a collection."""
    if value is None:
        return column.is_(None)
    if is_many(value):
        return column.in_([db_value(v) for v in value])
    return column == db_value(value)


def build_where(
    table: Table,
    where: Mapping[str, object] | None,
    *,
    search: str,
    virtual: Mapping[str, Virtual],
) -> list[ColumnElement[bool]]:
    """The conditions for `where` (all must hold)."""
    if not where:
        return []
    columns = plain_columns(table)
    out: list[ColumnElement[bool]] = []
    for key, value in where.items():
        if key == SEARCH_KEY:
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise ValueError(f"filter q takes a string, not {type(value).__name__}")
            out.append(table.c[search].icontains(value, autoescape=True))
        elif key in virtual:
            out.append(virtual[key](value))
        elif key in columns:
            out.append(equals(columns[key], value))
        else:
            known = sorted({*columns, *virtual, SEARCH_KEY})
            raise ValueError(f"unknown filter {key!r} on {table.name}; known: {known}")
    return out or [true()]


def build_order(table: Table, order: str) -> list[UnaryExpression[Any] | Column[Any]]:
    """``"name"`` ascending, ``"-created_at"`` descending; ties broken by id so pages never
    overlap or skip rows."""
    name = order.removeprefix("-")
    columns = plain_columns(table)
    if name not in columns:
        raise ValueError(f"cannot order {table.name} by {order!r}; columns: {sorted(columns)}")
    col = columns[name]
    first: UnaryExpression[Any] = col.desc() if order.startswith("-") else col.asc()
    if name == "id":
        return [first]
    return [first, table.c.id.asc()]
