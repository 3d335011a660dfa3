"""`backbeat serve --workers 2`, for real: two uvicorn worker processes and the ingest
process, over HTTP, on SQLite + DuckDB.

Beacons land on whichever worker the kernel picks, so a duplicate is caught only if the
counting really happens in one place; reports read the store through the ingest process;
a conversion is attributed by the process that holds the touches; and after SIGTERM every
acknowledged event is in DuckDB.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import duckdb
import httpx
import pytest

from backbeat.config import Settings
from backbeat.domain.audience import Audience, AudienceRule, Engagement
from backbeat.domain.campaign import CampaignStatus, FrequencyCap, Objective, Targeting
from backbeat.domain.events import Event, EventType
from backbeat.serving.localtime import local_day
from backbeat.store.catalog import SqlCatalog, open_catalog
from backbeat.store.counters.protocol import Spend
from backbeat.web.runtime import Runtime
from backbeat.web.workers import HIT_INLINE_MAX, IngestProcess, open_worker_runtime
from tests.live import LiveServer, child_pids, start_server
from tests.store.events.builders import make_event
from tests.web.network import PAGE, Network, build_network
from tests.web.test_crash_http import browser, catalog_url, seed, seed_network

PAGES = 40


def server_children(server: LiveServer) -> set[int]:
    """The supervisor's children: the serving workers (and multiprocessing's helper)."""
    assert server.process is not None
    return child_pids(server.process.pid)


def served_by(client: httpx.Client) -> int:
    """Which worker answered (each process reports its own pid in /healthz)."""
    health = client.get("/healthz").json()
    assert health["role"] == "worker"
    return int(health["pid"])


@pytest.mark.slow
def test_two_workers_count_store_and_report_as_one_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    top, bottom = seed(data_dir)
    server = start_server(data_dir, {"BACKBEAT_WORKERS": "2", "BACKBEAT_HANDOFF_SEAL_MS": "20"})
    try:
        pids = server_children(server)
        links: list[tuple[str, str, str, str]] = []  # decision, imp path, click URL, UA
        answered_by: set[int] = set()
        for i in range(PAGES):
            # a fresh connection per page view: the kernel spreads them over the workers
            with httpx.Client(base_url=server.url, timeout=10) as client:
                answered_by.add(served_by(client))
                ua = browser(i)
                r = client.get(
                    "/serve", params={"p": f"{top},{bottom}", "u": PAGE},
                    headers={"User-Agent": ua},
                )
                assert r.status_code == 200, r.text
                for ad in r.json()["ads"]:
                    path = urlsplit(ad["imp"]).path + "?u=" + quote(PAGE, safe="")
                    links.append((ad["decision"], path, ad["click"], ua))
        assert len(answered_by) == 2 and answered_by <= pids, "both workers should serve"
        assert len(links) == PAGES  # one campaign fills one slot of a page; the other no-fills

        for _, path, _, ua in links:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                assert client.post(path, headers={"User-Agent": ua}).status_code == 204
        # the first five again, each on new connections (so on either worker): duplicates
        for _, path, _, ua in links[:5]:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                assert client.post(path, headers={"User-Agent": ua}).status_code == 204

        _, _, click_url, ua = links[7]
        time.sleep(0.5)  # the impression reaches the ingest process before its click
        landed = httpx.get(click_url, headers={"User-Agent": ua}, follow_redirects=False)
        assert landed.status_code == 302
        bbclid = dict(
            p.split("=", 1) for p in urlsplit(landed.headers["location"]).query.split("&")
        )["bbclid"]
        time.sleep(0.5)  # and the click before the conversion
        conv = httpx.post(
            server.url + "/conv",
            json={"a": 1, "v": "12.50", "oid": "order-1", "bbclid": bbclid},
            headers={"User-Agent": ua},
        )
        assert conv.status_code == 202, conv.text
        assert conv.json()["attribution"] == "click_through" and conv.json()["valid"]

        # a report, read through the ingest process's store, sees every impression and
        # decision once the ingest process has stored them (a flush interval later)
        auth = {"Authorization": f"Bearer {server.token}"}
        deadline = time.monotonic() + 30
        while True:
            r = httpx.get(server.url + "/api/v1/reports/network", headers=auth, timeout=30)
            assert r.status_code == 200, r.text
            report = r.json()
            if report["impressions"] == PAGES or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert report["impressions"] == PAGES and report["clicks"] == 1
        assert report["decisions"] == 2 * PAGES and report["filled"] == PAGES
    finally:
        server.stop()  # SIGTERM: workers stop and seal, the ingest process drains and stores

    con = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT type, valid, coalesce(drop_reason, ''), count(*) FROM events GROUP BY ALL"
        ).fetchall()
        dup_decisions = {
            str(d) for (d,) in con.execute(
                "SELECT decision_id FROM events WHERE type = 'impression' AND NOT valid"
            ).fetchall()
        }
    finally:
        con.close()
    counts = Counter({(t, v, r): n for t, v, r, n in rows})
    assert counts[("decision", True, "")] == 2 * PAGES  # the fills and the no-fills
    assert counts[("impression", True, "")] == PAGES
    assert counts[("impression", False, "duplicate")] == 5
    assert dup_decisions == {d for d, _, _, _ in links[:5]}
    assert counts[("click", True, "")] == 1
    assert counts[("conversion", True, "")] == 1
    assert not list((data_dir / "handoff").glob("*/*/seg-*.log")), "a spool was left behind"


def ads_on_both_workers(server: LiveServer, placement: int, ua: str) -> list[list[Any]]:
    """The ads of each page view `ua` gets, on fresh connections (so on either worker),
    until both workers answered and at least four views were served."""
    views: list[list[Any]] = []
    workers: set[int] = set()
    while len(workers) < 2 or len(views) < 4:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            workers.add(served_by(client))
            r = client.get("/serve", params={"p": placement, "u": PAGE},
                           headers={"User-Agent": ua})
            assert r.status_code == 200, r.text
            views.append(r.json()["ads"])
    return views


def view_once(server: LiveServer, placement: int, ua: str) -> None:
    """Serve `ua` one ad and send its impression beacon."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        r = client.get("/serve", params={"p": placement, "u": PAGE}, headers={"User-Agent": ua})
        path = urlsplit(r.json()["ads"][0]["imp"]).path + "?u=" + quote(PAGE, safe="")
        assert client.post(path, headers={"User-Agent": ua}).status_code == 204


