"""CampaignFacts built from a real SQLite catalog and real DuckDB events, and planted truths
found by diagnosis from those facts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from backbeat.analytics.diagnosis import FindingKind, diagnose
from backbeat.analytics.facts import campaign_facts, flight_window
from backbeat.analytics.inputs import Counts
from backbeat.domain.events import DropReason, EventType
from backbeat.store.catalog import SqlCatalog, open_catalog, upgrade
from backbeat.store.events.duckdb_store import DuckDBEventStore
from tests.analytics.campaign_world import (
    NOW,
    PRICE,
    Slot,
    World,
    add_campaign,
    build_world,
    deliver,
    event,
)


@pytest.fixture(scope="session")
def catalog_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("catalog") / "catalog.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def catalog(tmp_path: Path, catalog_file: Path) -> Iterator[SqlCatalog]:
    shutil.copyfile(catalog_file, tmp_path / "catalog.db")
    cat = open_catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    yield cat
    cat.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBEventStore]:
    s = DuckDBEventStore(tmp_path / "events.duckdb")
    yield s
    s.close()


@pytest.fixture
def world(catalog: SqlCatalog) -> World:
    return build_world(catalog)


def test_known_totals_series_creatives_and_placements(
    world: World, store: DuckDBEventStore
) -> None:
    w, c = world, world.campaign
    cover, card = w.creatives["Cover"], w.creatives["Lyric card"]
    deliver(
        store,
        c,
        cover,
        w.pop,
        w.pop_top,
        impressions=3_000,
        clicks=45,
        viewable=2_000,
        invalid={DropReason.BOT: 40, DropReason.PREFETCH: 10},
    )
    deliver(
        store,
        c,
        card,
        w.rock,
        w.rock_side,
        impressions=1_000,
        clicks=4,
        viewable=100,
        visitors=["x1", "x2", "x3", "x4", "x5"],
    )
    # Another advertiser's campaign on the same sites never leaks in.
    other, made = add_campaign(w.catalog, w.rival, "Rival", ["Rival ad"])
    deliver(store, other, made["Rival ad"], w.pop, w.pop_top, impressions=500, clicks=100)

    facts = campaign_facts(w.catalog, store, c, NOW)

    assert (facts.impressions, facts.clicks) == (4_000, 49)
    assert facts.spend_micros == 4_000 * PRICE
    assert facts.reach == 3_000 + 5  # distinct visitors; the five repeat on Rock Radio
    assert (facts.viewable, facts.measured) == (2_100, 4_000)
    assert facts.conversions == 0
    assert facts.format.value == "display" and facts.timezone == "America/New_York"
    # Daily series in the campaign's zone: every local day of the flight so far, summing up.
    window = flight_window(c, NOW)
    assert window is not None
    first = window.start.astimezone(c.tz).date()
    assert facts.daily[0].day == first and facts.daily[-1].day == NOW.astimezone(c.tz).date()
    assert len(facts.daily) == (facts.daily[-1].day - first).days + 1
    assert sum(d.impressions for d in facts.daily) == 4_000
    assert sum(d.clicks for d in facts.daily) == 49
    assert sum(d.spend_micros for d in facts.daily) == facts.spend_micros
    by_name = {cr.name: cr for cr in facts.creatives}
    assert (by_name["Cover"].impressions, by_name["Cover"].clicks) == (3_000, 45)
    assert by_name["Cover"].by_genre is not None
    assert by_name["Cover"].by_genre.matched == Counts(3_000, 45)
    assert by_name["Lyric card"].by_genre is not None
    assert by_name["Lyric card"].by_genre.mismatched == Counts(1_000, 4)
    assert facts.genre_split is not None
    assert facts.genre_split.matched == Counts(3_000, 45)
    assert facts.genre_split.mismatched == Counts(1_000, 4)
    places = {p.placement_name: p for p in facts.placements}
    top, side = places["Top"], places["Sidebar"]
    assert (top.site_name, top.impressions, top.clicks, top.viewable) == (
        "Pop Lyrics",
        3_000,
        45,
        2_000,
    )
    assert top.invalid == {"bot": 40, "prefetch": 10} and top.genre_match
    assert (side.site_name, side.impressions, side.invalid, side.genre_match) == (
        "Rock Radio",
        1_000,
        {},
        False,
    )
    # The fifth view of the same person on Rock Radio: 1,000 impressions over 5 visitors.
    by_exposure = {b.exposure: b for b in facts.frequency}
    assert sorted(by_exposure) == [1, 2, 3, 4]
    assert by_exposure[1].impressions == 3_000 + 5 and by_exposure[4].and_more
    assert by_exposure[4].impressions == 1_000 - 15
    assert sum(b.impressions for b in facts.frequency) == 4_000


def test_frequency_buckets_count_clicks_on_the_nth_view(
    world: World, store: DuckDBEventStore
) -> None:
    w, c = world, world.campaign
    cover = w.creatives["Cover"]
    # 1,000 people see the ad four times, an hour apart; people click less each time:
    # 40 on the first view, 30 on the second, 20 on the third, 10 on the fourth.
    events = []
    start = NOW - timedelta(days=3)
    slot = Slot(c, cover, w.pop, w.pop_top)
    for person in range(1_000):
        for view, clicked_by in enumerate((40, 30, 20, 10)):
            ts = start + timedelta(hours=view, seconds=person)
            decision, who = f"p{person}-{view}", f"h{person}"
            events.append(event(ts, EventType.IMPRESSION, slot, decision, who))
            if person < clicked_by:
                events.append(event(ts + timedelta(seconds=3), EventType.CLICK, slot, decision,
                                    who))  # fmt: skip
    # Do-not-track visitors have no identity: they count as impressions, not exposures.
    events.append(event(start, EventType.IMPRESSION, slot, "anon-1", "anon"))
    store.append_batch(events)

    facts = campaign_facts(w.catalog, store, c, NOW)

    assert [(b.exposure, b.impressions, b.clicks, b.and_more) for b in facts.frequency] == [
        (1, 1_000, 40, False),
        (2, 1_000, 30, False),
        (3, 1_000, 20, False),
        (4, 1_000, 10, True),
    ]
    assert facts.impressions == 4_001 and facts.reach == 1_000
    found = {f.kind for f in diagnose(facts, NOW)}
    assert FindingKind.FREQUENCY_FATIGUE in found


def test_planted_weak_creative_is_named(world: World, store: DuckDBEventStore) -> None:
    w, c = world, world.campaign
    for name, clicks in (("Cover", 60), ("Lyric card", 60), ("Tour poster", 18)):
        deliver(
            store,
            c,
            w.creatives[name],
            w.pop,
            w.pop_top,
            impressions=6_000,
            clicks=clicks,
            viewable=4_000,
        )

    findings = diagnose(campaign_facts(w.catalog, store, c, NOW), NOW)

    weak = [f for f in findings if f.kind is FindingKind.WEAK_CREATIVE]
    assert [f.subjects for f in weak] == [("Tour poster",)]
    assert "Tour poster" in weak[0].title
    assert not any(f.kind is FindingKind.GENRE_MISMATCH for f in findings)


def test_planted_genre_mismatch_is_a_targeting_finding(
    world: World, store: DuckDBEventStore
) -> None:
    w, c = world, world.campaign
    for name in ("Cover", "Lyric card"):
        cr = w.creatives[name]
        deliver(store, c, cr, w.pop, w.pop_top, impressions=3_000, clicks=30, viewable=2_000)
        deliver(store, c, cr, w.rock, w.rock_side, impressions=1_000, clicks=3, viewable=700)
        deliver(store, c, cr, w.metal, w.metal_banner, impressions=1_000, clicks=3, viewable=700)

    facts = campaign_facts(w.catalog, store, c, NOW)
    findings = diagnose(facts, NOW)

    genre = [f for f in findings if f.kind is FindingKind.GENRE_MISMATCH]
    assert len(genre) == 1
    assert set(genre[0].subjects) == {"Rock Radio", "Metal Blog"}
    assert not any(f.kind is FindingKind.WEAK_CREATIVE for f in findings)
    assert facts.genre_split is not None
    assert facts.genre_split.mismatched == Counts(4_000, 12)


def test_invalid_traffic_by_reason_reaches_the_quality_finding(
    world: World, store: DuckDBEventStore
) -> None:
    w, c = world, world.campaign
    cover = w.creatives["Cover"]
    deliver(store, c, cover, w.pop, w.pop_top, impressions=3_000, clicks=30, viewable=2_400)
    deliver(
        store,
        c,
        cover,
        w.metal,
        w.metal_banner,
        impressions=1_000,
        clicks=10,
        viewable=800,
        invalid={DropReason.BOT: 300, DropReason.DUPLICATE: 100},
    )

    findings = diagnose(campaign_facts(w.catalog, store, c, NOW), NOW)

    ivt = next(f for f in findings if f.kind is FindingKind.INVALID_TRAFFIC)
    assert ivt.subjects == ("Metal Blog",)
    why = next(e for e in ivt.evidence if e.label.startswith("Why"))
    assert "bot 300" in why.text and "duplicate 100" in why.text


def test_before_the_flight_everything_is_zero(world: World, store: DuckDBEventStore) -> None:
    c = world.campaign
    early = c.start - timedelta(days=1)
    assert flight_window(c, early) is None
    facts = campaign_facts(world.catalog, store, c, early)
    assert (facts.impressions, facts.clicks, facts.spend_micros) == (0, 0, 0)
    assert facts.daily == () and facts.creatives == () and facts.frequency == ()
    assert facts.start == c.start and facts.end == c.end


def test_a_click_after_midnight_on_an_impression_before_is_capped_in_its_day(
    world: World, store: DuckDBEventStore
) -> None:
    w, c = world, world.campaign
    cover = w.creatives["Cover"]
    # 23:59:58 local (New York) on March 18; the click lands on March 19, a day without
    # impressions. Facts must stay valid (clicks <= impressions in every slice).
    ts = datetime(2026, 3, 19, 3, 59, 58, tzinfo=UTC)  # EDT is UTC-4 after March 8
    slot = Slot(c, cover, w.pop, w.pop_top)
    store.append_batch(
        [
            event(ts, EventType.IMPRESSION, slot, "late", "h1"),
            event(ts + timedelta(seconds=5), EventType.CLICK, slot, "late", "h1"),
        ]
    )

    facts = campaign_facts(w.catalog, store, c, NOW)

    days = {d.day: d for d in facts.daily}
    assert (days[date(2026, 3, 18)].impressions, days[date(2026, 3, 18)].clicks) == (1, 0)
    assert (days[date(2026, 3, 19)].impressions, days[date(2026, 3, 19)].clicks) == (0, 0)
    assert (facts.impressions, facts.clicks) == (1, 1)
    assert facts.frequency[0].clicks == 1  # the click is matched to its impression
