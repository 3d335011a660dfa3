"""The DuckDB dialect of the report SQL (see :mod:`backbeat.analytics.sql`).

``ts`` and ``hour`` are naive UTC ``TIMESTAMP`` columns, so no session time zone ever takes
part: local time is ``ts + to_seconds(offset)``, and ``date_trunc``/``CAST(... AS DATE)`` on
it give local hours, days and (ISO, Monday-first) weeks.
"""

from __future__ import annotations

from backbeat.analytics.sql import SqlBuilder


class DuckDBBuilder(SqlBuilder):
    """Positional ``?`` parameters, ``FILTER (WHERE …)`` aggregates."""

    dialect = "duckdb"

    def placeholder(self, index: int, value: object) -> str:
        return "?"

    def count_if(self, cond: str) -> str:
        return f"count(*) FILTER (WHERE {cond})"

    def sum_if(self, column: str, cond: str) -> str:
        return f"coalesce(sum({column}) FILTER (WHERE {cond}), 0)"

    def distinct_if(self, column: str, cond: str) -> str:
        return f"count(DISTINCT {column}) FILTER (WHERE {cond})"

    def is_valid(self, valid: bool) -> str:
        return "valid" if valid else "NOT valid"

    def no_null(self, column: str) -> str:
        return f"coalesce({column}, '')"

    def shift(self, column: str, seconds: str) -> str:
        return f"{column} + to_seconds(CAST({seconds} AS BIGINT))"

    def day(self, local: str) -> str:
        return f"CAST({local} AS DATE)"

    def monday(self, local: str) -> str:
        return f"CAST(date_trunc('week', {local}) AS DATE)"

    def hour(self, local: str) -> str:
        return f"date_trunc('hour', {local})"