@pytest.mark.slow
def test_a_frequency_cap_holds_on_every_worker(tmp_path: Path) -> None:
    """A visitor who saw the capped campaign's ad (its beacon counted by the ingest process)
    is not served it again by either worker: their replicas hold the exposure, although
    the ingest process keeps no profiles of its own."""
    data_dir = tmp_path / "var"
    net = seed_network(data_dir, frequency_cap=FrequencyCap(impressions=1, hours=24))
    top = net.top.id or 0
    capped, fresh = browser(1), browser(2)
    server = start_server(data_dir, {"BACKBEAT_WORKERS": "2", "BACKBEAT_HANDOFF_SEAL_MS": "20"})
    try:
        view_once(server, top, capped)
        deadline = time.monotonic() + 15
        while any(ads_on_both_workers(server, top, capped)):  # a counting round later
            assert time.monotonic() < deadline, "the cap never held on both workers"
            time.sleep(0.2)
        assert all(ads_on_both_workers(server, top, fresh)), "another visitor is still served"
    finally:
        server.stop()


@pytest.mark.slow
def test_an_audience_added_while_serving_reaches_both_workers(tmp_path: Path) -> None:
    """A worker keeps only the memberships some audience reads. An audience created while
    it serves is loaded from the store: a visitor who viewed the campaign before the
    audience existed is retargeted on both workers, another visitor is not."""
    data_dir = tmp_path / "var"
    net = seed_network(data_dir)
    top = net.top.id or 0
    seen, fresh = browser(1), browser(2)
    server = start_server(data_dir, {
        "BACKBEAT_WORKERS": "2", "BACKBEAT_HANDOFF_SEAL_MS": "20",
        "BACKBEAT_FLUSH_INTERVAL_MS": "100",  # the re-warm waits ten of these
    })
    try:
        view_once(server, top, seen)
        time.sleep(1.0)  # counted, its effect dropped by both workers (no audience reads it)

        catalog = open_catalog(catalog_url(data_dir))
        try:
            viewers = catalog.audiences.add(Audience(
                net.advertiser.id or 0, "Viewed Night Drive",
                AudienceRule(Engagement.VIEWED, net.campaign.id or 0, 30),
            ))
            again = catalog.campaigns.add(replace(
                net.campaign, id=None, name="Come back", status=CampaignStatus.DRAFT,
                objective=Objective.RETARGETING, bid_micros=40_000_000,
                targeting=Targeting(audiences=frozenset({viewers.id or 0})),
            ).validate(2_500_000))
            catalog.creatives.add(replace(
                net.creative, id=None, campaign_id=again.id or 0, alt_text="Come back",
            ))
            catalog.campaigns.update(replace(again, status=CampaignStatus.ACTIVE))
        finally:
            catalog.close()

        def alts(ua: str) -> set[str]:
            return {ad["alt"] for ads in ads_on_both_workers(server, top, ua) for ad in ads}

        deadline = time.monotonic() + 20
        while alts(seen) != {"Come back"}:
            assert time.monotonic() < deadline, "the new audience never reached both workers"
            time.sleep(0.25)
        assert "Come back" not in alts(fresh)
    finally:
        server.stop()


