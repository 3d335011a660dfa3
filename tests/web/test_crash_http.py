"""Crash test over HTTP: SIGKILL a real server while impression beacons stream in; after a
restart on the same data dir, every beacon that was answered 204 is stored exactly once.

The first server runs with a flush interval far longer than the test, so the events it
acknowledged live only in its spool when it dies: the restart must replay them. This
complements the writer-level crash test in tests/store/events/test_crash.py by going
through the real routes, the async group commit and `backbeat serve`.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import duckdb
import httpx
import pytest

from backbeat.store.catalog import open_catalog, upgrade
from tests.live import LiveServer, child_pids, start_server
from tests.web.network import PAGE, Network, build_network

TOKENS = 1200  # impression links, two per /serve (the network's two placements)
THREADS = 6
KILL_AFTER_ACKS = 300


def browser(i: int) -> str:
    """A distinct browser per page view: many visitors, as real traffic has, so the
    per-visitor rate limit does not mark the beacons invalid."""
    return (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/126.0.{i}.0 Safari/537.36"
    )


def catalog_url(data_dir: Path) -> str:
    """The SQLite catalog a server on `data_dir` opens."""
    return f"sqlite:///{(data_dir / 'catalog.db').resolve()}"


def seed_network(data_dir: Path, **campaign: Any) -> Network:
    """A migrated catalog in a new `data_dir` holding :func:`build_network`'s network (no
    frequency cap and a large budget unless `campaign` says otherwise)."""
    data_dir.mkdir(parents=True)
    url = catalog_url(data_dir)
    upgrade(url)
    catalog = open_catalog(url)
    try:
        return build_network(catalog, **{
            "frequency_cap": None, "budget_total_micros": 1_000_000_000, **campaign,
        })
    finally:
        catalog.close()


def seed(data_dir: Path) -> tuple[int, int]:
    net = seed_network(data_dir)
    return net.top.id or 0, net.bottom.id or 0


def collect_links(server: LiveServer, placements: tuple[int, int]) -> list[tuple[str, str, str]]:
    """(decision id, beacon path with ?u=, User-Agent) for TOKENS fresh impressions."""
    ids = ",".join(map(str, placements))
    links: list[tuple[str, str, str]] = []
    with httpx.Client(base_url=server.url, timeout=10) as client:
        i = 0
        while len(links) < TOKENS:
            ua = browser(i)
            i += 1
            r = client.get("/serve", params={"p": ids, "u": PAGE}, headers={"User-Agent": ua})
            assert r.status_code == 200, r.text
            for ad in r.json()["ads"]:
                path = urlsplit(ad["imp"]).path + "?u=" + quote(PAGE, safe="")
                links.append((ad["decision"], path, ua))
    assert len({d for d, _, _ in links}) == len(links)
    return links[:TOKENS]


class Firehose:
    """THREADS threads send the beacons (sendBeacon-style empty POSTs) and record every
    decision whose beacon was answered 204; a thread stops at its first failure."""

    def __init__(self, url: str, links: list[tuple[str, str, str]]) -> None:
        self.url = url
        self.links = links
        self.acked: list[str] = []
        self.refused: list[int] = []  # statuses other than 204 (there should be none)
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(k,), daemon=True) for k in range(THREADS)
        ]

    def _run(self, k: int) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as client:
            for decision, path, ua in self.links[k::THREADS]:
                try:
                    r = client.post(path, headers={"User-Agent": ua})
                except httpx.HTTPError:
                    return  # the server is gone: this beacon was not acknowledged
                with self.lock:
                    if r.status_code == 204:
                        self.acked.append(decision)
                    else:
                        self.refused.append(r.status_code)

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=15)
            assert not t.is_alive()


def stored(data_dir: Path) -> tuple[list[tuple[str, bool]], int, int]:
    """(decision id, valid) of every stored impression; total and distinct event ids."""
    con = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
    try:
        imps = con.execute(
            "SELECT decision_id, valid FROM events WHERE type = 'impression'"
        ).fetchall()
        counts = con.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
    finally:
        con.close()
    assert counts is not None
    return [(str(d), bool(v)) for d, v in imps], int(counts[0]), int(counts[1])


def kill_tree(server: LiveServer) -> None:
    """SIGKILL the server and, with several workers, every worker process too (all at
    once, as a power cut or the OOM killer would)."""
    assert server.process is not None
    pid = server.process.pid
    for p in (pid, *child_pids(pid)):
        os.kill(p, signal.SIGKILL)
    server.process.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_every_acknowledged_beacon_survives_sigkill_exactly_once(
    tmp_path: Path, workers: int
) -> None:
    data_dir = tmp_path / "var"
    placements = seed(data_dir)
    # Nothing reaches the event store before the kill: acknowledged means spooled only.
    spool_only = {
        "BACKBEAT_FLUSH_INTERVAL_MS": "600000",
        "BACKBEAT_FLUSH_ROWS": "1000000",
        "BACKBEAT_WORKERS": str(workers),
    }
    first = start_server(data_dir, spool_only)
    try:
        links = collect_links(first, placements)
        hose = Firehose(first.url, links)
        hose.start()
        deadline = time.monotonic() + 20
        while hose.acked_count() < KILL_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.005)
        kill_tree(first)
        hose.join()
    finally:
        first.stop()
    acked = set(hose.acked)
    assert hose.refused == []
    assert len(acked) == len(hose.acked)
    assert KILL_AFTER_ACKS <= len(acked) < TOKENS, "the kill must land mid-stream"
    assert not (data_dir / "events.duckdb").exists() or not stored(data_dir)[0], (
        "the first server was to keep every event in the spool until the kill"
    )
    # one process: its spool; several: the workers' hand-off spools and the ingest's spool
    assert any(data_dir.glob("spool/seg-*.log")) or any(data_dir.glob("handoff/*/*/seg-*.log"))

    # replays the spools before it serves (with several workers, the ingest process drains
    # the dead workers' spools too)
    second = start_server(data_dir, {"BACKBEAT_WORKERS": str(workers)})
    try:
        health = httpx.get(second.url + "/healthz", timeout=5).json()
        assert health["status"] == "ok"
    finally:
        second.stop()  # SIGTERM: flushes, releases the event store for reading

    impressions, total, distinct = stored(data_dir)
    decisions = [d for d, _ in impressions]
    sent = {d for d, _, _ in links}
    assert len(decisions) == len(set(decisions)), "an impression was stored twice"
    assert total == distinct, "an event id was stored twice"
    assert set(decisions) <= sent
    valid = {d for d, ok in impressions if ok}
    missing = acked - valid
    assert not missing, f"{len(missing)} acknowledged impressions lost or not valid"
    # Beacons in flight at the kill may be stored without an answer, never the reverse.
    assert len(acked) <= len(decisions) <= len(acked) + THREADS
