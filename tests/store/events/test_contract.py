"""Behaviour every EventStore backend must show (run once per backend in conftest.BACKENDS)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backbeat.domain.events import Event, EventType
from backbeat.errors import ValidationFailed
from backbeat.store.events.protocol import EventStore
from backbeat.store.events.schema import (
    COLUMN_NAMES,
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    ROLLUP_TABLE,
    row_to_event,
)
from tests.store.events.builders import make_event, make_events


def stored_events(store: EventStore) -> list[Event]:
    rows = store.query(f"SELECT {', '.join(COLUMN_NAMES)} FROM events ORDER BY id")
    return [row_to_event(r) for r in rows]


def test_dialect_names_the_backend(store: EventStore) -> None:
    assert store.dialect in {"duckdb", "clickhouse"}


def test_every_field_round_trips(store: EventStore) -> None:
    full = make_event(seed=1)
    bare = make_event(
        seed=2,
        ts=datetime(2026, 3, 2, 23, 59, 59, 999_999, tzinfo=UTC),
        type=EventType.IMPRESSION,
        valid=True,
        drop_reason=None,
        attribution=None,
        price_micros=0,
        value_micros=0,
        genre_match=False,
        campaign_id=0,
    )
    assert store.append_batch([full, bare]) == 2
    assert sorted(stored_events(store), key=lambda e: e.id) == sorted(
        [full, bare], key=lambda e: e.id
    )


def test_timestamps_are_stored_as_utc(store: EventStore) -> None:
    berlin = timezone(timedelta(hours=1))
    local = make_event(seed=3, ts=datetime(2026, 3, 2, 10, 30, tzinfo=berlin))
    naive = make_event(seed=4, ts=datetime(2026, 3, 2, 9, 45))
    store.append_batch([local, naive])
    by_id = {e.id: e for e in stored_events(store)}
    assert by_id[local.id].ts == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert by_id[local.id].ts.tzinfo is UTC
    assert by_id[naive.id].ts == datetime(2026, 3, 2, 9, 45, tzinfo=UTC)


def test_reappending_stored_ids_inserts_nothing(store: EventStore) -> None:
    events = make_events(300, seed=5)
    assert store.append_batch(events[:200]) == 200
    assert store.append_batch(events[:200]) == 0
    assert store.append_batch(events[100:300]) == 100
    assert store.count() == 300
    assert store.ids() == {e.id for e in events}


def test_duplicates_inside_one_batch_count_once(store: EventStore) -> None:
    events = make_events(50, seed=6)
    assert store.append_batch(events + events[10:20] + [events[0]]) == 50
    assert store.count() == 50


def test_empty_batch_inserts_nothing(store: EventStore) -> None:
    assert store.append_batch([]) == 0
    assert store.count() == 0


def test_malformed_event_rejects_the_whole_batch(store: EventStore) -> None:
    events = make_events(3, seed=7)
    bad = make_event(seed=8, price_micros=2.5)
    with pytest.raises(ValidationFailed) as err:
        store.append_batch([*events, bad])
    assert err.value.fields[0].field == "events[3].price_micros"
    assert store.count() == 0


def expected_rollup(events: list[Event]) -> dict[tuple[object, ...], tuple[int, int, int]]:
    totals: dict[tuple[object, ...], list[int]] = {}
    for e in events:
        hour = e.ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        dims = []
        for d in ROLLUP_DIMENSIONS:
            v = getattr(e, d)
            dims.append("" if v is None else (v.value if hasattr(v, "value") else v))
        acc = totals.setdefault((hour, *dims), [0, 0, 0])
        acc[0] += 1
        acc[1] += e.price_micros
        acc[2] += e.value_micros
    return {k: (v[0], v[1], v[2]) for k, v in totals.items()}


def test_hourly_rollup_equals_aggregating_raw_events(store: EventStore) -> None:
    events = make_events(3000, seed=9, step_ms=7_000)  # almost 6 hours
    store.append_batch(events[:1000])
    store.append_batch(events[500:2000])  # half already stored: must not be added twice
    store.append_batch(events[2000:] + events[:10])
    cols = ", ".join(("hour", *ROLLUP_DIMENSIONS, *ROLLUP_MEASURES))
    rows = store.query(f"SELECT {cols} FROM {ROLLUP_TABLE}")
    got = {tuple(r[:-3]): (r[-3], r[-2], r[-1]) for r in rows}
    want = expected_rollup(events)
    assert len({k[0] for k in want}) >= 5
    assert got == want
    # and it agrees with SQL over the raw table, the way dashboards cross-check it
    (raw,) = store.query("SELECT count(*), sum(price_micros), sum(value_micros) FROM events")
    (rolled,) = store.query(
        f"SELECT sum(event_count), sum(price_micros), sum(value_micros) FROM {ROLLUP_TABLE}"
    )
    assert raw == rolled


def test_count_filters(store: EventStore) -> None:
    events = make_events(800, seed=10, step_ms=20_000)
    store.append_batch(events)
    since = events[100].ts
    until = events[600].ts
    assert store.count(type=EventType.CLICK) == sum(e.type is EventType.CLICK for e in events)
    assert store.count(campaign_id=2, valid=True) == sum(
        e.campaign_id == 2 and e.valid for e in events
    )
    assert store.count(since=since, until=until) == 500
    assert store.count(valid=False, since=since) == sum(
        not e.valid and e.ts >= since for e in events
    )


def test_ids_among_says_which_are_stored(store: EventStore) -> None:
    events = make_events(40, seed=11)
    store.append_batch(events[:30])
    asked = [e.id for e in events[25:40]] + ["00000000-0000-7000-8000-000000000000"]
    assert store.ids(asked) == {e.id for e in events[25:30]}
    assert store.ids([]) == set()


@pytest.mark.parametrize(
    "sql",
    ["DELETE FROM events", "SELECT 1; DROP TABLE events", "DROP TABLE events", "SELEC oops"],
)
def test_query_runs_only_single_read_statements(store: EventStore, sql: str) -> None:
    store.append_batch(make_events(5, seed=12))
    with pytest.raises(ValidationFailed) as err:
        store.query(sql)
    assert err.value.fields[0].field == "sql"
    assert store.count() == 5


def test_query_returns_rows_as_tuples(store: EventStore) -> None:
    events = make_events(200, seed=13)
    store.append_batch(events)
    rows = store.query("SELECT type, count(*) FROM events GROUP BY type ORDER BY type")
    assert rows == sorted(Counter(e.type.value for e in events).items())


def test_close_is_idempotent(store: EventStore) -> None:
    store.close()
    store.close()