@pytest.mark.parametrize(("configured", "used"), [(None, 1), (2, 2)])
def test_the_ingest_process_gives_duckdb_one_thread_unless_told(
    settings: Settings, catalog: SqlCatalog, configured: int | None, used: int
) -> None:
    ingest = IngestProcess(settings.model_copy(update={"duckdb_threads": configured}))
    try:
        assert ingest.settings.duckdb_threads == used
        assert ingest.rt.store.query("SELECT current_setting('threads')") == [(used,)]
    finally:
        ingest.rt.close()


def test_a_worker_writes_decisions_on_its_loop_and_only_small_hit_groups(
    settings: Settings, catalog: SqlCatalog
) -> None:
    ingest = IngestProcess(settings)
    ingest.start()
    try:
        # The ingest's counting and store threads, and its store, run at the settings'
        # background priority.
        assert ingest.consumer is not None
        assert ingest.consumer.background == settings.background
        assert ingest.rt.store.background == settings.background  # type: ignore[attr-defined]
        rt = open_worker_runtime(settings)
        try:
            assert rt.ingest.inline_max == sys.maxsize  # no fdatasync to wait out
            assert rt.hits is not None and rt.hits.inline_max == HIT_INLINE_MAX
        finally:
            rt.close()
    finally:
        ingest.stop()


def stored_impression(net: Network, visitor: str, now: datetime) -> Event:
    """A valid 4,000-micro impression of the network's campaign, as the ingest process
    would store it: written straight to its store, no effect published."""
    return make_event(
        type=EventType.IMPRESSION, valid=True, drop_reason=None, attribution=None,
        value_micros=0, ts=now, campaign_id=net.campaign.id or 0,
        creative_id=net.creative.id or 0, advertiser_id=net.advertiser.id or 0,
        visitor=visitor, price_micros=4_000, decision_id=str(uuid.uuid4()),
    )


@contextmanager
def started_worker(settings: Settings) -> Iterator[tuple[IngestProcess, Runtime]]:
    """An ingest process and one worker's runtime, both started; stopped after the block."""
    ingest = IngestProcess(settings)
    ingest.start()
    try:
        rt = open_worker_runtime(settings)
        rt.start()
        try:
            yield ingest, rt
        finally:
            rt.close()
    finally:
        ingest.stop()


