"""Visitor profiles rebuilt from the stored events after a restart (`web/profiles.py`):
frequency-cap exposures, retargeting engagements and conversion touches, each only inside
its window, and only for valid events of visitors who allowed a profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.domain.audience import Engagement
from backbeat.domain.campaign import Campaign, FrequencyCap
from backbeat.domain.events import DropReason, EventType
from backbeat.store.catalog import SqlCatalog
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.tracking.attribution import MemoryTouchLog
from backbeat.tracking.pipeline import AUDIENCE_TTL_S, audience_key
from backbeat.tracking.visitor import ANONYMOUS
from backbeat.web.app import create_app
from backbeat.web.profiles import warm_audiences, warm_profiles
from tests.store.events.builders import make_event

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@dataclass
class _Campaign:
    id: int
    frequency_cap: FrequencyCap | None


def _event(n: int, ts: datetime, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "type": EventType.IMPRESSION, "valid": True, "drop_reason": None, "attribution": None,
        "value_micros": 0, "visitor": "hA", "campaign_id": 41, "advertiser_id": 7,
        "decision_id": f"dec-{n}", "creative_id": 400 + n,
    }
    values.update(fields)
    return make_event(seed=n, ts=ts, **values)


EVENTS = [
    _event(1, NOW - HOUR),  # inside the 6 h cap window
    _event(2, NOW - 7 * HOUR),  # outside the cap window, inside a day
    _event(3, NOW - 72 * HOUR, type=EventType.CLICK),
    _event(4, NOW - 20 * HOUR, campaign_id=42),  # no cap: a 24 h window
    _event(5, NOW - HOUR / 2, valid=False, drop_reason=DropReason.DUPLICATE),
    _event(6, NOW - HOUR / 6, visitor=ANONYMOUS),  # DNT/GPC: recorded nothing
    _event(7, NOW - timedelta(days=200), type=EventType.CLICK, visitor="hB"),  # too old
    _event(8, NOW - HOUR, type=EventType.DECISION),
    _event(9, NOW - timedelta(days=9), type=EventType.CLICK, visitor="hC"),  # 9 days
]
CAMPAIGNS = [_Campaign(41, FrequencyCap(impressions=2, hours=6)), _Campaign(42, None)]


def _check_counters(counters: MemoryCounters, at: float) -> None:
    assert counters.exposures("hA", [41], at, 6 * 3600) == {41: 1}
    assert counters.exposures("hA", [42], at, 86_400) == {42: 1}
    viewed_41 = audience_key(Engagement.VIEWED, 41)
    assert counters.engagement_count(viewed_41, "hA", at, AUDIENCE_TTL_S) == 2
    assert counters.engagement_count(audience_key(Engagement.CLICKED, 41), "hA", at,
                                     AUDIENCE_TTL_S) == 1
    assert counters.engagement_count(audience_key(Engagement.VIEWED, 42), "hA", at,
                                     AUDIENCE_TTL_S) == 1
    assert counters.engagement_count(audience_key(Engagement.CLICKED, 41), "hC", at,
                                     AUDIENCE_TTL_S) == 1  # a retargeting audience, 9 days on
    assert counters.engagement_count(viewed_41, ANONYMOUS, at, AUDIENCE_TTL_S) == 0
    assert counters.engagement_count(audience_key(Engagement.CLICKED, 41), "hB", at,
                                     AUDIENCE_TTL_S) == 0


def test_only_valid_profiled_events_inside_their_windows_are_replayed(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.append_batch(EVENTS)
        counters, touches = MemoryCounters(), MemoryTouchLog()
        warmed = warm_profiles(
            store, cast(list[Campaign], CAMPAIGNS), NOW, counters=counters, touches=touches,
            click_days=7, view_days=1,
        )
    finally:
        store.close()
    assert (warmed.exposures, warmed.engagements, warmed.touches) == (2, 5, 4)
    _check_counters(counters, NOW.timestamp())
    recent = touches.recent(7, "hA")
    assert [t.decision_id for t in recent.impressions] == ["dec-1", "dec-2", "dec-4"]  # newest first
    assert [t.decision_id for t in recent.clicks] == ["dec-3"]
    assert recent.clicks[0].at == (NOW - 72 * HOUR).timestamp()
    assert touches.recent(7, "hC") == type(recent)()  # a click 9 days ago: past 7 days


def test_a_worker_warms_only_the_audiences_it_reads(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    clicked_41 = audience_key(Engagement.CLICKED, 41)
    try:
        store.append_batch(EVENTS)
        counters = MemoryCounters()
        warmed = warm_profiles(
            store, cast(list[Campaign], CAMPAIGNS), NOW, counters=counters, touches=None,
            click_days=7, view_days=1, audiences={clicked_41},
        )
        later = MemoryCounters()  # the catalog gains "viewed 41" after the worker started
        loaded = warm_audiences(store, [audience_key(Engagement.VIEWED, 41)], NOW, later)
    finally:
        store.close()
    at = NOW.timestamp()
    assert (warmed.exposures, warmed.engagements) == (2, 2)  # exposures are all kept
    assert counters.exposures("hA", [41], at, 6 * 3600) == {41: 1}
    assert counters.engagement_count(clicked_41, "hA", at, AUDIENCE_TTL_S) == 1
    assert counters.engagement_count(clicked_41, "hC", at, AUDIENCE_TTL_S) == 1
    for other in (audience_key(Engagement.VIEWED, 41), audience_key(Engagement.VIEWED, 42)):
        assert counters.engagement_count(other, "hA", at, AUDIENCE_TTL_S) == 0
    assert loaded == 2  # hA's two valid, profiled impressions of 41 in the lookback
    viewed_41 = audience_key(Engagement.VIEWED, 41)
    assert later.engagement_count(viewed_41, "hA", at, AUDIENCE_TTL_S) == 2
    assert later.engagement_count(clicked_41, "hA", at, AUDIENCE_TTL_S) == 0
    assert later.exposures("hA", [41], at, 86_400) == {41: 0}
    assert later.engagement_count(audience_key(Engagement.VIEWED, 42), "hA", at,
                                  AUDIENCE_TTL_S) == 0


def test_counters_none_replays_touches_only(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.append_batch(EVENTS)
        touches = MemoryTouchLog()
        warmed = warm_profiles(store, [], NOW, counters=None, touches=touches,
                               click_days=7, view_days=1)
        nothing = warm_profiles(store, [], NOW, counters=None, touches=None,
                                click_days=7, view_days=1)
    finally:
        store.close()
    assert (warmed.exposures, warmed.engagements, warmed.touches) == (0, 0, 4)
    assert (nothing.exposures, nothing.engagements, nothing.touches) == (0, 0, 0)


def _stored_until_now(settings: Settings, catalog: SqlCatalog) -> datetime:
    """Store EVENTS moved so that NOW is the present, through a server that then stops;
    returns that present."""
    now = datetime.now(UTC).replace(microsecond=0)
    shifted = [
        _event(i, e.ts + (now - NOW), **{k: getattr(e, k) for k in (
            "type", "valid", "drop_reason", "visitor", "campaign_id", "decision_id")})
        for i, e in enumerate(EVENTS, start=1)
    ]
    first = create_app(settings, catalog=catalog)
    with TestClient(first):
        first.state.runtime.store.append_batch(shifted)
    return now


@pytest.mark.parametrize(
    ("serves", "exposed", "clicked"),
    [(True, {41: 2, 42: 1}, 1), (False, {41: 0, 42: 0}, 0)],
    ids=["a-serving-process", "the-ingest-process"],
)
def test_a_restart_restores_touches_and_the_profiles_decisions_read(
    settings: Settings, catalog: SqlCatalog, serves: bool, exposed: dict[int, int],
    clicked: int,
) -> None:
    """A restarted serving process keeps caps, audiences and touches. The ingest process
    (serves=False) counts and credits conversions but decides no ad: its in-process counters
    are nobody's profile store, so a restart loads no series, only the touches."""
    now = _stored_until_now(settings, catalog)
    app = create_app(settings, catalog=catalog)
    app.state.runtime.serves = serves
    with TestClient(app):
        rt = app.state.runtime
        at = now.timestamp()
        # No campaign 41/42 in this catalog: every window is the uncapped 24 h one.
        assert rt.counters.exposures("hA", [41, 42], at, 86_400) == exposed
        assert rt.counters.engagement_count(
            audience_key(Engagement.CLICKED, 41), "hC", at, AUDIENCE_TTL_S
        ) == clicked
        assert [t.decision_id for t in rt.touches.recent(7, "hA").clicks] == ["dec-3"]
