"""The candidate index: a precomputed lookup from a placement to the campaigns that may fill it.

Built once per catalog version, then only read. Campaigns are bucketed by slot shape (format
and the set of sizes a placement takes): each shape holds the live campaigns with an
approved creative of that format and one of those sizes, with exactly those creatives, so a
decision never looks at a campaign that cannot fit the slot. Shapes repeat across thousands
of placements, so buckets are shared. Time-dependent filters (flight, daypart) and ranking
are pre-applied per shape and time block, and country per (shape, country), by the decider
(:mod:`backbeat.serving.slate`); site, genre, device and the floor are checked in rank order
during the walk, on the few candidates a decision looks at.

:class:`IndexHolder` keeps the current index and swaps in a rebuilt one, off the hot path,
when the catalog's version changes.
"""

from __future__ import annotations

import logging
import threading
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from backbeat.domain.audience import Audience
from backbeat.domain.campaign import CampaignStatus
from backbeat.domain.creative import Creative, ReviewStatus
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.serving.entries import CampaignEntry, Candidate
from backbeat.serving.localtime import zone
from backbeat.store.catalog.protocol import ServingSnapshot

log = logging.getLogger(__name__)

Shape = tuple[AdFormat, frozenset[Size]]


class PlacementEntry:
    """One active placement, its site, and the candidates of its shape."""

    __slots__ = ("fits", "id", "placement", "shape", "site")

    def __init__(
        self, placement: Placement, site: Site, shape: Shape, fits: tuple[Candidate, ...]
    ) -> None:
        self.placement = placement
        self.site = site
        self.id: int = placement.id if placement.id is not None else 0
        self.shape = shape
        self.fits = fits  # campaigns past the format_size filter, by campaign id