def test_a_dropped_worker_rebuilds_its_replicas_from_the_store_when_it_reconnects(
    settings: Settings, catalog: SqlCatalog
) -> None:
    """The ingest process drops a subscriber that falls behind; the effects published
    meanwhile never reach that worker. When it reconnects it waits for the store to catch
    up and warms its spend and profiles again, replacing what it held, keeping its own
    rate windows."""
    net = build_network(catalog)
    cid = net.campaign.id or 0
    with started_worker(settings) as (ingest, rt):
        sub, service = rt.subscription, ingest.service
        assert sub is not None and service is not None and sub.connects == 1
        now = datetime.now(UTC)
        day = local_day(net.campaign.timezone, now)
        # Counted while the worker was not following: in the store, never published.
        ingest.rt.store.append_batch([stored_impression(net, "hReturningVisitor00000", now)])
        rt.counters.add_spend(cid, day, 7)  # a replica's drift, which the store lacks
        assert rt.counters.hit("login:fan@example.com:203.0.113.9", now.timestamp(), 60) == 1
        service._drop(service._subscribers[0])
        window = 24 * 3600

        def replicas() -> tuple[Spend, dict[int, int]]:
            return rt.counters.spend(cid, day), rt.counters.exposures(
                "hReturningVisitor00000", [cid], now.timestamp() + 1, window
            )

        deadline = time.monotonic() + 15
        while replicas() != (Spend(4_000, 4_000), {cid: 1}):  # spend first, then profiles
            assert time.monotonic() < deadline, replicas()
            time.sleep(0.02)
        assert sub.connects == 2
        # its own rate windows survive the re-warm
        assert rt.counters.hit("login:fan@example.com:203.0.113.9", now.timestamp(), 60) == 2


