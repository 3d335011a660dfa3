"""The ClickHouse dialect of the report SQL (see :mod:`backbeat.analytics.sql`).

Portable across ClickHouse versions: no CTEs, window functions, ``GROUP BY ALL``,
``WITH FILL`` or ``toStartOfInterval``; conditional aggregates are ``countIf``/``sumIf``/
``uniqExactIf``, buckets ``toStartOfHour``/``toDate``/``toMonday`` over ``addSeconds(ts,
offset)``. ``ts`` is a UTC ``DateTime``/``DateTime64`` column, so ``toDate`` on the shifted
value is the local date.

Parameters use server-side binding as clickhouse-connect sends it: ``{pN:Type}`` where
``pN`` is the N-th entry of :attr:`Statement.params`; the event store passes
``{"p0": params[0], …}``. Booleans bind as ``UInt8`` 0/1.
"""

from __future__ import annotations

from datetime import datetime

from backbeat.analytics.dimensions import FilterValue
from backbeat.analytics.sql import SqlBuilder


def param_type(value: object) -> str:
    """The ClickHouse type of a bound Python value."""
    if isinstance(value, bool):
        return "UInt8"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, str):
        return "String"
    if isinstance(value, datetime):
        return "DateTime64(6, 'UTC')" if value.microsecond else "DateTime('UTC')"
    raise TypeError(f"cannot bind {type(value).__name__} for ClickHouse")


class ClickHouseBuilder(SqlBuilder):
    """Named typed parameters, ``-If`` aggregate combinators."""

    dialect = "clickhouse"

    def placeholder(self, index: int, value: object) -> str:
        return f"{{p{index}:{param_type(value)}}}"

    def count_if(self, cond: str) -> str:
        return f"countIf({cond})"

    def sum_if(self, column: str, cond: str) -> str:
        return f"sumIf({column}, {cond})"

    def distinct_if(self, column: str, cond: str) -> str:
        return f"uniqExactIf({column}, {cond})"

    def is_valid(self, valid: bool) -> str:
        return "valid = 1" if valid else "valid = 0"

    def no_null(self, column: str) -> str:
        return f"ifNull({column}, '')"

    def shift(self, column: str, seconds: str) -> str:
        return f"addSeconds({column}, {seconds})"

    def day(self, local: str) -> str:
        return f"toDate({local})"

    def monday(self, local: str) -> str:
        return f"toMonday({local})"

    def hour(self, local: str) -> str:
        return f"toStartOfHour({local})"

    def bind(self, value: FilterValue) -> object:
        return int(value) if isinstance(value, bool) else value
