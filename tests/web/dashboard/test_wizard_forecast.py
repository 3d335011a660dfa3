"""The wizard's forecast over real traffic: ad requests and visitors measured in DuckDB, then
fed to the planner; and the live forecast endpoint reading the same store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.domain.campaign import FrequencyCap, Pricing, Targeting
from backbeat.domain.events import DropReason, Event, EventType
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.taxonomy import AdFormat, DeviceType, Size
from backbeat.store.catalog import SqlCatalog
from backbeat.store.events import DuckDBEventStore
from backbeat.store.events.protocol import EventStore
from backbeat.tracking.ids import new_id
from backbeat.tracking.visitor import ANONYMOUS
from backbeat.web.dashboard.wizard_forecast import (
    Avails,
    AvailsCache,
    ForecastInput,
    matching_placements,
    measure_avails,
    view,
)
from tests.web.conftest import World
from tests.web.dashboard.pages import login

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
USD = 1_000_000


def _request(ts: datetime, placement: int, visitor: str, country: str, valid: bool = True) -> Event:
    return Event(
        id=new_id(), ts=ts, type=EventType.DECISION, valid=valid, decision_id="",
        campaign_id=0, creative_id=0, advertiser_id=0, site_id=0, publisher_id=0,
        placement_id=placement, visitor=visitor, country=country, device="mobile", format="",
        size="", genre="", genre_match=False, objective="",
        drop_reason=None if valid else DropReason.BOT,
    )  # fmt: skip


def _traffic(store: EventStore, pop: int, rock: int, now: datetime) -> None:
    """Three days: on the pop slot 20 visitors x 3 requests (half US, half CA), 10 anonymous
    requests and 30 bot requests a day; on the rock slot 50 requests by 5 visitors a day.
    One more day, older than the window, must not count."""
    events = []
    for days_ago in (1, 2, 3, 40):
        day = now - timedelta(days=days_ago)
        for v in range(20):
            for k in range(3):
                events.append(
                    _request(day + timedelta(minutes=k), pop, f"h{v}", "US" if v < 10 else "CA")
                )
        events += [_request(day, pop, ANONYMOUS, "US") for _ in range(10)]
        events += [_request(day, pop, "hbot", "US", valid=False) for _ in range(30)]
        events += [_request(day, rock, f"r{i % 5}", "GB") for i in range(50)]
    assert store.append_batch(events) == len(events)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBEventStore]:
    s = DuckDBEventStore(tmp_path / "events.duckdb")
    yield s
    s.close()


def _inventory(catalog: SqlCatalog, world: World) -> tuple[int, int]:
    assert world.pub_p.publisher_id is not None
    pop = catalog.sites.add(Site(world.pub_p.publisher_id, "pop.example.com", "Pop", "US",
                                 frozenset({"pop"})))  # fmt: skip
    rock = catalog.sites.add(Site(world.pub_p.publisher_id, "rock.example.com", "Rock", "GB",
                                  frozenset({"rock", "metal"})))  # fmt: skip
    assert pop.id is not None and rock.id is not None
    sizes = frozenset({Size(300, 250)})
    p1 = catalog.placements.add(Placement(pop.id, "Side", AdFormat.DISPLAY, sizes, 2_500_000))
    p2 = catalog.placements.add(Placement(rock.id, "Top", AdFormat.DISPLAY, sizes, 2_500_000))
    catalog.placements.add(
        Placement(rock.id, "Video", AdFormat.VIDEO, frozenset({Size(640, 360)}), 2_500_000)
    )
    catalog.placements.add(Placement(pop.id, "Off", AdFormat.DISPLAY, sizes, 2_500_000, False))
    assert p1.id is not None and p2.id is not None
    return p1.id, p2.id


def test_placements_follow_the_targeting(catalog: SqlCatalog, world: World) -> None:
    pop, rock = _inventory(catalog, world)
    assert matching_placements(catalog, Targeting(genres=frozenset({"pop"})), None) == [pop]
    assert matching_placements(catalog, Targeting(), None) == [pop, rock]
    assert matching_placements(catalog, Targeting(), Size(728, 90)) == []
    assert matching_placements(catalog, Targeting(genres=frozenset({"jazz"})), None) == []


def test_avails_count_valid_requests_and_visitors_per_day(
    catalog: SqlCatalog, world: World, store: DuckDBEventStore
) -> None:
    pop, rock = _inventory(catalog, world)
    _traffic(store, pop, rock, NOW)
    pop_only = Targeting(genres=frozenset({"pop"}))
    # 60 requests by visitors + 10 anonymous a day; bots and the old day do not count.
    assert measure_avails(store, [pop], pop_only, NOW) == Avails(70, 20, 3, 1)
    us = Targeting(genres=frozenset({"pop"}), countries=frozenset({"US"}))
    assert measure_avails(store, [pop], us, NOW) == Avails(40, 10, 3, 1)
    assert measure_avails(store, [pop, rock], Targeting(), NOW) == Avails(120, 25, 3, 2)
    tablets = Targeting(devices=frozenset({DeviceType.TABLET}))
    assert measure_avails(store, [pop], tablets, NOW) == Avails(0, 0, 0, 1)
    assert measure_avails(store, [], Targeting(), NOW) == Avails(0, 0, 0, 0)


def test_view_over_traffic_and_without(
    catalog: SqlCatalog, world: World, store: DuckDBEventStore
) -> None:
    pop, rock = _inventory(catalog, world)
    _traffic(store, pop, rock, NOW)
    cap = FrequencyCap(3, 24)
    inp = ForecastInput(
        500 * USD, Pricing.CPM, 3 * USD, 30, cap, Targeting(genres=frozenset({"pop"}))
    )
    cache = AvailsCache()
    avails = cache.get(catalog, store, inp, NOW)
    assert avails == Avails(70, 20, 3, 1)
    fc = view(inp, avails, "USD")
    # 70 requests a day for 30 days is far less than $500 buys at $3 CPM (166,666).
    assert fc["basis"] == "traffic" and fc["limited_by_inventory"] is True
    assert fc["impressions"] == {"low": 2_100, "high": 2_100} and fc["inventory"] == 2_100
    reach = fc["reach"]
    assert isinstance(reach, dict) and 0 < reach["low"] <= reach["high"] <= 600
    assert any("Based on 3 day(s) of traffic on 1 matching ad slot(s)" in n for n in fc["notes"])
    assert any("part of the budget would go unspent" in n for n in fc["notes"])
    unknown = view(inp, Avails(0, 0, 0, 1), "USD")
    assert unknown["basis"] == "budget_only" and unknown["reach"] is None
    assert unknown["impressions"] == {"low": 166_666, "high": 166_666}


def test_cache_is_refreshed_by_catalog_changes(
    catalog: SqlCatalog, world: World, store: DuckDBEventStore
) -> None:
    pop, rock = _inventory(catalog, world)
    _traffic(store, pop, rock, NOW)
    cache = AvailsCache()
    inp = ForecastInput(500 * USD, Pricing.CPM, 3 * USD, 30, None, Targeting())
    assert cache.get(catalog, store, inp, NOW).placements == 2
    site = catalog.sites.all()[0]
    assert site.id is not None
    catalog.placements.add(
        Placement(site.id, "New", AdFormat.DISPLAY, frozenset({Size(300, 250)}), 2_500_000)
    )
    assert cache.get(catalog, store, inp, NOW).placements == 3


def test_live_forecast_reads_the_apps_event_store(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    pop, rock = _inventory(catalog, world)
    rt = client.app.state.runtime  # type: ignore[attr-defined]
    _traffic(rt.store, pop, rock, rt.clock())
    login(client, settings, "a@example.com")
    resp = client.get("/campaigns/new/forecast?budget=500&genres=pop&cap=3")
    assert resp.status_code == 200, resp.text
    fc = resp.json()["forecast"]
    assert fc["basis"] == "traffic" and fc["history_days"] == 3
    days = fc["inventory"] // 70
    assert fc["impressions"]["low"] == 70 * days and fc["reach"]["high"] <= 20 * days
