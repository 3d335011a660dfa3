"""Everything the serving and tracking routes share, built once per process from Settings.

The runtime owns: the catalog, the counters, the event store and its writer (with the
async ingest bridge), the candidate index and decider, creative CTR stats, the attribution
touch log and the tracking-link rejection tally. :meth:`Runtime.start` replays a spool left
by a crash and warms state from the event store; :meth:`Runtime.close` flushes and closes.
"""

from __future__ import annotations

import gc
import logging
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Protocol

from backbeat.config import CountersBackend, Settings, ensure_secret, parse_networks
from backbeat.domain.campaign import Campaign
from backbeat.domain.events import Event
from backbeat.serving.decide import Decider
from backbeat.serving.index import IndexHolder
from backbeat.serving.localtime import local_day, local_time, zone
from backbeat.serving.stats import CreativeStats
from backbeat.store.catalog import open_catalog
from backbeat.store.catalog.protocol import Catalog
from backbeat.store.counters import open_counters
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.counters.protocol import Counters
from backbeat.store.events import open_event_store, open_event_writer
from backbeat.store.events.handoff import SpoolSink
from backbeat.store.events.protocol import EventStore
from backbeat.store.events.remote import Subscription
from backbeat.store.events.writer import WriterStats
from backbeat.tracking.attribution import MemoryTouchLog, TouchLog
from backbeat.tracking.hits import Counting, Hit
from backbeat.tracking.ids import UUID7Generator, new_id
from backbeat.tracking.rejections import Rejections
from backbeat.web.audiences import AudienceKeys
from backbeat.web.client_address import TrustedProxies
from backbeat.web.ingest import AsyncIngest
from backbeat.web.profiles import warm_profiles

log = logging.getLogger(__name__)

# How long a slate (the ranked candidates of a slot shape, with the campaign CTRs CPC bids
# are ranked by) serves before the next is built. Five minutes: every serving process
# rebuilds some 800 slates per block at 10,000 campaigns (about a second of CPU on a slow
# core), so a block a minute cost each worker a few percent of a core and put a burst of
# work on the beacons' tail every minute. Flights that start or end inside a block, and
# budgets, caps, pacing and creative rotation, are still checked on every request.
SLATE_BLOCK_S = 300
# How long a starting worker waits to follow the ingest process's effects before it warms
# its replicas anyway (the ingest process is up before the workers start, so this is the
# bound for a sick one).
SUBSCRIBE_WAIT_S = 30.0


class Writer(Protocol):
    """Where a runtime's events go: the EventWriter (one process, the ingest process) or a
    worker's SpoolSink (several workers)."""

    def start(self) -> int: ...

    def submit(self, events: Sequence[Event]) -> None: ...

    def flush(self, timeout: float | None = None) -> bool: ...

    def close(self, timeout: float | None = None) -> None: ...

    def stats(self) -> WriterStats: ...


