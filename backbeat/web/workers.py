"""Several serving processes: ``backbeat serve --workers N`` (``BACKBEAT_WORKERS``).

One Python process serves one core's worth of requests (the GIL). With N > 1 the work is
split so that every serving process is stateless apart from replicas:

- **N serving workers** (uvicorn worker processes sharing the listening socket) decide
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
import os
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import uvicorn

from backbeat.config import CountersBackend, Settings, ensure_secret
from backbeat.store.events.handoff import RowCodec, SpoolSink
from backbeat.store.events.ipc import derive_authkey
from backbeat.store.events.remote import RemoteEventStore, Subscription
from backbeat.store.events.service import EventService
from backbeat.store.events.spool_format import EVENT_CODEC
from backbeat.store.events.spool_reader import SpoolReader
from backbeat.tracking.consumer import HitConsumer
from backbeat.tracking.effects import Effects, RecordingCounters, apply_effects
from backbeat.tracking.hits import Counting, Hit, HitCodec
from backbeat.web.conversion_routes import CONVERSION_RPC, record_remote
from backbeat.web.ingest import AsyncIngest
from backbeat.web.runtime import Runtime, open_runtime, settle_heap

log = logging.getLogger(__name__)


def hits_dir(settings: Settings) -> Path:
    return settings.handoff_dir / "hits"


def decisions_dir(settings: Settings) -> Path:
    return settings.handoff_dir / "events"


class IngestProcess:
    """The event store's owner and the single counter of every worker's hits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = ensure_secret(settings)
        self.rt: Runtime = open_runtime(self.settings)
        self.rt.serves = False
        self.service: EventService | None = None
        self.consumer: HitConsumer | None = None
        self._readers: list[SpoolReader[object]] = []

    def start(self) -> None:
        """Replay and warm (as one process does), then serve the socket and start counting."""
        rt = self.rt
        rt.start()
        service = EventService(
            rt.store, self.settings.ingest_socket, derive_authkey(rt.secret)
        )
        service.handle(CONVERSION_RPC, lambda conv: record_remote(rt, conv))
        recorder = RecordingCounters(rt.counters)
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
        )
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
    rt = open_runtime(settings, store=store, writer=writer)
    rt.hit_sink = hit_sink
    rt.hits = AsyncIngest(hit_sink)
    shared = settings.counters_backend is not CountersBackend.MEMORY

    def on_message(message: object) -> None:
        if not isinstance(message, Effects):
            log.warning("worker: ignoring an effects message of type %s", type(message))
            return
        # Shared counters (Redis) already hold the ingest process's writes: only the
        # creative CTR stats, which live in each process, need the replay.
        apply_effects(message, rt.counters, rt.stats, counters_too=not shared)

    rt.subscription = Subscription(settings.ingest_socket, authkey, on_message)
    return rt


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening socket with SO_REUSEPORT, one per worker: the kernel spreads new
    connections evenly over the workers' sockets. (One socket shared by every worker lets
    whichever worker wakes first accept most keep-alive connections, so a load generator's
    64 connections can all land on one worker while the other idles.)"""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def _worker_main(config: uvicorn.Config) -> None:  # pragma: no cover - runs in a child
    config.configure_logging()  # a spawned child starts with Python's default logging
    sock = listening_socket(config.host, config.port, config.backlog)
    uvicorn.Server(config).run(sockets=[sock])


class WorkerPool:
    """Runs `n` uvicorn worker processes, each on its own SO_REUSEPORT socket, restarts a
    worker that dies, and stops them all on SIGINT/SIGTERM. (uvicorn's own supervisor
    shares one socket between its workers; see :func:`listening_socket`.)"""

    def __init__(self, config: uvicorn.Config, n: int, *, max_quick_deaths: int = 3) -> None:
        self.config = config
        self.n = n
        self.max_quick_deaths = max_quick_deaths
        self._ctx = multiprocessing.get_context("spawn")
        self._procs: list[BaseProcess] = []
        self._started: list[float] = []
        self._stop = threading.Event()

    def _spawn(self) -> BaseProcess:
        proc = self._ctx.Process(target=_worker_main, args=(self.config,), name="backbeat-worker")
        proc.start()
        return proc

    def run(self) -> None:
        """Serve until a signal (or until workers keep dying right after they start)."""
        # A port taken by another program fails here, in the supervisor, with a clear error.
        listening_socket(self.config.host, self.config.port).close()
        previous = {
            sig: signal.signal(sig, lambda *_: self._stop.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        quick_deaths = 0
        try:
            for _ in range(self.n):
                self._procs.append(self._spawn())
                self._started.append(time.monotonic())
            while not self._stop.wait(0.5):
                for i, proc in enumerate(self._procs):
                    if proc.is_alive():
                        continue
                    quick = time.monotonic() - self._started[i] < 10
                    quick_deaths = quick_deaths + 1 if quick else 0
                    log.error("worker %s exited with %s", proc.pid, proc.exitcode)
                    if quick_deaths >= self.max_quick_deaths:
                        log.error("workers keep failing at start-up; stopping")
                        self._stop.set()
                        break
                    self._procs[i] = self._spawn()
                    self._started[i] = time.monotonic()
        finally:
            for proc in self._procs:
                if proc.is_alive() and proc.pid is not None:
                    os.kill(proc.pid, signal.SIGTERM)  # graceful: each seals its spools
            for proc in self._procs:
                proc.join(30)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve_workers(
    settings: Settings, *, host: str, port: int, workers: int, access_log: bool = False
) -> None:
    """Run the ingest process here and `workers` serving workers (see :class:`WorkerPool`).
    Returns after SIGINT/SIGTERM, once the workers have stopped and the ingest process has
    stored everything they spooled."""
    if workers < 2:
        raise ValueError("serve_workers needs at least 2 workers; one process serves itself")
    config = uvicorn.Config(
        "backbeat.web.main:worker_app_factory",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        access_log=access_log,
    )
    ingest = IngestProcess(settings)
    ingest.start()
    try:
        WorkerPool(config, workers).run()
    finally:
        ingest.stop()
