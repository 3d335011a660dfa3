"""The query model: parsing at the boundary, validation errors naming the field, scopes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.metrics import Metric
from backbeat.analytics.periods import Granularity
from backbeat.analytics.query import DEFAULT_METRICS, Filter, Query, Scope
from backbeat.errors import ValidationFailed

BASE = {"start": "2026-03-01", "end": "2026-03-31"}


def fields_of(data: dict[str, object]) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        Query.parse(data)
    return [f.field for f in caught.value.fields]


def test_parse_turns_strings_into_enums_and_typed_filters() -> None:
    q = Query.parse({
        **BASE, "timezone": "Europe/Berlin", "granularity": "Day",
        "dimensions": "campaign,country", "metrics": ["ctr", "reach", "ctr"],
        "filters": {"campaign": ["12", 7], "country": "de,us", "genre_match": "true"},
        "compare_previous": "1", "include_invalid": False,
    })
    assert q.start == date(2026, 3, 1) and q.end == date(2026, 3, 31)
    assert q.granularity is Granularity.DAY
    assert q.dimensions == (Dimension.CAMPAIGN, Dimension.COUNTRY)
    assert q.metrics == (Metric.CTR, Metric.REACH)
    assert q.filters == (
        Filter(Dimension.CAMPAIGN, frozenset({12, 7})),
        Filter(Dimension.COUNTRY, frozenset({"DE", "US"})),
        Filter(Dimension.GENRE_MATCH, frozenset({True})),
    )
    assert q.compare_previous is True and q.include_invalid is False


def test_defaults() -> None:
    q = Query.parse(BASE)
    assert (q.timezone, q.granularity, q.dimensions, q.filters) == ("UTC", Granularity.NONE, (), ())
    assert q.metrics == DEFAULT_METRICS


def test_to_dict_round_trips() -> None:
    data = {**BASE, "timezone": "America/New_York", "granularity": "week",
            "dimensions": ["site", "genre_match"], "metrics": ["spend", "ecpm"],
            "filters": {"placement": [3, 1], "device": ["mobile"], "drop_reason": ["bot"]},
            "compare_previous": True, "include_invalid": True}
    q = Query.parse(data)
    echo = q.to_dict()
    assert echo["filters"] == {"placement": [1, 3], "device": ["mobile"], "drop_reason": ["bot"]}
    assert Query.parse(echo) == q


@pytest.mark.parametrize(("data", "field"), [
    ({**BASE, "metrics": ["ctr", "clickz"]}, "metrics[1]"),
    ({**BASE, "metrics": 5}, "metrics"),
    ({**BASE, "metrics": []}, "metrics"),
    ({**BASE, "dimensions": ["campaign", "city"]}, "dimensions[1]"),
    ({**BASE, "granularity": "month"}, "granularity"),
    ({"start": "2026-03-31", "end": "2026-03-01"}, "end"),
    ({"start": "2020-01-01", "end": "2025-01-03"}, "end"),
    ({"start": "2026-03-01T10:00:00", "end": "2026-03-01T09:00:00"}, "end"),
    ({"start": "2026-03-01", "end": "2026-03-02T00:00:00"}, "end"),
    ({"start": "2026-02-30", "end": "2026-03-01"}, "start"),
    ({"end": "2026-03-01"}, "start"),
    ({**BASE, "timezone": "Mars/Olympus"}, "timezone"),
    ({**BASE, "timezone": "../../etc/passwd"}, "timezone"),
    ({**BASE, "timezone": ""}, "timezone"),
    ({**BASE, "filters": {"campaign": ["x"]}}, "filters.campaign[0]"),
    ({**BASE, "filters": {"campaign": [-1]}}, "filters.campaign[0]"),
    ({**BASE, "filters": {"campaign": [True]}}, "filters.campaign[0]"),
    ({**BASE, "filters": {"campaign": [2**63]}}, "filters.campaign[0]"),
    ({**BASE, "filters": {"country": ["XQ"]}}, "filters.country[0]"),
    ({**BASE, "filters": {"size": ["300x"]}}, "filters.size[0]"),
    ({**BASE, "filters": {"genre": ["polka"]}}, "filters.genre[0]"),
    ({**BASE, "filters": {"objective": ["fame"]}}, "filters.objective[0]"),
    ({**BASE, "filters": {"campaign": []}}, "filters.campaign"),
    ({**BASE, "filters": {"campaign": list(range(1001))}}, "filters.campaign"),
    ({**BASE, "filters": {"town": ["x"]}}, "filters"),
    ({**BASE, "filters": ["campaign"]}, "filters"),
    ({**BASE, "compare_previous": "maybe"}, "compare_previous"),
    ({**BASE, "scope": {"advertiser_id": 1}}, "scope"),
    ({**BASE, "granularity": "hour", "end": "2027-12-31"}, "granularity"),
])
def test_bad_queries_name_the_field(data: dict[str, object], field: str) -> None:
    assert field in fields_of(data)


def test_every_problem_is_reported_at_once() -> None:
    got = fields_of({"start": "2026-03-01", "end": "2026-03-02", "timezone": "Nowhere",
                     "metrics": ["nope"], "dimensions": ["nope"], "colour": "red"})
    assert set(got) == {"timezone", "metrics[0]", "dimensions[0]", "colour"}


def test_five_years_is_the_limit() -> None:
    Query.parse({"start": "2021-01-01", "end": "2025-12-31"})  # 1826 days: accepted
    assert fields_of({"start": "2021-01-01", "end": "2026-01-02"}) == ["end"]


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValidationFailed) as caught:
        Query(start=date(2026, 3, 1), end=date(2026, 3, 1),
              filters=(Filter(Dimension.CAMPAIGN, frozenset({"1; DROP TABLE events"})),))
    assert caught.value.fields[0].field == "filters.campaign[0]"
    with pytest.raises(ValidationFailed):
        Query(start=date(2026, 3, 1), end=date(2026, 3, 1), timezone="Nowhere/City")


def test_period_bounds_in_the_zone() -> None:
    q = Query.parse({"start": "2026-03-08", "end": "2026-03-08", "timezone": "America/New_York"})
    p = q.period
    assert (p.start, p.end) == (datetime(2026, 3, 8, 5), datetime(2026, 3, 9, 4))  # a 23 h day
    aware = Query.parse({"start": "2026-03-08T10:00:00+01:00", "end": "2026-03-08T12:30:00",
                         "timezone": "Europe/Berlin"})
    assert (aware.period.start, aware.period.end) == (
        datetime(2026, 3, 8, 9), datetime(2026, 3, 8, 11, 30))


def test_previous_period_has_equal_length() -> None:
    q = Query.parse({**BASE, "compare_previous": True})
    prev = q.previous()
    assert (prev.start, prev.end, prev.compare_previous) == (date(2026, 1, 29), date(2026, 2, 28),
                                                             False)
    t = Query(start=datetime(2026, 3, 2, 12, tzinfo=UTC), end=datetime(2026, 3, 2, 18, tzinfo=UTC))
    tp = t.previous()
    assert (tp.start, tp.end) == (datetime(2026, 3, 2, 6, tzinfo=UTC), t.start)
    assert tp.period.end - tp.period.start == timedelta(hours=6)


def test_scoped_adds_mandatory_filters_that_only_narrow() -> None:
    q = Query.parse({**BASE, "filters": {"advertiser": [1, 2]}})
    s = q.scoped(advertiser_id=2)
    assert s.scopes == (Scope(Dimension.ADVERTISER, 2),)
    assert s.filters == q.filters  # the user's filter stays, ANDed with the scope
    both = s.scoped(publisher_id=9)
    assert both.scopes == (Scope(Dimension.ADVERTISER, 2), Scope(Dimension.PUBLISHER, 9))
    assert s.to_dict()["scope"] == {"advertiser_id": 2}
    for bad in ({}, {"advertiser_id": 0}, {"publisher_id": True}, {"advertiser_id": "2"}):
        with pytest.raises(ValidationFailed):
            q.scoped(**bad)
