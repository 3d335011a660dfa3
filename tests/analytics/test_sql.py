"""SQL generation: bound parameters, the rollup choice, and the two dialects.

The ClickHouse statements are checked as text, and executed on chdb (embedded ClickHouse)
when it is installed. No ClickHouse event store exists yet, so :class:`ChdbStore` below is
a test stand-in: the store's ``events`` table and its rollups in ClickHouse types, loaded
from the same Arrow table the DuckDB store ingests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from backbeat.analytics.dimensions import COLUMNS, Dimension
from backbeat.analytics.metrics import Base, Metric, bases_for
from backbeat.analytics.periods import Granularity
from backbeat.analytics.query import Filter, Query
from backbeat.analytics.runner import run
from backbeat.analytics.sql import Grouping, Statement, builder_for, literal
from backbeat.analytics.sql_clickhouse import param_type
from backbeat.domain.events import Event
from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.schema import ROLLUP_BLANK_FOR_NULL, ROLLUPS, to_arrow
from tests.analytics.factory import random_events

ALL = tuple(Metric)


def plan(q: Query, dialect: str = "duckdb", *, use_rollup: bool = True) -> list[Statement]:
    grouping = Grouping(q.period, q.granularity, q.dimensions, bases_for(q.metrics))
    return builder_for(dialect).statements(q, grouping, use_rollup=use_rollup)


def query(**kw: Any) -> Query:
    return Query(start=date(2026, 3, 2), end=date(2026, 3, 8), **kw)


def test_filter_values_and_scopes_are_bound_not_written() -> None:
    q = query(
        metrics=(Metric.IMPRESSIONS, Metric.REACH),
        filters=(Filter(Dimension.CAMPAIGN, frozenset({314159, 271828})),
                 Filter(Dimension.COUNTRY, frozenset({"DE"}))),
    ).scoped(advertiser_id=8675309)
    for dialect in ("duckdb", "clickhouse"):
        for st in plan(q, dialect):
            for secret in ("314159", "271828", "'DE'", "8675309", "2026"):
                assert secret not in st.sql
            assert {314159, 271828, "DE", 8675309} <= set(st.params)
            assert "advertiser_id = " in st.sql


def test_duckdb_placeholders_match_params() -> None:
    q = query(timezone="America/New_York", granularity=Granularity.HOUR, metrics=ALL,
              dimensions=(Dimension.SITE,),
              filters=(Filter(Dimension.GENRE_MATCH, frozenset({True})),))
    for st in plan(q):
        assert st.sql.count("?") == len(st.params)


def test_rollup_for_additive_metrics_raw_events_for_reach() -> None:
    q = query(metrics=(Metric.CTR, Metric.REACH, Metric.CLICK_THROUGH_CONVERSIONS),
              granularity=Granularity.DAY, dimensions=(Dimension.CAMPAIGN,))
    rollup, raw = plan(q)
    assert (rollup.table, rollup.bases) == (
        "events_hourly", (Base.IMPRESSIONS, Base.CLICKS, Base.CT_CONVERSIONS))
    assert (raw.table, raw.bases) == ("events", (Base.VISITORS,))
    assert "FROM events_hourly" in rollup.sql and "sum(event_count)" in rollup.sql
    assert "attribution = 'click_through'" in rollup.sql
    assert "count(DISTINCT visitor)" in raw.sql
    assert [s.table for s in plan(q, use_rollup=False)] == ["events"]


def test_rollup_only_when_hours_line_up() -> None:
    additive = (Metric.IMPRESSIONS,)
    assert plan(query(metrics=additive, timezone="Asia/Tokyo"))[0].table == "events_hourly"
    assert plan(query(metrics=additive, timezone="Asia/Kolkata"))[0].table == "events"
    assert plan(query(metrics=additive, timezone="Asia/Kathmandu"))[0].table == "events"
    off_hour = Query(start=datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
                     end=datetime(2026, 3, 3, tzinfo=UTC), metrics=additive)
    assert plan(off_hour)[0].table == "events"


IN_ROLLUP = {Dimension.CAMPAIGN, Dimension.CREATIVE, Dimension.ADVERTISER,
             Dimension.OBJECTIVE, Dimension.FORMAT, Dimension.SIZE, Dimension.DROP_REASON}


@pytest.mark.parametrize("dim", list(Dimension))
def test_each_dimension_reads_the_table_stated_for_it(dim: Dimension) -> None:
    # A dimension added without a rollup column falls back to raw events: correct, but
    # slow on a large network, so every dimension's table is stated here.
    q = query(metrics=(Metric.IMPRESSIONS, Metric.SPEND), dimensions=(dim,))
    expected = "events_hourly" if dim in IN_ROLLUP else "events"
    assert [s.table for s in plan(q)] == [expected]
    assert {COLUMNS[d] for d in IN_ROLLUP} <= set(ROLLUPS[0].dimensions)


def test_a_filter_outside_the_rollup_sends_the_query_to_the_events() -> None:
    by_campaign = query(metrics=(Metric.IMPRESSIONS,), dimensions=(Dimension.CAMPAIGN,))
    assert [s.table for s in plan(by_campaign)] == ["events_hourly"]
    on_site = replace(by_campaign, filters=(Filter(Dimension.SITE, frozenset({7})),))
    assert [s.table for s in plan(on_site)] == ["events"]
    assert [s.table for s in plan(query(metrics=(Metric.IMPRESSIONS,)))] == ["events_hourly"]


def test_time_zone_is_applied_with_bound_offsets() -> None:
    q = query(timezone="America/New_York", granularity=Granularity.DAY,
              metrics=(Metric.IMPRESSIONS,))
    (st,) = plan(q)
    assert "CASE WHEN hour < ? THEN ? ELSE ? END" in st.sql
    assert st.params[:3] == (datetime(2026, 3, 8, 7), -18000, -14400)
    assert "America/New_York" not in st.sql
    utc = plan(query(granularity=Granularity.DAY, metrics=(Metric.IMPRESSIONS,)))[0]
    assert utc.sql.startswith("SELECT CAST(hour AS DATE) AS k0,")


def test_literals_only_for_code_constants() -> None:
    assert literal("click_through") == "'click_through'"
    for bad in ("x'; DROP TABLE events; --", "Impression", ""):
        with pytest.raises(ValueError, match="not a safe SQL constant"):
            literal(bad)


FORBIDDEN = [r"\bWITH\b", r"\bOVER\s*\(", r"GROUP BY ALL", r"WITH FILL", r"toStartOfInterval",
             r"\bQUALIFY\b", r"\?", r"FILTER \(WHERE", r"date_trunc"]


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("gran", list(Granularity))
def test_clickhouse_sql_is_portable(tz: str, gran: Granularity) -> None:
    q = query(timezone=tz, granularity=gran, metrics=ALL, dimensions=(Dimension.DROP_REASON,),
              filters=(Filter(Dimension.GENRE_MATCH, frozenset({False})),))
    sql = " ".join(st.sql for st in plan(q, "clickhouse"))
    for pattern in FORBIDDEN:
        assert not re.search(pattern, sql), pattern
    for needed in ("countIf(", "sumIf(", "uniqExactIf(visitor", "ifNull(drop_reason, '')",
                   "valid = 1", "valid = 0", "genre_match IN ({p"):
        assert needed in sql
    expected = {Granularity.DAY: "toDate(", Granularity.WEEK: "toMonday(",
                Granularity.HOUR: "toStartOfHour(", Granularity.NONE: "FROM"}
    assert expected[gran] in sql
    for st in plan(q, "clickhouse"):
        holes = re.findall(r"\{p(\d+):([^}]+)\}", st.sql)
        assert sorted(int(i) for i, _ in holes) == list(range(len(st.params)))
        for index, typ in holes:
            assert typ == param_type(st.params[int(index)])
        assert 0 in st.params and not any(type(v) is bool for v in st.params)  # bools as 0/1


def test_param_types() -> None:
    assert param_type(5) == "Int64"
    assert param_type("x") == "String"
    assert param_type(datetime(2026, 3, 2)) == "DateTime('UTC')"
    assert param_type(datetime(2026, 3, 2, 0, 0, 0, 5)) == "DateTime64(6, 'UTC')"
    with pytest.raises(TypeError):
        param_type(1.5)


# --- ClickHouse on chdb ------------------------------------------------------------------

_CH_TYPES = {"string": "String", "int64": "Int64", "bool": "Bool",
             "timestamp[us]": "DateTime64(6, 'UTC')"}


class ChdbStore:
    """The EventStore `query` contract on chdb (test stand-in; see the module docstring)."""

    dialect = "clickhouse"

    def __init__(self, session: Any, tmp: Path, events: Sequence[Event]) -> None:
        self.session = session
        table = to_arrow(events)
        cols = []
        for f in table.schema:
            typ = _CH_TYPES[str(f.type)]
            cols.append(f"{f.name} {'Nullable(' + typ + ')' if f.nullable else typ}")
        session.query("DROP TABLE IF EXISTS events")
        session.query(f"CREATE TABLE events ({', '.join(cols)}) ENGINE = MergeTree ORDER BY ts")
        path = tmp / "events.parquet"
        pq.write_table(table, path)
        session.query(f"INSERT INTO events SELECT * FROM file('{path}', Parquet)")
        for rollup in ROLLUPS:
            dims = [f"ifNull({d}, '') AS {d}" if d in ROLLUP_BLANK_FOR_NULL else d
                    for d in rollup.dimensions]
            session.query(f"DROP TABLE IF EXISTS {rollup.table}")
            session.query(
                f"CREATE TABLE {rollup.table} ENGINE = MergeTree ORDER BY hour AS "
                f"SELECT toDateTime(toStartOfHour(ts), 'UTC') AS hour, {', '.join(dims)}, "
                "toInt64(count()) AS event_count, sum(price_micros) AS price_micros, "
                "sum(value_micros) AS value_micros "
                f"FROM events GROUP BY hour, {', '.join(rollup.dimensions)}"
            )

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Rows in Python types, as clickhouse-connect returns them."""
        bound = {f"p{i}": _ch_value(v) for i, v in enumerate(params)}
        answer = json.loads(self.session.query(sql, "JSONCompact", params=bound).data())
        types = [m["type"] for m in answer["meta"]]
        return [tuple(map(_py, types, row)) for row in answer["data"]]


