"""Several serving processes: ``backbeat serve --workers N`` (``BACKBEAT_WORKERS``).

One Python process serves one core's worth of requests (the GIL). With N > 1 the work is
split so that every serving process is stateless apart from replicas:

- **N serving workers** (granian worker processes, see :func:`worker_server`) decide
  ads, answer beacons and serve the dashboard and API. A beacon is verified, made durable
  as a *hit* in the worker's own spool (group commit + fdatasync, as in one process) and
  answered. Decision events go to a second spool. Workers read the event store through
  the ingest process (:class:`~backbeat.store.events.remote.RemoteEventStore`) and keep
  their serving counters (spend, exposures, audiences, creative CTR) current from the
  effects it publishes (:mod:`backbeat.tracking.effects`).
- **The ingest process** (this module's :class:`IngestProcess`, in the process that runs
  the supervisor) alone opens the event store. It drains every worker's spools, counts
  the hits with the authoritative counters (claims, rate windows, budgets: validity and
  billing are decided in one place, exactly as in one process), appends the events to the
  store in batches (the workers' spools stay the durable copy until then), answers the
  workers' store reads and conversions, and publishes effects.

What changes against one process: an event becomes visible to reports, and its effect
on a worker's budget and frequency view, about `handoff_seal_ms` to a few hundred
milliseconds after its beacon was answered. Billing never lags: it happens in the ingest
process, capped at what is left of each budget.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import sys
import time
from pathlib import Path
from typing import Any

from granian.constants import HTTPModes, Interfaces, Loops
from granian.server.mp import MPServer

from backbeat.config import CountersBackend, Settings, ensure_secret
from backbeat.errors import ValidationFailed
from backbeat.store.events.handoff import RowCodec, SpoolSink
from backbeat.store.events.ipc import derive_authkey
from backbeat.store.events.remote import RemoteEventStore, Subscription
from backbeat.store.events.service import EventService
from backbeat.store.events.spool_format import EVENT_CODEC
from backbeat.store.events.spool_reader import SpoolReader
from backbeat.tracking.consumer import HitConsumer
from backbeat.tracking.effects import Effects, RecordingCounters, apply_effects
from backbeat.tracking.hits import Counting, Hit, HitCodec
from backbeat.web.audiences import AudienceKeys
from backbeat.web.conversion_routes import CONVERSION_RPC, record_remote
from backbeat.web.ingest import AsyncIngest
from backbeat.web.profiles import warm_audiences
from backbeat.web.runtime import Runtime, open_runtime, settle_heap

log = logging.getLogger(__name__)


HIT_INLINE_MAX = 8  # hits per group written on the event loop's thread (see below)
# The event service's call that waits until the ingest process stored everything it had
# counted (HitConsumer.wait_stored), and the longest a worker has it wait.
SETTLE_RPC = "settle"
SETTLE_WAIT_S = 10.0
# A new audience's re-warm waits this many of the ingest process's flush intervals, so the
# events whose effects the worker dropped before it knew the audience are stored by then.
REWARM_FLUSHES = 10
# DuckDB's threads in the ingest process unless BACKBEAT_DUCKDB_THREADS says otherwise. The
# ingest shares the cores with the serving workers; with one thread an append or a
# checkpoint runs on the (lowered) store thread alone instead of on every core at once.
# Alternating runs at half load: the beacons' p99 11.0-23.3 ms against 12.8-36.3 ms with
# DuckDB's pool lowered but parallel (docs/benchmarks.md, session 8). Reports through the
# ingest process run on one core.
INGEST_DUCKDB_THREADS = 1


def hits_dir(settings: Settings) -> Path:
    return settings.handoff_dir / "hits"


def decisions_dir(settings: Settings) -> Path:
    return settings.handoff_dir / "events"


class IngestProcess:
    """The event store's owner and the single counter of every worker's hits."""

    def __init__(self, settings: Settings) -> None:
        settings = ensure_secret(settings)
        if settings.duckdb_threads is None:
            settings = settings.model_copy(update={"duckdb_threads": INGEST_DUCKDB_THREADS})
        self.settings = settings
        self.rt: Runtime = open_runtime(self.settings)
        self.rt.serves = False
        self.service: EventService | None = None
        self.consumer: HitConsumer | None = None
        self.audiences: AudienceKeys | None = None
        self._readers: list[SpoolReader[object]] = []

    def start(self) -> None:
        """Replay and warm (as one process does), then serve the socket and start counting."""
        rt = self.rt
        rt.start()
        service = EventService(
            rt.store, self.settings.ingest_socket, derive_authkey(rt.secret)
        )
        service.handle(CONVERSION_RPC, lambda conv: record_remote(rt, conv))
        # In-process counters here are nobody's profile store: the workers decide from their
        # replicas, fed by the effects. Shared ones (Redis) are the workers' too.
        shared = self.settings.counters_backend is not CountersBackend.MEMORY
        # Effects carry only the memberships some audience reads, which is all a worker
        # keeps. This index is polled as the workers' are, and a worker re-warms a new key
        # from the store REWARM_FLUSHES flush intervals after it learns of it: by then this
        # process publishes the key's memberships too (backbeat.web.audiences).
        self.audiences = AudienceKeys(rt.holder.current())
        rt.holder.add_preparer(self.audiences.update)
        recorder = RecordingCounters(
            rt.counters, keep_profiles=shared, audiences=self.audiences.current
        )
        counting = Counting(recorder, self.settings, rt.secret, rt.campaign, rt.stats, rt.touches)
        hit_reader: SpoolReader[Hit] = SpoolReader(hits_dir(self.settings), codec=HitCodec())
        event_reader: SpoolReader[list[Any]] = SpoolReader(
            decisions_dir(self.settings), codec=RowCodec()
        )
        self._readers = [hit_reader, event_reader]  # type: ignore[list-item]
        self.consumer = HitConsumer(
            hit_reader,
            event_reader,
            counting,
            recorder,
            # Straight into the store: the workers' spools are the durable copy until the
            # consumer removes a segment, which it does only after the store committed.
            rt.store.append_table,
            service.publish,
            rejections=rt.rejections,
            flush_rows=self.settings.flush_rows,
            flush_interval_s=self.settings.flush_interval_ms / 1000,
            background=self.settings.background,
            # A click's impression may sit in another worker's segment for up to two seal
            # intervals, and a counting round later it is counted.
            defer_clicks_s=2 * self.settings.handoff_seal_ms / 1000 + 0.05,
        )
        consumer = self.consumer

        def settle(wait_s: object) -> bool:
            # A worker that (re)subscribes waits here until what was counted before it is
            # stored, then warms its replicas from the store (Runtime.start and resync).
            if not isinstance(wait_s, int | float) or isinstance(wait_s, bool):
                raise ValidationFailed.one("wait_s", "a number of seconds")
            return consumer.wait_stored(max(0.0, min(float(wait_s), SETTLE_WAIT_S)))

        service.handle(SETTLE_RPC, settle)
        seal_s = self.settings.handoff_seal_ms / 1000

        def settle_events(timeout: float) -> bool:
            # A hit a worker acknowledged is in a segment its sealer seals within two seal
            # intervals; the consumer then counts it and stores it with its batch.
            deadline = time.monotonic() + timeout
            time.sleep(min(timeout, 2 * seal_s + 0.01))

            def left() -> float:
                return max(0.0, deadline - time.monotonic())

            return consumer.wait_settled(left()) and rt.writer.flush(timeout=left())

        rt.settle = settle_events
        service.start()
        self.service = service
        settle_heap()  # the index and warm counters, as a serving process does
        self.consumer.start()
        log.info("ingest process ready on %s", self.settings.ingest_socket)

    def stop(self) -> None:
        """After the workers stopped: take their last spooled hits, store, close."""
        try:
            if self.consumer is not None:
                self.consumer.stop(drain=True)
        finally:
            for reader in self._readers:
                reader.close()
            if self.service is not None:
                self.service.close()
            self.rt.close()


def open_worker_runtime(settings: Settings) -> Runtime:
    """A serving worker's runtime: the ingest process's store, spools for hits and decision
    events, and counters kept current by the ingest process's effects."""
    settings = ensure_secret(settings)
    authkey = derive_authkey(settings.secret())
    store = RemoteEventStore(settings.ingest_socket, authkey)
    # Decisions are not acknowledged to anyone: their spool does not fsync (beacons' does).
    writer = SpoolSink(
        decisions_dir(settings), EVENT_CODEC, seal_ms=settings.handoff_seal_ms, durable=False
    )
    hit_sink = SpoolSink(hits_dir(settings), HitCodec(), seal_ms=settings.handoff_seal_ms)
    rt = open_runtime(settings, store=store, writer=writer, inline_max=sys.maxsize)
    rt.hit_sink = hit_sink
    # A small group is written on the event loop's thread: the hop to an executor thread
    # and back (two wake-ups, two GIL hand-offs) costs more CPU than the write itself. Hits
    # wait for an fdatasync, so only small groups stay on the loop (a large one, at peak,
    # lets the loop go on while it syncs); decision events are written without one, always
    # inline. Measured in docs/benchmarks.md (session 6).
    rt.hits = AsyncIngest(
        hit_sink, linger_s=settings.group_commit_ms / 1000, inline_max=HIT_INLINE_MAX
    )
    shared = settings.counters_backend is not CountersBackend.MEMORY

    def on_message(message: object) -> None:
        if not isinstance(message, Effects):
            log.warning("worker: ignoring an effects message of type %s", type(message))
            return
        # Shared counters (Redis) already hold the ingest process's writes: only the
        # creative CTR stats, which live in each process, need the replay.
        apply_effects(
            message, rt.counters, rt.stats, counters_too=not shared,
            audiences=rt.audiences.current() if rt.audiences is not None else None,
        )

    if not shared:
        # Only the memberships some audience reads (backbeat.web.audiences); a key the
        # catalog gains is loaded from the store once its dropped effects are stored.
        def rewarm(keys: frozenset[str]) -> None:
            n = warm_audiences(rt.store, keys, rt.clock(), rt.counters)
            log.info("worker: loaded %d engagements of new audiences %s", n, sorted(keys))

        rt.audiences = AudienceKeys(
            rt.holder.current(), rewarm,
            delay_s=REWARM_FLUSHES * settings.flush_interval_ms / 1000,
        )
        rt.holder.add_preparer(rt.audiences.update)

    def on_connect() -> None:
        # Runs on every (re)connection, once the service has registered this worker and
        # before any message published since: wait until the ingest process stored what
        # it counted before (whose effects this worker may never have received), so the
        # store read next holds it. The first time, Runtime.start warms up after this; on
        # a reconnection, whatever was missed while disconnected is warmed again here.
        if not store.call(SETTLE_RPC, SETTLE_WAIT_S):
            log.warning(
                "worker: the ingest process did not store its backlog within %.0f s;"
                " warming replicas from what it stored", SETTLE_WAIT_S,
            )
        sub = rt.subscription
        if sub is not None and (sub.connects > 1 or rt.warmed_unsubscribed):
            rt.warmed_unsubscribed = False
            rt.resync()

    rt.subscription = Subscription(settings.ingest_socket, authkey, on_message, on_connect)
    return rt


