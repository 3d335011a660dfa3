"""Run the demo: seed the network, then simulate days of traffic through the real app.

:func:`simulate` migrates the catalog, seeds the demo network (:mod:`backbeat.sim.seeds`),
builds the app with ``create_app(settings, clock=<simulated clock>, rng=<seeded RNG>,
require_domain_match=True)`` and drives it hour by simulated hour (:mod:`backbeat.sim.actions`)
from ``until - days`` to ``until``. Everything random comes from RNGs seeded from `seed`, so a
seed and an end time always give the same stored counts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from starlette.applications import Starlette

from backbeat.config import Settings, ensure_secret
from backbeat.domain.creative import DestinationKind
from backbeat.errors import ValidationFailed
from backbeat.sim.actions import Browser, SimClock
from backbeat.sim.network import NETWORK, DemoNetwork
from backbeat.sim.population import SiteAudience, build_population
from backbeat.sim.seeds import Seeded, seed_catalog
from backbeat.sim.traffic import DAY_S, HOUR_S, plan_day
from backbeat.store.catalog import open_catalog, upgrade
from backbeat.tracking.ids import UUID7Generator
from backbeat.web.app import create_app
from backbeat.web.runtime import Runtime

T = TypeVar("T")

MAX_DAYS = 90
ORGANIC_ORDERS_PER_DAY = 0.3  # per selling advertiser, at traffic scale 1
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SimOptions:
    """How much to simulate, and from which seed."""

    days: int = 14
    seed: int = 1
    scale: float = 1.0  # 1.0 = the sites' declared daily page views
    until: datetime | None = None  # end of the simulated period; default: this hour
    users: bool = True  # create the demo logins
    network: DemoNetwork = NETWORK

    def validate(self) -> SimOptions:
        if not 1 <= self.days <= MAX_DAYS:
            raise ValidationFailed.one("days", f"between 1 and {MAX_DAYS}")
        if not 0 < self.scale <= 20:
            raise ValidationFailed.one("scale", "between 0 (exclusive) and 20")
        if self.until is not None and self.until.tzinfo is None:
            raise ValidationFailed.one("until", "must carry a UTC offset")
        return self


@dataclass
class SimReport:
    """What a simulation did: the period, the requests it made (by kind and by response
    status) and the events the real pipeline stored (by type and validity)."""

    start: datetime
    end: datetime
    seconds: float  # wall time of the traffic simulation (seeding excluded)
    seeded: Seeded
    requests: dict[str, int] = field(default_factory=dict)
    events: dict[tuple[str, bool], int] = field(default_factory=dict)  # (type, valid) -> n
    spend_micros: int = 0  # billed to advertisers

    def count(self, kind: str, valid: bool | None = None) -> int:
        """Stored events of `kind`: valid ones, invalid ones, or (None) both."""
        return sum(n for (k, v), n in self.events.items() if k == kind and valid in (None, v))


def period(options: SimOptions) -> tuple[datetime, datetime]:
    """[start, end) of the simulated days: `until` (default now) floored to the hour."""
    until = options.until or datetime.now(UTC)
    end = until.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=options.days), end


def hold_index(rt: Runtime) -> None:
    """The index holder polls the catalog every 500 ms of its clock. Simulated time runs
    thousands of times faster than real time, so it would start a polling thread on almost
    every request and swap indexes at moments that depend on thread timing. The simulation
    edits the catalog itself and refreshes the index right after (`Browser.widen`), so the
    poll is pushed out of reach for the run."""
    holder = rt.holder
    if not hasattr(holder, "_poll"):  # pragma: no cover - IndexHolder changed shape
        raise RuntimeError("IndexHolder has no poll interval to hold")
    far = timedelta(days=10 * 365)
    holder._poll = far
    holder._next_poll = rt.clock() + far


def _organic_orders(browser: Browser, audiences: dict[str, SiteAudience], options: SimOptions,
                    day_start: float, rng: random.Random) -> None:
    sellers: dict[str, tuple[str, tuple[str, str]]] = {}
    for c in options.network.campaigns:
        if c.destination in (DestinationKind.STORE, DestinationKind.TICKETS):
            sellers.setdefault(c.advertiser, (c.destination_url, c.order_value))
    readers = [p for aud in audiences.values() for p, _ in aud.readers]
    for key, (shop, (lo, hi)) in sellers.items():
        expected = ORGANIC_ORDERS_PER_DAY * options.scale
        for _ in range(int(expected) + (rng.random() < expected - int(expected))):
            persona = readers[int(rng.random() * len(readers))]
            value = f"{rng.uniform(float(lo), float(hi)):.2f}"
            browser.push(day_start + rng.random() * DAY_S, browser.organic, persona, key, shop,
                         value)


def use_sim_ids(rt: Runtime, clock: SimClock, seed: int) -> None:
    """Decision and event ids are UUIDv7s, which carry the time they were made; the runtime
    mints them from the wall clock even when given another clock, and conversion attribution
    looks a click up by the time in its decision id. So the simulation mints them on its own
    clock (and from a seeded RNG, which makes the ids reproducible too)."""
    ids = UUID7Generator(
        clock_ns=lambda: int(clock().timestamp() * 1_000_000) * 1000,
        rng=random.Random(f"ids:{seed}").randbytes,
    )

    def new_id() -> str:
        return str(ids())

    decider = rt.decider
    if not hasattr(decider, "_id_fn"):  # pragma: no cover - Decider changed shape
        raise RuntimeError("Decider has no id function to replace")
    decider._id_fn = new_id
    rt.new_id = new_id


async def _drive(app: Starlette, seeded: Seeded, clock: SimClock, options: SimOptions,
                 bounds: tuple[float, float], progress: Progress | None) -> SimReport:
    start, end = bounds
    seed = options.seed
    async with app.router.lifespan_context(app):
        rt: Runtime = app.state.runtime
        hold_index(rt)
        use_sim_ids(rt, clock, seed)
        audiences = build_population(
            options.network, options.scale, random.Random(f"population:{seed}")
        )
        browser = Browser(app, seeded, clock, random.Random(f"behaviour:{seed}"), end)
        for c in options.network.campaigns:
            if c.widen_after is not None:
                browser.push(start + c.widen_after * (end - start), browser.widen, c.key)
        began = time.perf_counter()
        hours = options.days * 24
        for day in range(options.days):
            day_start = start + day * DAY_S
            browser.day = day
            day_rng = random.Random(f"traffic:{seed}:{day}")
            for pv in plan_day(audiences, seeded.sites, day=day, days=options.days,
                               day_start=day_start, scale=options.scale, rng=day_rng):
                browser.push(pv.at, browser.page_view, pv)
            _organic_orders(browser, audiences, options, day_start, day_rng)
            for hour in range(24):
                await browser.run_until(day_start + (hour + 1) * HOUR_S)
                if progress is not None:
                    progress(day * 24 + hour + 1, hours)
        while not rt.ingest.idle:
            await asyncio.sleep(0.01)
        rt.writer.flush(timeout=120)
        seconds = time.perf_counter() - began
        rows = rt.store.query("SELECT type, valid, count(*) FROM events GROUP BY ALL")
        events = {(str(t), bool(v)): int(n) for t, v, n in rows}  # type: ignore[call-overload]
        spend = rt.store.query("SELECT coalesce(sum(price_micros), 0) FROM events WHERE valid")
    return SimReport(
        datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), seconds, seeded,
        dict(sorted(browser.tally.items())), events, int(spend[0][0]),  # type: ignore[call-overload]
    )


def simulate(settings: Settings, options: SimOptions = SimOptions(),
             progress: Progress | None = None) -> SimReport:
    """Seed the demo network into the catalog of `settings` and simulate its traffic.

    The catalog is migrated first; it should hold no other campaigns (the caller checks).
    Events land in the settings' event store through the real serving and tracking code."""
    options = options.validate()
    settings = ensure_secret(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    start, end = period(options)
    upgrade(settings.resolved_catalog_url)
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        seeded = seed_catalog(
            catalog,
            settings,
            start=start,
            end=end,
            network=options.network,
            users=options.users,
            budget_scale=options.scale,
        )
        clock = SimClock(start.timestamp())
        app = create_app(
            settings,
            catalog=catalog,
            clock=clock,
            rng=random.Random(f"decider:{options.seed}"),
            require_domain_match=True,
        )
        window = (start.timestamp(), end.timestamp())
        return _run_async(lambda: _drive(app, seeded, clock, options, window, progress))
    finally:
        catalog.close()


def _run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when this thread already has a
    running event loop (a caller inside async code, or a test process where Playwright's
    sync API keeps one): then it runs on a fresh loop in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sim") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