def _int(value: object) -> int:
    if isinstance(value, int | float | str):
        return int(value)
    raise TypeError(f"expected a number from the event store, got {value!r}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    catalog: Catalog
    counters: Counters
    store: EventStore
    writer: Writer
    holder: IndexHolder
    decider: Decider
    stats: CreativeStats
    touches: TouchLog
    ingest: AsyncIngest[Event]
    clock: Callable[[], datetime]
    rejections: Rejections = field(default_factory=Rejections)
    new_id: Callable[[], str] = new_id
    owns_catalog: bool = True
    require_domain_match: bool = True
    # With several serving workers, beacons are spooled here as hits and counted by the
    # ingest process; None in one process, where the route counts them itself.
    hits: AsyncIngest[Hit] | None = None
    hit_sink: SpoolSink[Hit] | None = None
    # A serving worker follows the ingest process's effects to keep its counters current.
    subscription: Subscription | None = None
    # A worker that warmed up before its subscription connected (see start) re-warms when
    # it does connect.
    warmed_unsubscribed: bool = False
    # The audience memberships a serving worker keeps (None: all of them).
    audiences: AudienceKeys | None = None
    serves: bool = True  # False in the ingest process: no slates to build ahead
    # Waits until every event acknowledged so far can be read from the store (see
    # settle_events); None: the writer's flush, which is all there is in one process.
    settle: Callable[[float], bool] | None = None

    @property
    def worker(self) -> bool:
        """True in a serving worker of several (see :mod:`backbeat.web.workers`)."""
        return self.hits is not None

    @property
    def secret(self) -> bytes:
        return self.settings.secret()

    def settle_events(self, timeout: float) -> bool:
        """Wait (at most `timeout` seconds) until every event acknowledged so far is in the
        store; True when it is. The ingest process waits for the workers' hits too."""
        if self.settle is not None:
            return self.settle(timeout)
        return self.writer.flush(timeout=timeout)

    @cached_property
    def proxies(self) -> TrustedProxies:
        """The reverse proxies whose X-Forwarded-For to believe (BACKBEAT_TRUSTED_PROXIES)."""
        return TrustedProxies(parse_networks(self.settings.trusted_proxies.split(",")))

    @cached_property
    def counting(self) -> Counting:
        """What :func:`~backbeat.tracking.hits.count_hit` needs, from this runtime (built
        once: the beacon route asks for it on every request)."""
        return Counting(
            counters=self.counters,
            settings=self.settings,
            secret=self.secret,
            campaign=self.campaign,
            stats=self.stats,
            touches=self.touches,
        )

    def campaign(self, campaign_id: int) -> Campaign | None:
        """A campaign from the serving index, else from the catalog (ended or deleted)."""
        entry = self.holder.current().campaigns.get(campaign_id)
        if entry is not None:
            return entry.campaign
        return self.catalog.campaigns.find(campaign_id)

    def start(self) -> None:
        """Replay the spool into the store, then warm CTR stats, (in-process) spend and the
        visitor profiles (:mod:`backbeat.web.profiles`).

        A serving worker replays nothing (the ingest process drains its spools), follows
        the effects first and then warms from the ingest process's store; it keeps no
        claims, since it counts nothing."""
        replayed = self.writer.start()
        if replayed:
            log.info("replayed %d spooled events after an unclean stop", replayed)
        if self.hit_sink is not None:
            self.hit_sink.start()
        if self.subscription is not None:
            self.subscription.start()
            # Registered (and the ingest process's store caught up, see
            # open_worker_runtime) before the warm-up reads the store: an effect is then
            # either in what it reads or delivered after it.
            if not self.subscription.wait_ready(SUBSCRIBE_WAIT_S):
                self.warmed_unsubscribed = True  # the first connection then re-warms
                log.warning(
                    "worker: not following the ingest process's effects after %.0f s;"
                    " warming up anyway (replicas catch up when it connects)", SUBSCRIBE_WAIT_S
                )
        self._warm(claims=not self.worker)
        if self.serves and self.clock is _utc_now:  # a simulated clock drives time itself
            self.decider.start_prebuild()  # next block's slates before it starts

    def resync(self) -> None:
        """Rebuild a serving worker's replicas from the store, after its subscription to
        the effects reconnected (the ingest process restarted, or dropped it for falling
        behind): what it missed meanwhile is in the store by then. In-process counters are
        warmed into a sibling and swapped in (decisions go on reading the old ones until
        then); shared ones (Redis) hold the ingest process's writes already. Runs on the
        subscription's thread, before it delivers the next message."""
        log.info("worker: re-warming replicas after reconnecting to the ingest process")
        if self.settings.counters_backend is not CountersBackend.MEMORY:
            self._warm()
            return
        live = self.counters
        if not isinstance(live, MemoryCounters):  # open_counters builds one for MEMORY
            raise TypeError(f"in-process replicas must be MemoryCounters, not {live!r}")
        # Warmed apart and swapped in: decisions meanwhile read the old replicas, not
        # empty ones (every budget unspent, every cap open) while the warm-up reads.
        fresh = live.sibling()
        self._warm(into=fresh)
        live.adopt_replicated(fresh)

    def _warm(self, into: Counters | None = None, *, claims: bool = False) -> None:
        """CTR stats, then (in-process counters only) spend and, with `claims`, the claims,
        then the visitor profiles, into `into` (default: this runtime's counters)."""
        counters = into if into is not None else self.counters
        self._warm_stats()
        campaigns = self.catalog.campaigns.all()  # read once for both warm-ups
        if self.settings.counters_backend is CountersBackend.MEMORY:
            self._warm_spend(campaigns, counters)
            if claims:
                self._warm_claims()
        self._warm_profiles(campaigns, counters)

    def _warm_profiles(self, campaigns: Sequence[Campaign], counters: Counters) -> None:
        """Exposures and engagements into `counters`, and, in one process, the attribution
        touches."""
        in_memory = self.settings.counters_backend is CountersBackend.MEMORY
        warmed = warm_profiles(
            self.store,
            campaigns,
            self.clock(),
            # Profiles are read only where ads are decided (not in the ingest process).
            counters=counters if in_memory and self.serves else None,
            touches=None if self.worker else self.touches,  # conversions are not counted there
            click_days=self.settings.click_attribution_days,
            view_days=self.settings.view_attribution_days,
            audiences=self.audiences.current() if self.audiences is not None else None,
        )
        if warmed.engagements or warmed.touches:
            log.info(
                "restored %d frequency-cap exposures, %d audience engagements and %d touches",
                warmed.exposures, warmed.engagements, warmed.touches,
            )

    def _warm_stats(self) -> None:
        rows = self.store.query(
            "SELECT creative_id,"
            " sum(CASE WHEN type = 'impression' THEN event_count ELSE 0 END),"
            " sum(CASE WHEN type = 'click' THEN event_count ELSE 0 END)"
            " FROM events_hourly WHERE valid GROUP BY creative_id"
        )
        self.stats.load((_int(r[0]), _int(r[1]), _int(r[2])) for r in rows)

    def _warm_spend(self, campaigns: Sequence[Campaign], counters: Counters) -> None:
        """In-process counters start empty: rebuild each campaign's spend from the events
        into `counters`, so a restart neither forgets a budget nor double-counts it."""
        now = self.clock()
        since = (now - timedelta(days=2)).replace(tzinfo=None)
        totals = self.store.query(
            "SELECT campaign_id, sum(price_micros) FROM events_hourly"
            " WHERE valid AND price_micros > 0 GROUP BY campaign_id"
        )
        recent = self.store.query(
            "SELECT campaign_id, hour, sum(price_micros) FROM events_hourly"
            " WHERE valid AND price_micros > 0 AND hour >= ? GROUP BY campaign_id, hour",
            [since],
        )
        zones = {c.id: c.timezone for c in campaigns}
        midnights: dict[str, datetime] = {}

        def midnight(campaign_id: int) -> datetime:
            """The campaign's local midnight that began today, as naive UTC."""
            tz = zones.get(campaign_id, "UTC")
            if tz not in midnights:
                start = local_time(zone(tz), now.timestamp()).day_start
                midnights[tz] = datetime.fromtimestamp(start, UTC).replace(tzinfo=None)
            return midnights[tz]

        today: dict[int, int] = {}
        split: dict[datetime, set[int]] = {}
        for cid, hour, micros in recent:
            campaign_id = _int(cid)
            assert isinstance(hour, datetime)
            start = midnight(campaign_id)
            if hour >= start:  # an hour that began after local midnight is all today's
                today[campaign_id] = today.get(campaign_id, 0) + _int(micros)
            elif hour + timedelta(hours=1) > start:
                split.setdefault(start, set()).add(campaign_id)
        # Where local midnight falls inside a UTC hour (+03:30, +05:45...), that hour's
        # spend is split at midnight, from the events themselves.
        for start, ids in split.items():
            end = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            rows = self.store.query(
                "SELECT campaign_id, sum(price_micros) FROM events"
                " WHERE valid AND price_micros > 0 AND ts >= ? AND ts < ? GROUP BY campaign_id",
                [start, end],
            )
            for cid, micros in rows:
                if _int(cid) in ids:
                    today[_int(cid)] = today.get(_int(cid), 0) + _int(micros)
        for cid, micros in totals:
            campaign_id = _int(cid)
            day = local_day(zones.get(campaign_id, "UTC"), now)
            old_days = _int(micros) - today.get(campaign_id, 0)
            if old_days:
                counters.add_spend(campaign_id, "restored", old_days)
            if today.get(campaign_id):
                counters.add_spend(campaign_id, day, today[campaign_id])

    def _warm_claims(self) -> None:
        """In-process claims start empty: re-claim every decision whose links are still
        live, so a link replayed after a restart is a duplicate, not a second billable
        event."""
        now = self.clock()
        ttl = self.settings.link_ttl_seconds + 60
        since = (now - timedelta(seconds=ttl)).replace(tzinfo=None)
        rows = self.store.query(
            "SELECT decision_id, type, bool_or(valid) FROM events"
            " WHERE ts >= ? AND type IN ('impression', 'viewable', 'click')"
            " GROUP BY decision_id, type",
            [since],
        )
        prefix = {"impression": "imp", "viewable": "view", "click": "click"}
        for decision_id, kind, valid in rows:
            if kind == "impression" and not valid:
                continue  # only a valid impression holds its claim (views and clicks read it)
            self.counters.claim(f"{prefix[str(kind)]}:{decision_id}", ttl)

    def close(self) -> None:
        self.decider.stop_prebuild()
        self.holder_stop()
        if self.subscription is not None:
            self.subscription.close()
        if self.audiences is not None:
            self.audiences.close()
        if self.hit_sink is not None:
            self.hit_sink.close()
        self.writer.close()
        self.store.close()
        self.counters.close()
        if self.owns_catalog:
            self.catalog.close()

    def holder_stop(self) -> None:
        """The holder's rebuild thread is a daemon that ends with the process."""


def open_runtime(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    clock: Callable[[], datetime] | None = None,
    rng: random.Random | None = None,
    require_domain_match: bool = True,
    store: EventStore | None = None,
    writer: Writer | None = None,
    inline_max: int = 0,
) -> Runtime:
    """Open every collaborator from settings (pass `catalog`/`clock`/`rng` to override;
    a serving worker passes the ingest process's `store`, its own spool `writer`, and the
    largest group of events its ingest writes on the event loop's thread: `inline_max`)."""
    settings = ensure_secret(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    owns = catalog is None
    the_catalog = catalog if catalog is not None else open_catalog(settings.resolved_catalog_url)
    now = clock or _utc_now
    counters = open_counters(settings)
    if store is None:
        store = open_event_store(settings)
    if writer is None:
        writer = open_event_writer(settings, store)
    holder = IndexHolder(the_catalog, now, poll_ms=500)
    stats = CreativeStats()
    # Event and decision ids carry their time (UUIDv7), and attribution reads it back:
    # with an injected clock the ids must come from that clock too.
    ids = new_id if clock is None else UUID7Generator(
        clock_ns=lambda: int(now().timestamp() * 1_000_000_000)
    ).text
    decider = Decider(
        holder,
        counters,
        rng or random.Random(),
        now,
        stats,
        id_fn=ids,
        require_domain_match=require_domain_match,
        block_s=SLATE_BLOCK_S,
    )
    return Runtime(
        settings=settings,
        catalog=the_catalog,
        counters=counters,
        store=store,
        writer=writer,
        holder=holder,
        decider=decider,
        stats=stats,
        touches=MemoryTouchLog(),
        ingest=AsyncIngest(
            writer, linger_s=settings.group_commit_ms / 1000, inline_max=inline_max
        ),
        clock=now,
        new_id=ids,
        owns_catalog=owns,
        require_domain_match=require_domain_match,
    )


GIL_SWITCH_S = 0.0005


def settle_heap() -> None:
    """Once a process's long-lived state is loaded (catalog index, warm counters, slates):
    take it out of the cyclic garbage collector's scans, and collect less often. Full
    collections over the index paused beacons for hundreds of milliseconds, and young
    collections at the default threshold ran every few hundred allocations.

    Also shorten the GIL's switch interval from 5 ms to 0.5 ms. A serving process's event
    loop shares the GIL with threads that hold it for milliseconds at a time (a worker
    applying the ingest process's effects, the slate builder, the spool sealer); each time
    the loop wants it back it waited up to the whole interval, several times per beacon
    (docs/benchmarks.md, session 6: the half-load p99 after 30 s of load fell from 112 and
    225 ms to 45 and 58 ms)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)
    sys.setswitchinterval(GIL_SWITCH_S)
