"""The frequency and decision builders: known answers on DuckDB, the same answers from the
ClickHouse text on chdb (embedded ClickHouse) when it is installed, and ClickHouse text free
of what version 18.16 lacks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backbeat.analytics.sql_clickhouse import param_type
from backbeat.analytics.sql_facts import (
    FactsStatement,
    decisions_statement,
    frequency_statement,
)
from backbeat.domain.events import Event, EventType
from backbeat.store.events.duckdb_store import DuckDBEventStore
from tests.analytics.factory import ev

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
START, END = datetime(2026, 3, 1), datetime(2026, 3, 4)


def exposures() -> list[Event]:
    """Visitor v<k> sees campaign 1 k+1 times, a minute apart, and clicks on the first view;
    campaign 2, invalid impressions and an anonymous visitor must not count."""
    out = []
    for k in range(5):
        for n in range(k + 1):
            ts = T0 + timedelta(minutes=n)
            out.append(ev(ts, visitor=f"v{k}", decision_id=f"d{k}-{n}"))
            if n == 0:
                out.append(ev(ts + timedelta(seconds=9), EventType.CLICK, visitor=f"v{k}",
                              decision_id=f"d{k}-{n}"))  # fmt: skip
    out.append(ev(T0, visitor="v0", decision_id="other", campaign_id=2))
    out.append(ev(T0, visitor="v0", decision_id="bot", valid=False))
    out.append(ev(T0, visitor="anon", decision_id="dnt"))
    # A duplicate click on one decision still counts one click on one impression.
    out.append(ev(T0 + timedelta(seconds=20), EventType.CLICK, visitor="v4", decision_id="d4-0"))
    # Decisions: two filled, one not, one from a bot (invalid), one on another placement.
    out.append(ev(T0, EventType.DECISION, visitor="h1"))
    out.append(ev(T0 + timedelta(days=1), EventType.DECISION, visitor="h2"))
    out.append(ev(T0, EventType.DECISION, campaign_id=0, visitor="h1"))
    out.append(ev(T0, EventType.DECISION, valid=False, visitor="h3"))
    out.append(ev(T0, EventType.DECISION, placement_id=99, visitor="h4"))
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBEventStore]:
    s = DuckDBEventStore(tmp_path / "events.duckdb")
    s.append_batch(exposures())
    yield s
    s.close()


def rows(store: Any, st: Any) -> list[tuple[int, ...]]:
    return [tuple(int(str(v)) for v in r) for r in store.query(st.sql, st.params)]


def test_frequency_buckets_known_answer(store: DuckDBEventStore) -> None:
    # Exposures: 5 first views (all clicked), 4 second, 3 third, 2 fourth, 1 fifth.
    st = frequency_statement("duckdb", 1, START, END, last=4)
    assert rows(store, st) == [(1, 5, 5), (2, 4, 0), (3, 3, 0), (4, 3, 0)]
    wide = frequency_statement("duckdb", 1, START, END, last=10)
    assert rows(store, wide) == [(1, 5, 5), (2, 4, 0), (3, 3, 0), (4, 2, 0), (5, 1, 0)]
    one = frequency_statement("duckdb", 1, START, END, last=1)
    assert rows(store, one) == [(1, 15, 5)]
    empty = frequency_statement("duckdb", 1, datetime(2026, 3, 3), END)
    assert rows(store, empty) == []


def test_decisions_known_answer(store: DuckDBEventStore) -> None:
    total = decisions_statement("duckdb", START, END)
    assert rows(store, total) == [(4, 3, 3)]  # valid only; filled have a campaign; h1 twice
    on_51 = decisions_statement("duckdb", START, END, placements=[51], by_day=True)
    answer = store.query(on_51.sql, on_51.params)
    assert [(str(d), n, f, v) for d, n, f, v in answer] == [
        ("2026-03-02", 2, 1, 1), ("2026-03-03", 1, 1, 1)]  # fmt: skip


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="naive UTC"):
        frequency_statement("duckdb", 1, T0, T0 + timedelta(days=1))
    with pytest.raises(ValueError, match="after start"):
        decisions_statement("duckdb", END, START)
    with pytest.raises(ValueError, match="empty"):
        decisions_statement("duckdb", START, END, placements=[])
    with pytest.raises(ValueError, match="last"):
        frequency_statement("duckdb", 1, START, END, last=0)
    with pytest.raises(ValueError, match="dialect"):
        frequency_statement("oracle", 1, START, END)


FORBIDDEN = [r"\bWITH\b", r"\bOVER\s*\(", r"GROUP BY ALL", r"WITH FILL", r"toStartOfInterval",
             r"\bQUALIFY\b", r"\?", r"FILTER \(WHERE", r"date_trunc", r"\bunnest\b",
             r"\bJOIN\b(?<!ARRAY JOIN)"]  # fmt: skip


@pytest.mark.parametrize(
    "st",
    [
        frequency_statement("clickhouse", 7, START, END),
        decisions_statement("clickhouse", START, END, placements=[3, 1, 2], by_day=True),
        decisions_statement("clickhouse", START, END),
    ],
)
def test_clickhouse_text_is_portable_and_fully_bound(st: Any) -> None:
    text = st.sql.replace("ARRAY JOIN", "ARRAY_JOIN")
    for pattern in FORBIDDEN:
        assert not re.search(pattern, text), pattern
    holes = re.findall(r"\{p(\d+):([^}]+)\}", st.sql)
    assert sorted(int(i) for i, _ in holes) == list(range(len(st.params)))
    for index, typ in holes:
        assert typ == param_type(st.params[int(index)])
    # The only quoted text: event types and visitor constants from code, and the UTC zone.
    assert "'" not in re.sub(r"'(impression|click|decision|anon|UTC|)'", "", st.sql)


def test_duckdb_placeholders_follow_the_text_order() -> None:
    st = decisions_statement("duckdb", START, END, placements=[9, 5])
    assert st.params == (START, END, 5, 9)
    freq = frequency_statement("duckdb", 7, START, END, last=3)
    assert freq.params == (3, START, END, 7) and freq.sql.count("?") == 4


def test_clickhouse_gives_the_duckdb_answers(
    store: DuckDBEventStore, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    chdb_session = pytest.importorskip("chdb.session")
    from tests.analytics.test_sql import ChdbStore

    session = chdb_session.Session(str(tmp_path_factory.mktemp("chdb-facts")))
    try:
        house = ChdbStore(session, tmp_path, exposures())
        cases: list[tuple[Callable[..., FactsStatement], tuple[object, ...], dict[str, Any]]] = [
            (frequency_statement, (1, START, END), {}),
            (decisions_statement, (START, END), {}),
            (decisions_statement, (START, END), {"placements": [51], "by_day": True}),
        ]
        for build, args, kw in cases:
            expected = store.query(*_bound(build("duckdb", *args, **kw)))
            got = house.query(*_bound(build("clickhouse", *args, **kw)))
            assert got and [tuple(map(str, r)) for r in got] == [
                tuple(map(str, r)) for r in expected
            ]
    finally:
        session.close()


def _bound(st: FactsStatement) -> tuple[str, tuple[object, ...]]:
    return st.sql, st.params
