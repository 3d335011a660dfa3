"""SlateBuilder and the decider's ahead-of-time slates: driven step by step, and as a thread."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backbeat.serving.decide import Decider
from backbeat.serving.index import CandidateIndex, IndexHolder
from backbeat.serving.prebuild import SlateBuilder
from backbeat.serving.request import Decision
from backbeat.serving.stats import CreativeStats
from backbeat.store.catalog import SqlCatalog
from backbeat.store.counters.memory import MemoryCounters
from tests.serving.factories import NOW, Clock, Gated, Rig, request
from tests.serving.test_slatecache import B, T, network

NEXT = datetime.fromtimestamp((B + 1) * 60, UTC)


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.005)
    return check()


def builder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "backbeat-slates"]


def test_first_request_after_the_boundary_builds_nothing() -> None:
    rig = Rig(network(), now=T)
    rig.stats.record_impression(20, 9000)
    rig.stats.record_click(20, 90)
    for country in ("US", "DE"):
        assert isinstance(rig.decider.decide(request(now=T, country=country)), Decision)
    builds = rig.decider.slates.builds
    assert rig.decider.prebuild() == 2 + 2  # the block after the clock's: bases, US, DE
    assert rig.decider.slates.builds == builds
    for country in ("US", "DE"):
        assert isinstance(rig.decider.decide(request(now=NEXT, country=country)), Decision)
    assert rig.decider.slates.builds == builds


def test_decisions_are_the_same_with_and_without_prepared_slates() -> None:
    ahead, lazy = Rig(network(), now=T, seed=3), Rig(network(), now=T, seed=3)
    reqs = [
        request(now=T + timedelta(seconds=s), country=c, visitor=f"v{s % 7}")
        for s in range(0, 180, 3)
        for c in ("US", "DE", None)
    ]
    got: list[list[object]] = [[], []]
    for n, rig in enumerate((ahead, lazy)):
        block = B
        for req in reqs:
            assert req.now is not None
            if n == 0 and int(req.now.timestamp() // 60) != block:
                block += 1
                rig.decider.prebuild(block)  # what the builder does just before the boundary
            got[n].append(rig.decider.decide(req))
    assert got[0] == got[1]
    assert sum(isinstance(d, Decision) for d in got[0]) == len(reqs)
    # One shape in use, three countries: a base and three country slates per block.
    assert ahead.decider.slates.builds == 4  # only block B's first requests built
    assert lazy.decider.slates.builds == 3 * 4  # blocks B, B+1 and B+2


def test_step_prepares_the_current_block_then_the_next_within_the_lead() -> None:
    index = CandidateIndex.build(network(), NOW)
    rig = Rig(network(), now=T)
    clock = Clock(NEXT - timedelta(seconds=20))
    builder = SlateBuilder(rig.decider.slates, lambda: index, clock, lead_s=5.0, max_wait_s=60)
    assert builder.step() == pytest.approx(15.0)  # until 5 s before the next block
    assert rig.decider.slates.is_ready(index, B) and not rig.decider.slates.is_ready(index, B + 1)
    clock.now = NEXT - timedelta(seconds=5)
    assert builder.step() == pytest.approx(60.0)  # prepared; the block after next is due next
    assert rig.decider.slates.is_ready(index, B + 1)
    assert rig.decider.slates.prebuilt == 4
    assert builder.step() == pytest.approx(60.0) and rig.decider.slates.prebuilt == 4
    builder.max_wait_s = 1.0
    assert builder.step() == 1.0  # a long sleep is cut, to notice a clock that jumps


def test_lead_must_fit_in_a_block() -> None:
    rig = Rig(network())
    with pytest.raises(ValueError, match="lead_s"):
        rig.decider.start_prebuild(lead_s=60)
    with pytest.raises(ValueError, match="lead_s"):
        SlateBuilder(rig.decider.slates, lambda: rig.index, lambda: NOW, lead_s=0)
    assert not rig.decider.prebuilding and builder_threads() == []


def test_the_thread_prepares_the_next_block_and_stops_cleanly() -> None:
    clock = Clock(NEXT - timedelta(seconds=3))
    rig = Rig(network(), now=T)
    decider = Decider(rig.index, rig.counters, rig.rng, clock, rig.stats)
    assert isinstance(decider.decide(request(now=clock.now)), Decision)
    assert not decider.prebuilding  # off unless started
    decider.start_prebuild(lead_s=5.0, pause_s=0.001)
    decider.start_prebuild()  # a no-op while it runs
    assert decider.prebuilding and len(builder_threads()) == 1
    assert wait_until(lambda: decider.slates.is_ready(rig.index, B + 1))
    builds = decider.slates.builds
    clock.now = NEXT
    assert isinstance(decider.decide(request(now=NEXT)), Decision)
    assert decider.slates.builds == builds
    decider.stop_prebuild()
    assert not decider.prebuilding and builder_threads() == []
    decider.stop_prebuild()  # stopping twice is harmless
    decider.start_prebuild(lead_s=5.0, pause_s=0.001)  # and it starts again
    clock.now = NEXT + timedelta(seconds=56)
    assert wait_until(lambda: decider.slates.is_ready(rig.index, B + 2))
    decider.stop_prebuild()
    assert builder_threads() == []


def test_start_warms_the_current_block_in_the_callers_thread() -> None:
    rig = Rig(network(), now=T)
    rig.decider.start_prebuild()
    try:
        assert rig.decider.slates.is_ready(rig.index, B)  # before start_prebuild returned
        assert not rig.decider.slates.is_ready(rig.index, B + 1)  # not due for 50 s
    finally:
        rig.decider.stop_prebuild()


def test_stop_cuts_a_prebuild_short() -> None:
    rig = Rig(network(), now=T)
    rig.decider.start_prebuild(warm=False, slice_s=0, pause_s=30.0)  # 30 s at every yield
    started = time.monotonic()
    time.sleep(0.05)  # the thread prepares the current block: it sleeps in its first yield
    rig.decider.stop_prebuild()
    assert time.monotonic() - started < 10 and builder_threads() == []
    assert not rig.decider.slates.is_ready(rig.index, B)  # abandoned, never published


def test_a_failing_pass_is_logged_and_retried() -> None:
    index = CandidateIndex.build(network(), NOW)
    rig = Rig(network(), now=T)
    calls: list[int] = []

    def flaky() -> CandidateIndex:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("index unavailable")
        return index

    builder = SlateBuilder(rig.decider.slates, flaky, Clock(T), retry_s=0.01, pause_s=0)
    builder.start()
    try:
        assert wait_until(lambda: rig.decider.slates.is_ready(index, B))
        assert builder.running and len(calls) >= 2
    finally:
        builder.stop()
    assert not builder.running


def test_a_new_index_is_prepared_before_the_holder_swaps_it(catalog: SqlCatalog) -> None:
    clock = Clock(NOW)
    holder = IndexHolder(catalog, clock, poll_ms=100, background=False)
    decider = Decider(holder, MemoryCounters(), random.Random(1), clock, CreativeStats())
    builder = SlateBuilder(decider.slates, lambda: holder.index, clock, pause_s=0)
    holder.add_preparer(builder.on_new_index)  # what start_prebuild does, minus the thread
    first = decider.decide(request())
    assert isinstance(first, Decision) and first.campaign.bid_micros == 5_000_000
    builds = decider.slates.builds
    camp = catalog.campaigns.get(1)
    catalog.campaigns.update(replace(camp, bid_micros=6_000_000))
    clock.now += timedelta(seconds=1)
    second = decider.decide(request(now=clock.now))  # polls, and swaps the new index in
    assert isinstance(second, Decision) and second.campaign.bid_micros == 6_000_000
    assert decider.slates.builds == builds  # the new index's US slate was prepared
    third = decider.decide(request(now=clock.now, country="DE"))  # not used before the swap
    assert isinstance(third, Decision) and decider.slates.builds == builds + 1


def test_the_thread_prepares_an_index_swapped_in_the_background(catalog: SqlCatalog) -> None:
    clock = Clock(NOW)
    source = Gated(catalog)
    holder = IndexHolder(source, clock, poll_ms=100)
    decider = Decider(holder, MemoryCounters(), random.Random(1), clock, CreativeStats())
    assert isinstance(decider.decide(request()), Decision)
    decider.start_prebuild(pause_s=0.001)
    try:
        old = holder.index
        camp = catalog.campaigns.get(1)
        catalog.campaigns.update(replace(camp, bid_micros=6_000_000))
        clock.now += timedelta(seconds=1)
        source.gate.clear()
        assert holder.current() is old  # the rebuild (and its slates) run in the background
        source.gate.set()
        holder.wait(20)
        assert holder.index is not old
        assert decider.slates.is_ready(holder.index, int(clock.now.timestamp() // 60))
        builds = decider.slates.builds
        d = decider.decide(request(now=clock.now))
        assert isinstance(d, Decision) and d.campaign.bid_micros == 6_000_000
        assert decider.slates.builds == builds  # the US slate was in use: prepared too
    finally:
        decider.stop_prebuild()
    assert builder_threads() == []
    holder.refresh(force=True)  # the preparer is gone with the builder
    assert not decider.slates.is_ready(holder.index, int(clock.now.timestamp() // 60))