def check_port_free(host: str, port: int) -> None:
    """Raise OSError when another program holds `host:port`. The workers bind with
    SO_REUSEPORT (the kernel spreads connections over them), which would let them share the
    port silently with another program that set it too; this bind, without it, does not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))


# Backbeat's own loggers (the root logger) print as granian's do, in every process.
_LOGGING: dict[str, Any] = {
    "formatters": {
        "generic": {"()": "logging.Formatter", "fmt": "[%(levelname)s] %(message)s"},
        "access": {"()": "logging.Formatter", "fmt": "%(message)s"},
        "named": {"()": "logging.Formatter", "fmt": "[%(levelname)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"formatter": "generic", "class": "logging.StreamHandler",
                    "stream": "ext://sys.stdout"},
        "access": {"formatter": "access", "class": "logging.StreamHandler",
                   "stream": "ext://sys.stdout"},
        "named": {"formatter": "named", "class": "logging.StreamHandler",
                  "stream": "ext://sys.stderr"},
    },
    "root": {"handlers": ["named"], "level": "INFO"},
}


def worker_server(
    host: str, port: int, workers: int, *, access_log: bool = False
) -> MPServer:
    """The serving workers: `workers` granian processes running
    :func:`~backbeat.web.main.worker_app_factory`, each on its own SO_REUSEPORT socket (so
    the kernel spreads keep-alive connections evenly over them), restarted when one dies,
    stopped gracefully on SIGINT/SIGTERM.

    Why granian rather than uvicorn here: it parses requests and writes responses in Rust,
    outside the event loop's thread; the two workers used 80–92 µs of CPU per beacon
    against 103–136 µs under uvicorn in the same runs (docs/benchmarks.md, session 5). One
    process (`backbeat serve`) stays on uvicorn, which also gives ``--reload``."""
    return MPServer(
        target="backbeat.web.main:worker_app_factory",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        backlog=2048,
        log_dictconfig=_LOGGING,
        log_access=access_log,
        respawn_failed_workers=True,  # a worker that keeps dying at start stops the server
        workers_kill_timeout=30,  # then SIGKILL: what it acknowledged is in its spool
    )


def serve_workers(
    settings: Settings, *, host: str, port: int, workers: int, access_log: bool = False
) -> None:
    """Run the ingest process here and `workers` serving workers (see :func:`worker_server`).
    Returns after SIGINT/SIGTERM, once the workers have stopped and the ingest process has
    stored everything they spooled."""
    if workers < 2:
        raise ValueError("serve_workers needs at least 2 workers; one process serves itself")
    check_port_free(host, port)  # before the ingest process warms up, with a clear error
    server = worker_server(host, port, workers, access_log=access_log)
    # Spawn, never fork: this process runs the ingest's threads and DuckDB, and a fork
    # copies whatever lock another thread holds at that moment.
    multiprocessing.set_start_method("spawn", force=True)
    ingest = IngestProcess(settings)
    ingest.start()
    try:
        server.serve()
    finally:
        ingest.stop()
