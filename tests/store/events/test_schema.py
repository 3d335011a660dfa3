"""Event <-> Arrow conversion: exact types, named errors, UTC timestamps."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest

from backbeat.domain.events import Event
from backbeat.errors import ValidationFailed
from backbeat.store.events.schema import (
    ARROW_SCHEMA,
    COLUMN_NAMES,
    row_to_event,
    to_arrow,
    validate_events,
)
from tests.store.events.builders import make_event, make_events


def test_columns_follow_the_event_fields() -> None:
    assert tuple(f.name for f in fields(Event)) == COLUMN_NAMES


def test_to_arrow_keeps_every_value() -> None:
    events = make_events(25, seed=3)
    table = to_arrow(events)
    assert table.schema == ARROW_SCHEMA
    assert table.num_rows == 25
    first = table.slice(0, 1).to_pylist()[0]
    e = events[0]
    assert first["id"] == e.id
    assert first["ts"] == e.ts.replace(tzinfo=None)
    assert first["type"] == e.type.value
    assert first["drop_reason"] == (e.drop_reason.value if e.drop_reason else None)
    assert first["price_micros"] == e.price_micros


def test_aware_timestamps_become_naive_utc() -> None:
    plus5 = timezone(timedelta(hours=5))
    table = to_arrow([make_event(ts=datetime(2026, 1, 1, 5, 0, tzinfo=plus5))])
    assert table.column("ts").type == pa.timestamp("us")
    assert table.column("ts")[0].as_py() == datetime(2026, 1, 1, 0, 0)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", "", "non-empty"),
        ("id", 17, "non-empty"),
        ("visitor", "v\ud800", "UTF-8"),
        ("ts", "2026-01-01", "datetime"),
        ("type", "impresion", "must be one of"),
        ("valid", 1, "bool"),
        ("campaign_id", 1.0, "integer"),
        ("price_micros", 1.5, "integer"),
        ("price_micros", 2**63, "64-bit"),
        ("value_micros", True, "integer"),
        ("country", None, "string"),
        ("genre_match", None, "bool"),
        ("drop_reason", "sneaky", "or None"),
        ("attribution", "last_touch", "must be one of"),
    ],
)
def test_bad_values_are_named(field: str, value: Any, reason: str) -> None:
    events = [*make_events(4, seed=5), make_event(seed=6, **{field: value})]
    for check in (to_arrow, validate_events):
        with pytest.raises(ValidationFailed) as err:
            check(events)
        assert err.value.fields[0].field == f"events[4].{field}"
        assert reason in err.value.fields[0].reason
        assert err.value.status == 422


def test_validate_events_accepts_what_to_arrow_stores() -> None:
    events = make_events(200, seed=8)
    validate_events(events)
    assert to_arrow(events).num_rows == 200


def test_validate_events_refuses_non_events() -> None:
    with pytest.raises(ValidationFailed) as err:
        validate_events([make_event(), {"id": "x"}])  # type: ignore[list-item]
    assert err.value.fields[0].field == "events[1]"


def test_plain_strings_of_enum_values_are_accepted() -> None:
    table = to_arrow([make_event(type="viewable", drop_reason="bot", attribution=None)])
    assert table.column("type")[0].as_py() == "viewable"
    assert table.column("drop_reason")[0].as_py() == "bot"


def test_row_to_event_returns_aware_utc_and_enums() -> None:
    e = make_event(seed=9)
    row = to_arrow([e]).to_pylist()[0]
    back = row_to_event([row[n] for n in COLUMN_NAMES])
    assert back == e
    assert back.ts.tzinfo is UTC