def _py(typ: str, value: Any) -> object:
    if value is None:
        return None
    if typ.startswith("DateTime"):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if typ == "Date":
        return date.fromisoformat(value)
    if "Int" in typ:
        return int(value)
    return value


def _ch_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value


@pytest.fixture(scope="module")
def chdb_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chdb_session_mod = pytest.importorskip("chdb.session")
    session = chdb_session_mod.Session(str(tmp_path_factory.mktemp("chdb")))
    try:
        yield session
    finally:
        session.close()


CASES = [
    query(metrics=ALL),
    query(metrics=ALL, timezone="America/New_York", granularity=Granularity.DAY,
          dimensions=(Dimension.CAMPAIGN, Dimension.DROP_REASON)),
    query(metrics=ALL, timezone="Asia/Kolkata", granularity=Granularity.HOUR,
          dimensions=(Dimension.GENRE_MATCH,),
          filters=(Filter(Dimension.COUNTRY, frozenset({"US", "DE"})),)),
    query(metrics=ALL, timezone="Europe/Berlin", granularity=Granularity.WEEK,
          dimensions=(Dimension.DEVICE,), compare_previous=True, include_invalid=True,
          filters=(Filter(Dimension.GENRE_MATCH, frozenset({True})),)).scoped(advertiser_id=2),
]


def test_clickhouse_statements_give_the_duckdb_answers(
    chdb_session: Any, tmp_path: Path
) -> None:
    events = random_events(2500, datetime(2026, 2, 20, tzinfo=UTC), days=20, seed=3)
    duck = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        duck.append_batch(events)
        house = ChdbStore(chdb_session, tmp_path, events)
        for q in CASES:
            expected = run(q, duck).to_dict()
            assert expected["totals"]["metrics"]["impressions"] > 0  # type: ignore[index]
            assert run(q, house).to_dict() == expected
            assert run(q, house, use_rollup=False).to_dict() == expected
    finally:
        duck.close()