class CandidateIndex:
    """An immutable view of the live catalog, shaped for decisions (see the module doc)."""

    def __init__(
        self,
        version: int,
        built_at: datetime,
        campaigns: dict[int, CampaignEntry],
        placements: dict[int, PlacementEntry],
        audiences: dict[int, Audience],
    ) -> None:
        self.version = version
        self.built_at = built_at
        self.campaigns = campaigns
        self.placements = placements
        self.audiences = audiences

    @property
    def campaign_count(self) -> int:
        return len(self.campaigns)

    @classmethod
    def build(cls, snapshot: ServingSnapshot, now: datetime) -> CandidateIndex:
        """Index the snapshot. Keeps only approved creatives of active campaigns whose flight
        has not ended by `now` (one that starts later stays, to go live on time)."""
        creatives: dict[int, list[Creative]] = defaultdict(list)
        for cr in snapshot.creatives:
            if cr.review_status is ReviewStatus.APPROVED and cr.id is not None:
                creatives[cr.campaign_id].append(cr)
        moment = now.timestamp()
        entries: dict[int, CampaignEntry] = {}
        for camp in snapshot.campaigns:
            if camp.id is None or camp.status is not CampaignStatus.ACTIVE:
                continue
            own = creatives.get(camp.id)
            if not own or camp.end.timestamp() <= moment:
                continue
            try:
                zone(camp.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                log.warning("campaign %s has unknown time zone %r; skipped", camp.id, camp.timezone)
                continue
            own.sort(key=lambda c: c.id or 0)
            entries[camp.id] = CampaignEntry(camp, own)

        by_slot = _by_format_size(entries)
        sites = {s.id: s for s in snapshot.sites if s.id is not None}
        shapes: dict[Shape, tuple[Candidate, ...]] = {}
        placements: dict[int, PlacementEntry] = {}
        for pl in snapshot.placements:
            site = sites.get(pl.site_id)
            if pl.id is None or not pl.active or site is None:
                continue
            shape: Shape = (pl.format, frozenset(pl.sizes))
            fits = shapes.get(shape)
            if fits is None:
                fits = shapes[shape] = _fits(by_slot, shape)
            placements[pl.id] = PlacementEntry(pl, site, shape, fits)
        audiences = {a.id: a for a in snapshot.audiences if a.id is not None}
        return cls(snapshot.version, now, entries, placements, audiences)


def _by_format_size(
    entries: dict[int, CampaignEntry],
) -> dict[tuple[AdFormat, Size], list[tuple[CampaignEntry, Creative]]]:
    """(format, size) -> the (campaign, creative) pairs a slot of that format and size may
    show, honouring the campaign's own format and size targeting."""
    out: dict[tuple[AdFormat, Size], list[tuple[CampaignEntry, Creative]]] = defaultdict(list)
    for e in entries.values():
        for cr in e.creatives:
            if (e.formats is None or cr.format in e.formats) and (
                e.sizes is None or cr.size in e.sizes
            ):
                out[(cr.format, cr.size)].append((e, cr))
    return out


def _fits(
    by_slot: dict[tuple[AdFormat, Size], list[tuple[CampaignEntry, Creative]]], shape: Shape
) -> tuple[Candidate, ...]:
    fmt, sizes = shape
    found: dict[int, tuple[CampaignEntry, list[Creative]]] = {}
    for size in sizes:
        for e, cr in by_slot.get((fmt, size), ()):
            slot = found.get(e.id)
            if slot is None:
                found[e.id] = (e, [cr])
            else:
                slot[1].append(cr)
    return tuple(
        Candidate(e, tuple(sorted(crs, key=lambda c: c.id or 0)))
        for _, (e, crs) in sorted(found.items())
    )


class SnapshotSource(Protocol):
    """The part of the Catalog the holder needs."""

    def version(self) -> int: ...

    def serving_snapshot(self) -> ServingSnapshot: ...


class IndexHolder:
    """Holds the current :class:`CandidateIndex` and rebuilds it when the catalog changes.

    :meth:`current` is the hot-path call: it only reads the clock and, at most once every
    `poll_ms`, starts a background thread that asks the catalog for its version and, if it
    moved, builds a new index and swaps it in with one reference assignment. A failed rebuild
    is logged and the old index keeps serving. With ``background=False`` the poll runs
    inline instead (for single-threaded tools and tests).

    Preparers (:meth:`add_preparer`) run with each new index before it is swapped in, on the
    thread that built it: the decider's slate builder uses this so that no request pays for
    ranking the new index's slates. A preparer that raises is logged; the swap goes ahead.
    """

    def __init__(
        self,
        source: SnapshotSource,
        clock: Callable[[], datetime],
        *,
        poll_ms: int = 1000,
        background: bool = True,
    ) -> None:
        if poll_ms < 1:
            raise ValueError("poll_ms must be at least 1")
        self._source = source
        self._clock = clock
        self._poll = timedelta(milliseconds=poll_ms)
        self._background = background
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_error: BaseException | None = None
        self._preparers: tuple[Callable[[CandidateIndex], object], ...] = ()
        now = clock()
        self._index = CandidateIndex.build(source.serving_snapshot(), now)
        self._next_poll = now + self._poll

    @property
    def index(self) -> CandidateIndex:
        return self._index

    def current(self) -> CandidateIndex:
        """The index to decide with; may kick off a rebuild but never waits for one."""
        now = self._clock()
        if now < self._next_poll:
            return self._index
        with self._lock:
            if now < self._next_poll or self._thread is not None:
                return self._index
            self._next_poll = now + self._poll
            if self._background:
                self._thread = threading.Thread(
                    target=self._poll_once, name="backbeat-index", daemon=True
                )
                self._thread.start()
                return self._index
        self._rebuild(False)
        return self._index

    def refresh(self, *, force: bool = False) -> bool:
        """Poll now, synchronously; rebuild if the version moved (or `force`). True if
        a new index was swapped in."""
        return self._rebuild(force)

    def add_preparer(self, prepare: Callable[[CandidateIndex], object]) -> None:
        """Run `prepare(new_index)` before each future swap."""
        with self._lock:
            self._preparers = (*self._preparers, prepare)

    def remove_preparer(self, prepare: Callable[[CandidateIndex], object]) -> None:
        """Stop running `prepare` (a no-op if it was not added)."""
        with self._lock:
            self._preparers = tuple(p for p in self._preparers if p != prepare)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for an in-flight background rebuild (for tests and shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _poll_once(self) -> None:
        try:
            self._rebuild(False)
        finally:
            self._thread = None

    def _rebuild(self, force: bool) -> bool:
        try:
            if not force and self._source.version() == self._index.version:
                return False
            snapshot = self._source.serving_snapshot()
            fresh = CandidateIndex.build(snapshot, self._clock())
        except Exception as exc:  # keep serving the old index; the next poll retries
            log.exception("rebuilding the serving index failed")
            self.last_error = exc
            return False
        for prepare in self._preparers:
            try:
                prepare(fresh)
            except Exception:  # the new index serves anyway; requests build what is missing
                log.exception("preparing the new serving index failed")
        self._index = fresh
        self.last_error = None
        return True