def test_while_a_worker_re_warms_its_decisions_read_the_old_replicas_not_empty_ones(
    settings: Settings, catalog: SqlCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-warm after a reconnection reads the store for a while (seconds, on a big
    one). Its replicas are warmed apart and swapped in at the end: until then every budget
    and cap reads what the worker held before, never zero, and afterwards what the store
    holds."""
    net = build_network(catalog)
    cid = net.campaign.id or 0
    with started_worker(settings) as (ingest, rt):
        now = datetime.now(UTC)
        day = local_day(net.campaign.timezone, now)
        at, window = now.timestamp(), 24 * 3600
        ingest.rt.store.append_batch([stored_impression(net, "hStoredVisitor0000000", now)])
        rt.counters.add_spend(cid, day, 7)  # the replicas before: only a drift of 7
        rt.counters.record_exposure("hHeldVisitor00000000", cid, at, window)

        def replicas() -> tuple[Spend, dict[int, int], dict[int, int]]:
            return (
                rt.counters.spend(cid, day),
                rt.counters.exposures("hHeldVisitor00000000", [cid], at + 1, window),
                rt.counters.exposures("hStoredVisitor0000000", [cid], at + 1, window),
            )

        before = replicas()
        assert before == (Spend(7, 7), {cid: 1}, {cid: 0})
        seen: list[tuple[Spend, dict[int, int], dict[int, int]]] = []
        query = rt.store.query

        def reading(sql: str, params: Any = ()) -> Any:
            seen.append(replicas())  # what a decision would read at this moment
            return query(sql, params)

        monkeypatch.setattr(rt.store, "query", reading)
        rt.resync()
        assert len(seen) >= 3  # CTR stats, spend (twice) and profiles were read
        assert set(map(repr, seen)) == {repr(before)}
        assert replicas() == (Spend(4_000, 4_000), {cid: 0}, {cid: 1})


def test_a_worker_that_warmed_before_it_was_following_re_warms_once_it_is(
    settings: Settings, catalog: SqlCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the ingest process takes longer than the start's wait to let a new worker
    follow, the worker warms up anyway, and warms again once it follows."""
    build_network(catalog)
    monkeypatch.setattr("backbeat.web.runtime.SUBSCRIBE_WAIT_S", 0.2)
    ingest = IngestProcess(settings)
    ingest.start()
    try:
        assert ingest.consumer is not None
        slow = ingest.consumer.wait_stored

        def slow_settle(timeout: float) -> bool:
            time.sleep(1.0)  # the ingest process is busy storing a backlog
            return slow(timeout)

        monkeypatch.setattr(ingest.consumer, "wait_stored", slow_settle)
        rt = open_worker_runtime(settings)
        resyncs: list[int] = []
        monkeypatch.setattr(rt, "resync", lambda: resyncs.append(1))
        try:
            rt.start()  # returns after 0.2 s, warmed from the store
            assert rt.warmed_unsubscribed and not resyncs
            assert rt.subscription is not None and rt.subscription.wait_ready(10)
            assert resyncs == [1] and not rt.warmed_unsubscribed
        finally:
            rt.close()
    finally:
        ingest.stop()


@pytest.mark.redis
def test_with_shared_counters_a_reconnecting_worker_re_warms_only_its_ctr_stats(
    settings: Settings, catalog: SqlCatalog
) -> None:
    """Redis already holds every write of the ingest process, so a worker re-warming after
    a drop must not clear or add to it; the creative CTR stats, which each process keeps,
    come back from the store."""
    net = build_network(catalog)
    cid, crid = net.campaign.id or 0, net.creative.id or 0
    shared = settings.model_copy(
        update={"counters_backend": "redis", "redis_url": "redis://127.0.0.1:6379/9"}
    )
    ingest = IngestProcess(shared)
    purge = getattr(ingest.rt.counters, "purge", None)
    assert purge is not None
    purge()  # what an earlier run may have left in this database
    ingest.start()
    try:
        rt = open_worker_runtime(shared)
        rt.start()
        try:
            sub, service = rt.subscription, ingest.service
            assert sub is not None and service is not None
            now = datetime.now(UTC)
            day = local_day(net.campaign.timezone, now)
            ingest.rt.counters.add_spend(cid, day, 4_000)  # the ingest process's write
            ingest.rt.store.append_batch([stored_impression(net, "hSharedVisitor000000000", now)])
            assert rt.stats.get(crid) == (0, 0)  # stored, never published
            service._drop(service._subscribers[0])
            deadline = time.monotonic() + 15
            while rt.stats.get(crid) != (1, 0):
                assert time.monotonic() < deadline, rt.stats.get(crid)
                time.sleep(0.02)
            assert sub.connects == 2
            assert rt.counters.spend(cid, day) == Spend(4_000, 4_000)  # neither lost nor doubled
        finally:
            rt.close()
    finally:
        purge()
        ingest.stop()


def test_a_click_right_after_its_impression_and_a_conversion_right_after_it_count(
    tmp_path: Path,
) -> None:
    """Each worker's hits reach the ingest process once its segment is sealed, so the
    click (on one worker) may be ready before the impression another took a moment
    earlier: the click is held back for it, not stored as "no impression". And a click is
    acknowledged once spooled, counted a seal interval or more later: a conversion that
    names it (bbclid) in between waits for it rather than go unattributed."""
    data_dir = tmp_path / "var"
    top, bottom = seed(data_dir)
    server = start_server(data_dir, {"BACKBEAT_WORKERS": "2"})  # the default seal interval
    try:
        for i in range(4):
            ua = browser(100 + i)
            with httpx.Client(base_url=server.url, timeout=10) as client:
                r = client.get("/serve", params={"p": f"{top},{bottom}", "u": PAGE},
                               headers={"User-Agent": ua})  # fmt: skip
                (ad,) = r.json()["ads"]
                imp = urlsplit(ad["imp"]).path + "?u=" + quote(PAGE, safe="")
                assert client.post(imp, headers={"User-Agent": ua}).status_code == 204
            # at once, on a new connection (either worker)
            landed = httpx.get(ad["click"], headers={"User-Agent": ua}, follow_redirects=False)
            assert landed.status_code == 302
            bbclid = parse_qs(urlsplit(landed.headers["location"]).query)["bbclid"][0]
            conv = httpx.post(  # at once, on a new connection (either worker)
                server.url + "/conv",
                json={"a": 1, "v": "9.99", "oid": f"fast-{i}", "bbclid": bbclid},
                headers={"User-Agent": ua},
                timeout=10,
            )
            assert conv.status_code == 202, conv.text
            assert conv.json()["attribution"] == "click_through", (i, conv.json())
    finally:
        server.stop()
    con = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
    try:
        clicks = con.execute(
            "SELECT valid, drop_reason FROM events WHERE type = 'click'"
        ).fetchall()
    finally:
        con.close()
    assert clicks == [(True, None)] * 4
