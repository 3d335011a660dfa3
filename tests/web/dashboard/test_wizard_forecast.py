"""The wizard's forecast over real traffic: the report service's measured inventory (DuckDB),
fed to the planner; the cache in front of it; and the live endpoint reading the app's store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from backbeat.analytics.service import PlanRequest, ReportService
from backbeat.config import Settings
from backbeat.domain.campaign import FrequencyCap, Pricing, Targeting
from backbeat.domain.events import DropReason, Event, EventType
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.store.catalog import SqlCatalog
from backbeat.store.events import DuckDBEventStore
from backbeat.store.events.protocol import EventStore
from backbeat.tracking.ids import new_id
from backbeat.tracking.visitor import ANONYMOUS
from backbeat.web.dashboard.wizard_forecast import ForecastInput, InventoryCache, forecast, view
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


def _service(catalog: SqlCatalog, store: EventStore) -> ReportService:
    return ReportService(catalog, store, lambda: NOW)


def _input(
    *, genres: frozenset[str] = frozenset(), countries: frozenset[str] = frozenset()
) -> ForecastInput:
    cap = FrequencyCap(3, 24)
    targeting = Targeting(genres=genres, countries=countries)
    return ForecastInput(500 * USD, Pricing.CPM, 3 * USD, 30, cap, targeting)


def test_forecast_over_measured_inventory_matches_the_report_service(
    catalog: SqlCatalog, world: World, store: DuckDBEventStore
) -> None:
    pop, rock = _inventory(catalog, world)
    _traffic(store, pop, rock, NOW)
    service = _service(catalog, store)
    inp = _input(genres=frozenset({"pop"}))
    inventory = InventoryCache().get(service, inp.targeting)
    # 70 valid requests a day (bots and the old day left out) on 3 of the last 14 days.
    assert (inventory.placements, inventory.decisions) == (1, 210)
    assert (inventory.daily_impressions, inventory.daily_visitors) == (15, 4)
    request = PlanRequest(500 * USD, Pricing.CPM, 3 * USD, AdFormat.DISPLAY, 30,
                          FrequencyCap(3, 24), genres=frozenset({"pop"}))  # fmt: skip
    assert forecast(inp, inventory) == service.plan(request).forecast
    fc = view(inp, inventory, "USD")
    # 15 requests a day for 30 days is far less than $500 buys at $3 CPM (166,666).
    assert fc["basis"] == "traffic" and fc["limited_by_inventory"] is True
    assert fc["impressions"] == {"low": 450, "high": 450} and fc["inventory"] == 450
    reach = fc["reach"]
    assert isinstance(reach, dict) and 0 < reach["low"] <= reach["high"] <= 4 * 30
    notes = fc["notes"]
    assert isinstance(notes, list)
    assert notes[0].startswith("Based on the last 14 days on 1 matching ad slot(s)")
    assert any("part of the budget would go unspent" in n for n in notes)
    narrowed = view(
        _input(genres=frozenset({"pop"}), countries=frozenset({"US"})), inventory, "USD"
    )
    assert any("Countries and devices narrow who sees the ad" in n for n in narrowed["notes"])  # type: ignore[attr-defined]


def test_without_traffic_only_the_budget_binds(
    catalog: SqlCatalog, world: World, store: DuckDBEventStore
) -> None:
    _inventory(catalog, world)
    inventory = _service(catalog, store).inventory(genres=frozenset({"jazz"}))
    fc = view(_input(genres=frozenset({"jazz"})), inventory, "USD")
    assert fc["basis"] == "budget_only" and fc["reach"] is None
    assert fc["impressions"] == {"low": 166_666, "high": 166_666}
    assert fc["text"] == {
        "impressions": "166,666",
        "reach": "Unknown yet",
        "clicks": "833–1,667",
        "spend": "$500.00",
    }


def test_cache_keeps_an_answer_until_the_catalog_changes(
    catalog: SqlCatalog, world: World, store: DuckDBEventStore
) -> None:
    pop, rock = _inventory(catalog, world)
    _traffic(store, pop, rock, NOW)
    service = _service(catalog, store)
    cache = InventoryCache()
    everything = Targeting()
    first = cache.get(service, everything)
    assert first.placements == 3  # both display slots and the video one; not the inactive one
    store.append_batch([_request(NOW - timedelta(hours=1), pop, "hnew", "US")])
    assert cache.get(service, everything) == first  # cached: no new query
    site = catalog.sites.all()[0]
    assert site.id is not None
    catalog.placements.add(
        Placement(site.id, "New", AdFormat.DISPLAY, frozenset({Size(300, 250)}), 2_500_000)
    )
    fresh = cache.get(service, everything)
    assert fresh.placements == 4 and fresh.decisions == first.decisions + 1
    assert InventoryCache(ttl_s=0).get(service, everything) == fresh


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
    assert fc["basis"] == "traffic" and fc["history_days"] == 14
    assert (fc["daily_requests"], fc["daily_visitors"]) == (15, 4)
    assert fc["impressions"]["low"] == fc["inventory"] == 15 * 31  # the default 31-day flight
    empty = client.get("/campaigns/new/forecast?budget=500&genres=jazz").json()["forecast"]
    assert empty["basis"] == "budget_only"
