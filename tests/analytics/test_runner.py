"""Reports end to end on the real DuckDB event store: known answers, buckets, rollup, tenancy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.metrics import Metric, bases_for
from backbeat.analytics.periods import Granularity
from backbeat.analytics.query import Filter, Query
from backbeat.analytics.runner import run
from backbeat.analytics.sql import Grouping, builder_for
from backbeat.analytics.stats import wilson_interval
from backbeat.domain.events import Attribution, DropReason, EventType
from backbeat.errors import ValidationFailed
from backbeat.store.events.duckdb_store import DuckDBEventStore
from tests.analytics.factory import UTC_DAY, ev, many, random_events

NY = ZoneInfo("America/New_York")
M = Metric


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBEventStore]:
    s = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        yield s
    finally:
        s.close()


def one_day(*metrics: Metric, **kw: object) -> Query:
    return Query(start=date(2026, 3, 2), end=date(2026, 3, 2), metrics=metrics, **kw)  # type: ignore[arg-type]


def test_ctr_spend_ecpm_cpc_known_answers(store: DuckDBEventStore) -> None:
    noon = UTC_DAY + timedelta(hours=12)
    store.append_batch(many(10_000, UTC_DAY, EventType.IMPRESSION, price_micros=2_500))
    store.append_batch(many(150, noon, EventType.CLICK, price_micros=400_000))
    # Decisions carry the unit price for pacing; they are not spend.
    store.append_batch(many(50, noon, EventType.DECISION, price_micros=2_500))

    result = run(one_day(M.IMPRESSIONS, M.CLICKS, M.CTR, M.SPEND, M.ECPM, M.CPC), store)
    t = result.totals
    assert t[M.IMPRESSIONS] == 10_000
    assert t[M.CLICKS] == 150
    assert t[M.CTR] == Fraction(15, 1000)
    assert t.intervals[M.CTR] == wilson_interval(150, 10_000)
    assert t[M.SPEND] == 10_000 * 2_500 + 150 * 400_000  # 85 USD in micros
    assert t[M.ECPM] == Fraction(85_000_000 * 1000, 10_000)  # 8.50 USD
    assert t[M.CPC] == Fraction(85_000_000, 150)
    metrics = result.to_dict()["totals"]["metrics"]  # type: ignore[index]
    assert metrics == {
        "impressions": 10_000, "clicks": 150, "ctr": "1.5000",
        "spend": "85.000000", "ecpm": "8.500000", "cpc": "0.566667",
    }


def test_reach_counts_distinct_visitors_and_is_not_summed_across_days(
    store: DuckDBEventStore,
) -> None:
    d1, d2 = UTC_DAY, UTC_DAY + timedelta(days=1)
    store.append_batch([
        ev(d1, visitor="hA"), ev(d1 + timedelta(minutes=1), visitor="hA"), ev(d1, visitor="hB"),
        ev(d2, visitor="hA"), ev(d2, visitor="hC"),
        ev(d2, visitor="anon"), ev(d2, visitor="anon"),  # DNT visitors count, but not as reach
        ev(d2, EventType.CLICK, visitor="hD"),  # a click alone is not an exposure
    ])
    q = Query(start=date(2026, 3, 2), end=date(2026, 3, 3), granularity=Granularity.DAY,
              metrics=(M.IMPRESSIONS, M.REACH, M.FREQUENCY))
    result = run(q, store)
    day1, day2 = result.row(date(2026, 3, 2)), result.row(date(2026, 3, 3))
    assert (day1[M.IMPRESSIONS], day1[M.REACH], day1[M.FREQUENCY]) == (3, 2, Fraction(3, 2))
    assert (day2[M.IMPRESSIONS], day2[M.REACH], day2[M.FREQUENCY]) == (4, 2, Fraction(2))
    assert result.totals[M.REACH] == 3  # hA on both days is one visitor, not 4 = 2 + 2
    assert result.totals[M.FREQUENCY] == Fraction(7, 3)


def test_invalid_events_excluded_by_default_and_reported_by_reason(
    store: DuckDBEventStore,
) -> None:
    store.append_batch(many(20, UTC_DAY))
    store.append_batch(many(3, UTC_DAY, valid=False, drop_reason=DropReason.BOT))
    store.append_batch(many(2, UTC_DAY, EventType.CLICK, valid=False,
                            drop_reason=DropReason.DUPLICATE_CLICK))
    store.append_batch(many(4, UTC_DAY, EventType.DECISION))  # not traffic
    base = one_day(M.IMPRESSIONS, M.CLICKS, M.INVALID_EVENTS, M.INVALID_RATE)

    t = run(base, store).totals
    assert (t[M.IMPRESSIONS], t[M.CLICKS], t[M.INVALID_EVENTS]) == (20, 0, 5)
    assert t[M.INVALID_RATE] == Fraction(5, 25)
    assert t.intervals[M.INVALID_RATE] == wilson_interval(5, 25)

    everything = run(one_day(M.IMPRESSIONS, M.CLICKS, include_invalid=True), store).totals
    assert (everything[M.IMPRESSIONS], everything[M.CLICKS]) == (23, 2)

    by_reason = run(one_day(M.INVALID_EVENTS, dimensions=(Dimension.DROP_REASON,)), store)
    counts = {r.dimensions[0]: r[M.INVALID_EVENTS] for r in by_reason.rows}
    assert counts == {"bot": 3, "duplicate_click": 2}
    mixed = run(one_day(M.IMPRESSIONS, M.INVALID_EVENTS, dimensions=(Dimension.DROP_REASON,)),
                store)
    assert [(r.dimensions[0], r[M.IMPRESSIONS], r[M.INVALID_EVENTS]) for r in mixed.rows] == [
        ("bot", 0, 3), ("duplicate_click", 0, 2), (None, 20, 0)]

    only_bots = run(one_day(M.INVALID_EVENTS, filters=(
        Filter(Dimension.DROP_REASON, frozenset({"bot"})),)), store)
    assert only_bots.totals[M.INVALID_EVENTS] == 3


def test_days_and_hours_zero_filled_across_dst_in_new_york(store: DuckDBEventStore) -> None:
    # US clocks spring forward on 2026-03-08 at 02:00 EST (07:00 UTC).
    store.append_batch([
        ev(datetime(2026, 3, 8, 4, 30, tzinfo=UTC)),  # Mar 7, 23:30 EST
        ev(datetime(2026, 3, 8, 6, 30, tzinfo=UTC)),  # 01:30 EST
        ev(datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),  # 03:30 EDT
        ev(datetime(2026, 3, 8, 7, 45, tzinfo=UTC)),  # 03:45 EDT
    ])
    kw = {"start": date(2026, 3, 7), "end": date(2026, 3, 9), "timezone": "America/New_York",
          "metrics": (M.IMPRESSIONS,)}
    days = run(Query(granularity=Granularity.DAY, **kw), store)  # type: ignore[arg-type]
    assert [(r.bucket, r[M.IMPRESSIONS]) for r in days.rows] == [
        (date(2026, 3, 7), 1), (date(2026, 3, 8), 3), (date(2026, 3, 9), 0)]

    hours = run(Query(granularity=Granularity.HOUR, **kw), store)  # type: ignore[arg-type]
    assert len(hours.rows) == 24 + 23 + 24  # the skipped hour is no bucket
    nonzero = {r.bucket: r[M.IMPRESSIONS] for r in hours.rows if r[M.IMPRESSIONS]}
    assert nonzero == {
        datetime(2026, 3, 7, 23, tzinfo=NY): 1,
        datetime(2026, 3, 8, 1, tzinfo=NY): 1,
        datetime(2026, 3, 8, 3, tzinfo=NY): 2,
    }
    assert hours.rows[0].bucket == datetime(2026, 3, 7, 0, tzinfo=NY)
    assert hours.totals[M.IMPRESSIONS] == 4


def test_each_dimension_combination_gets_every_bucket(store: DuckDBEventStore) -> None:
    store.append_batch(many(2, UTC_DAY, campaign_id=1)
                       + many(3, UTC_DAY + timedelta(days=2), campaign_id=2))
    q = Query(start=date(2026, 3, 1), end=date(2026, 3, 4), granularity=Granularity.DAY,
              dimensions=(Dimension.CAMPAIGN,), metrics=(M.IMPRESSIONS, M.CTR),
              timezone="Europe/Berlin")
    result = run(q, store)
    got = [(r.dimensions[0], r.bucket.day, r[M.IMPRESSIONS]) for r in result.rows]  # type: ignore[union-attr]
    assert got == [(1, 1, 0), (1, 2, 2), (1, 3, 0), (1, 4, 0),
                   (2, 1, 0), (2, 2, 0), (2, 3, 0), (2, 4, 3)]
    assert result.row(date(2026, 3, 1), campaign=1)[M.CTR] is None
    lines = result.to_csv().splitlines()
    assert lines[0] == "bucket,campaign,impressions,ctr,ctr_low,ctr_high"
    assert lines[2].startswith("2026-03-02,1,2,0.0000,0.0000,")


def test_fall_back_keeps_both_one_oclock_hours_apart(store: DuckDBEventStore) -> None:
    # 2026-11-01: 01:00-02:00 happens twice in New York (EDT, then EST).
    store.append_batch([ev(datetime(2026, 11, 1, 5, 10, tzinfo=UTC)),
                        ev(datetime(2026, 11, 1, 6, 10, tzinfo=UTC)),
                        ev(datetime(2026, 11, 1, 6, 20, tzinfo=UTC))])
    q = Query(start=date(2026, 11, 1), end=date(2026, 11, 1), timezone="America/New_York",
              granularity=Granularity.HOUR, metrics=(M.IMPRESSIONS,))
    result = run(q, store)
    assert len(result.rows) == 25
    ones = [r for r in result.rows if r.bucket.hour == 1]  # type: ignore[union-attr]
    assert [(r.bucket.utcoffset(), r[M.IMPRESSIONS]) for r in ones] == [  # type: ignore[union-attr]
        (timedelta(hours=-4), 1), (timedelta(hours=-5), 2)]
    assert result.to_dict()["rows"][1]["bucket"] == "2026-11-01T01:00:00-04:00"  # type: ignore[index]


def test_week_granularity_starts_on_monday(store: DuckDBEventStore) -> None:
    store.append_batch([
        ev(datetime(2026, 3, 4, 12, tzinfo=UTC)),  # Wednesday
        ev(datetime(2026, 3, 8, 12, tzinfo=UTC)),  # Sunday
        ev(datetime(2026, 3, 9, 0, 30, tzinfo=UTC)),  # Monday
        ev(datetime(2026, 3, 17, 12, tzinfo=UTC)),  # Tuesday
    ])
    q = Query(start=date(2026, 3, 4), end=date(2026, 3, 17), granularity=Granularity.WEEK,
              metrics=(M.IMPRESSIONS,))
    rows = run(q, store).rows
    assert [(r.bucket, r[M.IMPRESSIONS]) for r in rows] == [
        (date(2026, 3, 2), 2), (date(2026, 3, 9), 1), (date(2026, 3, 16), 1)]


def test_genre_match_dimension(store: DuckDBEventStore) -> None:
    store.append_batch(many(7, UTC_DAY, genre_match=True) + many(3, UTC_DAY, genre_match=False))
    store.append_batch(many(2, UTC_DAY, EventType.CLICK, genre_match=True))
    result = run(one_day(M.IMPRESSIONS, M.CTR, dimensions=(Dimension.GENRE_MATCH,)), store)
    assert [(r.dimensions, r[M.IMPRESSIONS], r[M.CTR]) for r in result.rows] == [
        ((False,), 3, Fraction(0)), ((True,), 7, Fraction(2, 7))]
    assert [line.split(",")[0] for line in result.to_csv().splitlines()[1:]] == ["false", "true"]
    json_dims = [r["dimensions"] for r in result.to_dict()["rows"]]  # type: ignore[attr-defined]
    assert json_dims == [{"genre_match": False}, {"genre_match": True}]


ADDITIVE = (M.IMPRESSIONS, M.VIEWABLE_IMPRESSIONS, M.VIEWABILITY_RATE, M.CLICKS, M.CTR,
            M.SPEND, M.ECPM, M.CPC, M.CONVERSIONS, M.CLICK_THROUGH_CONVERSIONS,
            M.VIEW_THROUGH_CONVERSIONS, M.CONVERSION_RATE, M.COST_PER_CONVERSION,
            M.INVALID_EVENTS, M.INVALID_RATE)
OBJECTIVES = (Filter(Dimension.OBJECTIVE, frozenset({"awareness", "traffic"})),)
GENRES = (Filter(Dimension.GENRE, frozenset({"rock"})),)


@pytest.mark.parametrize(("tz", "granularity", "dims", "filters", "table"), [
    ("UTC", Granularity.DAY, (Dimension.CAMPAIGN, Dimension.CREATIVE), OBJECTIVES,
     "events_hourly"),
    ("Asia/Tokyo", Granularity.NONE, (Dimension.ADVERTISER, Dimension.FORMAT, Dimension.SIZE),
     OBJECTIVES, "events_hourly"),
    ("Europe/Berlin", Granularity.WEEK, (Dimension.CAMPAIGN, Dimension.DROP_REASON), (),
     "events_hourly"),
    # Dimensions the rollup lacks read the events.
    ("America/New_York", Granularity.HOUR, (Dimension.SITE,), GENRES, "events"),
    ("UTC", Granularity.DAY, (Dimension.CAMPAIGN, Dimension.COUNTRY), (), "events"),
    ("Europe/Berlin", Granularity.WEEK, (Dimension.SITE,), OBJECTIVES, "events"),
])
def test_rollups_and_raw_events_agree(
    store: DuckDBEventStore, tz: str, granularity: Granularity, dims: tuple[Dimension, ...],
    filters: tuple[Filter, ...], table: str,
) -> None:
    store.append_batch(random_events(3000, datetime(2026, 3, 1, tzinfo=UTC), days=12))
    q = Query(start=date(2026, 3, 2), end=date(2026, 3, 10), timezone=tz, metrics=ADDITIVE,
              granularity=granularity, dimensions=dims, filters=filters)
    plan = builder_for("duckdb").statements(
        q, Grouping(q.period, granularity, dims, bases_for(ADDITIVE)))
    assert [s.table for s in plan] == [table]
    with_rollup, raw = run(q, store), run(q, store, use_rollup=False)
    assert with_rollup.totals[M.IMPRESSIONS] != 0
    assert with_rollup.totals[M.CONVERSIONS] != 0
    assert with_rollup.to_dict() == raw.to_dict()


def test_scopes_count_as_dimensions(store: DuckDBEventStore) -> None:
    store.append_batch(random_events(2000, datetime(2026, 3, 1, tzinfo=UTC), days=12))
    base = Query(start=date(2026, 3, 2), end=date(2026, 3, 10), metrics=ADDITIVE,
                 dimensions=(Dimension.CAMPAIGN,))
    builder = builder_for("duckdb")
    for q, table in ((base.scoped(advertiser_id=1), "events_hourly"),
                     (base.scoped(publisher_id=1), "events"),
                     (replace(base, dimensions=()).scoped(advertiser_id=2), "events_hourly")):
        plan = builder.statements(q, Grouping(q.period, q.granularity, q.dimensions,
                                              bases_for(q.metrics)))
        assert [s.table for s in plan] == [table]
        assert run(q, store).totals[M.IMPRESSIONS] != 0
        assert run(q, store).to_dict() == run(q, store, use_rollup=False).to_dict()


def test_fractional_offset_zone_reads_raw_events_and_buckets_locally(
    store: DuckDBEventStore,
) -> None:
    # India is UTC+5:30: 18:45 UTC on Mar 2 is 00:15 on Mar 3 in Kolkata.
    store.append_batch([ev(datetime(2026, 3, 2, 18, 15, tzinfo=UTC)),
                        ev(datetime(2026, 3, 2, 18, 45, tzinfo=UTC))])
    q = Query(start=date(2026, 3, 2), end=date(2026, 3, 3), timezone="Asia/Kolkata",
              granularity=Granularity.DAY, metrics=(M.IMPRESSIONS,))
    assert not builder_for("duckdb").rollup_can_answer(
        q, Grouping(q.period, q.granularity, (), ("impressions",)))  # type: ignore[arg-type]
    rows = run(q, store).rows
    assert [r[M.IMPRESSIONS] for r in rows] == [1, 1]
    hours = run(Query(start=date(2026, 3, 2), end=date(2026, 3, 2), timezone="Asia/Kolkata",
                      granularity=Granularity.HOUR, metrics=(M.IMPRESSIONS,)), store)
    kolkata = ZoneInfo("Asia/Kolkata")
    assert {r.bucket for r in hours.rows if r[M.IMPRESSIONS]} == {
        datetime(2026, 3, 2, 23, tzinfo=kolkata)}


def test_conversions_split_by_attribution(store: DuckDBEventStore) -> None:
    store.append_batch(many(10, UTC_DAY, EventType.CLICK, price_micros=500_000))
    store.append_batch(many(3, UTC_DAY, EventType.CONVERSION, attribution=Attribution.CLICK_THROUGH))
    store.append_batch(many(2, UTC_DAY, EventType.CONVERSION, attribution=Attribution.VIEW_THROUGH))
    store.append_batch(many(1, UTC_DAY, EventType.CONVERSION, attribution=Attribution.UNATTRIBUTED))
    t = run(one_day(M.CONVERSIONS, M.CLICK_THROUGH_CONVERSIONS, M.VIEW_THROUGH_CONVERSIONS,
                    M.CONVERSION_RATE, M.COST_PER_CONVERSION), store).totals
    assert (t[M.CONVERSIONS], t[M.CLICK_THROUGH_CONVERSIONS], t[M.VIEW_THROUGH_CONVERSIONS]) == (
        6, 3, 2)
    assert t[M.CONVERSION_RATE] == Fraction(6, 10)
    assert t[M.COST_PER_CONVERSION] == Fraction(5_000_000, 6)


def test_compare_previous_period(store: DuckDBEventStore) -> None:
    # Current: Mar 9-15; previous: Mar 2-8.
    store.append_batch(many(100, datetime(2026, 3, 3, tzinfo=UTC), campaign_id=1)
                       + many(50, datetime(2026, 3, 3, tzinfo=UTC), campaign_id=2)
                       + many(2, datetime(2026, 3, 4, tzinfo=UTC), EventType.CLICK, campaign_id=1))
    store.append_batch(many(150, datetime(2026, 3, 10, tzinfo=UTC), campaign_id=1)
                       + many(6, datetime(2026, 3, 12, tzinfo=UTC), EventType.CLICK, campaign_id=1)
                       + many(1, datetime(2026, 3, 9, 0, 0, 1, tzinfo=UTC), visitor="hZ"))
    q = Query(start=date(2026, 3, 9), end=date(2026, 3, 15), compare_previous=True,
              dimensions=(Dimension.CAMPAIGN,), metrics=(M.IMPRESSIONS, M.CTR, M.REACH))
    result = run(q, store)
    assert result.previous is not None
    assert (result.previous.start, result.previous.end) == (date(2026, 3, 2), date(2026, 3, 8))
    assert result.previous.totals[M.IMPRESSIONS] == 150
    assert result.previous.totals[M.REACH] == 150
    total = result.totals.changes
    assert total is not None
    assert total[M.IMPRESSIONS].previous == 150
    assert total[M.IMPRESSIONS].absolute == 1
    assert total[M.IMPRESSIONS].relative == Fraction(1, 150)
    one = result.row(campaign=1).changes
    assert one is not None
    assert one[M.CTR].previous == Fraction(2, 100)
    assert one[M.CTR].absolute == Fraction(6, 151) - Fraction(2, 100)
    assert [r.dimensions for r in result.rows] == [(1,)]  # campaign 2 ran only before
    rendered = result.to_dict()["totals"]["changes"]["impressions"]  # type: ignore[index]
    assert rendered == {"previous": 150, "absolute": 1, "relative": "0.6667"}


def test_compare_previous_with_buckets_compares_totals(store: DuckDBEventStore) -> None:
    store.append_batch(many(40, datetime(2026, 3, 3, tzinfo=UTC), campaign_id=3, visitor="hP")
                       + many(10, datetime(2026, 3, 10, tzinfo=UTC), campaign_id=3))
    q = Query(start=date(2026, 3, 9), end=date(2026, 3, 15), compare_previous=True,
              granularity=Granularity.DAY, dimensions=(Dimension.CAMPAIGN,),
              metrics=(M.IMPRESSIONS, M.REACH))
    result = run(q, store)
    assert result.previous is not None
    assert result.previous.totals[M.IMPRESSIONS] == 40
    assert result.previous.totals[M.REACH] == 1
    assert result.totals.changes is not None
    assert result.totals.changes[M.REACH].absolute == 9
    assert all(r.changes is None for r in result.rows)
    assert len(result.rows) == 7


@pytest.mark.parametrize(("dimension", "value"), [
    ("campaign", "1; DROP TABLE events"),
    ("campaign", "1 OR 1=1"),
    ("country", "US' OR '1'='1"),
    ("country", "ＵＳ"),  # fullwidth letters
    ("genre", "rock'); DROP TABLE events; --"),
    ("size", "300x250' --"),
    ("device", "mobile\u0000"),
    ("campaign", "١٢"),  # Arabic-Indic digits
])
def test_injection_attempts_are_refused_and_the_table_stays(
    store: DuckDBEventStore, dimension: str, value: str
) -> None:
    store.append_batch(many(3, UTC_DAY))
    with pytest.raises(ValidationFailed) as caught:
        Query.parse({"start": "2026-03-02", "end": "2026-03-02", "filters": {dimension: [value]}})
    assert caught.value.fields[0].field == f"filters.{dimension}[0]"
    assert store.count() == 3
    assert run(one_day(M.IMPRESSIONS), store).totals[M.IMPRESSIONS] == 3


def test_tenant_scope_cannot_be_widened_by_user_filters(store: DuckDBEventStore) -> None:
    store.append_batch(many(5, UTC_DAY, advertiser_id=1) + many(7, UTC_DAY, advertiser_id=2))
    user = Query.parse({"start": "2026-03-02", "end": "2026-03-02", "dimensions": "advertiser",
                        "filters": {"advertiser": ["1", "2"]}, "metrics": ["impressions"]})
    assert run(user, store).totals[M.IMPRESSIONS] == 12
    scoped = user.scoped(advertiser_id=1)
    result = run(scoped, store)
    assert [(r.dimensions, r[M.IMPRESSIONS]) for r in result.rows] == [((1,), 5)]
    other = Query.parse({"start": "2026-03-02", "end": "2026-03-02",
                         "filters": {"advertiser": "2"}, "metrics": ["impressions"]})
    assert run(other.scoped(advertiser_id=1), store).totals[M.IMPRESSIONS] == 0
    assert run(scoped.scoped(advertiser_id=2), store).totals[M.IMPRESSIONS] == 0


def test_no_data_gives_zero_totals_and_undefined_rates(store: DuckDBEventStore) -> None:
    result = run(one_day(M.IMPRESSIONS, M.CTR, M.REACH, M.FREQUENCY, M.SPEND), store)
    t = result.totals
    assert (t[M.IMPRESSIONS], t[M.CTR], t[M.REACH], t[M.FREQUENCY], t[M.SPEND]) == (
        0, None, 0, None, 0)
    assert M.CTR not in t.intervals
    assert result.to_dict()["totals"]["metrics"]["ctr"] is None  # type: ignore[index]


class CountingStore:
    """The real store, recording the statements a report runs on it."""

    dialect = "duckdb"

    def __init__(self, store: DuckDBEventStore) -> None:
        self.store = store
        self.statements: list[str] = []

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        self.statements.append(sql)
        return self.store.query(sql, params)


def test_each_statement_runs_once(store: DuckDBEventStore) -> None:
    store.append_batch(many(30, UTC_DAY, visitor="h1") + many(20, UTC_DAY, visitor="h2"))
    counting = CountingStore(store)
    # Without buckets or dimensions the one row is the totals: no second query for them.
    totals = run(one_day(M.IMPRESSIONS, M.REACH, M.FREQUENCY), counting).totals
    assert (totals[M.IMPRESSIONS], totals[M.REACH], totals[M.FREQUENCY]) == (50, 2, 25)
    assert len(counting.statements) == 2  # the rollup's counts and the events' visitors
    # Grouped rows sum to the additive totals; reach gets its own distinct count.
    counting.statements.clear()
    result = run(one_day(M.IMPRESSIONS, M.REACH, granularity=Granularity.HOUR), counting)
    assert result.totals[M.IMPRESSIONS] == 50 and result.totals[M.REACH] == 2
    assert len(counting.statements) == 3
