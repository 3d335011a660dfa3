"""The slates a decider ranks with, per (shape, country), for the current index and block.

Slates change with the time block (see :mod:`backbeat.serving.slate`) and with the index.
A request in a block nothing was prepared for builds what it needs itself, the first time
each (shape, country) is asked for. Building them all at a block's first second stalls
whoever serves it (about half a second for 10,000 campaigns), so :meth:`SlateCache.prebuild`
builds a block's slates ahead of it, off the request path (the
:class:`~backbeat.serving.prebuild.SlateBuilder` thread calls it a few seconds before each
block starts, and the index holder before it swaps in a new index). The first request of
that block then adopts the prepared set with one reference assignment.

A prepared slate is what a request in its block would build, with one difference: the CTR
a CPC candidate is ranked with comes from the creative stats as they were when it was
built, a few seconds before the block (10 s with the builder's default lead), not at the
block's first request.

Thread-safety: requests only add to a :class:`SlateSet`, and the builder changes none that
is current or prepared; every swap is one reference assignment. :meth:`SlateCache.release`
empties only sets that no request can adopt again (a request still holding one finds its
slates gone and builds them). Two requests that race on the same miss build the same
slate twice. Prebuilds are serialised by a lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from backbeat.serving.entries import Candidate
from backbeat.serving.index import CandidateIndex, PlacementEntry, Shape
from backbeat.serving.localtime import LocalTimes
from backbeat.serving.slate import Slate, build_slate, for_country
from backbeat.serving.stats import CreativeStats

log = logging.getLogger(__name__)

SlateKey = tuple[Shape, str | None]


class SlateSet:
    """The slates of one index for one block: the base slate of each shape built so far,
    the (shape, country) slates requests have used, and those prepared ahead of use."""

    __slots__ = ("bases", "block", "index", "prepared", "slates")

    def __init__(
        self,
        index: CandidateIndex,
        block: int,
        bases: dict[Shape, Slate] | None = None,
        prepared: dict[SlateKey, Slate] | None = None,
    ) -> None:
        self.index = index
        self.block = block
        self.bases: dict[Shape, Slate] = bases if bases is not None else {}
        self.prepared: dict[SlateKey, Slate] = prepared if prepared is not None else {}
        self.slates: dict[SlateKey, Slate] = {}  # the ones asked for in this block


class SlateCache:
    """The current :class:`SlateSet`, and those prepared for coming blocks.

    `builds` counts the slates built on the request path (base and country slates alike);
    `prebuilt` counts those built ahead by :meth:`prebuild`."""

    def __init__(self, *, block_s: int, local_times: LocalTimes, stats: CreativeStats) -> None:
        self.block_s = block_s
        self._local_times = local_times
        self._stats = stats
        self._current: SlateSet | None = None
        self._ready: dict[int, SlateSet] = {}  # block -> prepared set; replaced, never mutated
        self._prebuild_lock = threading.Lock()
        self._fill_lock = threading.Lock()
        # Sets no longer in use, left for release() to free a few slates at a time.
        self._retired: list[SlateSet] = []
        self.retire_later = False
        self.builds = 0
        self.prebuilt = 0

    @property
    def current(self) -> SlateSet | None:
        """The set requests use now (None before the first request)."""
        return self._current

    # the hot path ------------------------------------------------------------------------
    def get(self, index: CandidateIndex, pe: PlacementEntry, country: str | None,
            block: int) -> Slate:
        """The slate of the placement's shape for `country` in `block`, built now if nothing
        was prepared."""
        cur = self._current
        if cur is None or cur.block != block or cur.index is not index:
            cur = self._advance(index, block)
        slate = cur.slates.get((pe.shape, country))
        if slate is None:
            slate = self._fill(cur, pe.shape, pe.fits, country)
        return slate

    def _advance(self, index: CandidateIndex, block: int) -> SlateSet:
        ready = self._ready.get(block)
        cur = ready if ready is not None and ready.index is index else SlateSet(index, block)
        old = self._current
        if old is not None and self.retire_later:
            # Freeing a set's ~100,000 objects takes tens of ms, all of it holding the GIL:
            # not on a request. The builder frees it in slices (release()).
            self._retired.append(old)
        self._current = cur
        return cur

    def _fill(
        self, cur: SlateSet, shape: Shape, fits: tuple[Candidate, ...], country: str | None
    ) -> Slate:
        key = (shape, country)
        slate = cur.prepared.get(key)
        if slate is None:
            base = cur.bases.get(shape)
            if base is None:
                base = cur.bases[shape] = self._build(fits, cur.block)
                self.builds += 1
            slate = for_country(base, country)
            self.builds += 1
        with self._fill_lock:  # the builder copies this dict's keys under the same lock
            cur.slates[key] = slate
        return slate

    def _build(
        self,
        fits: tuple[Candidate, ...],
        block: int,
        pause: Callable[[], None] | None = None,
        previous: Slate | None = None,
    ) -> Slate:
        return build_slate(
            fits,
            block=block,
            block_s=self.block_s,
            local_times=self._local_times,
            stats=self._stats,
            pause=pause,
            previous=previous,
        )

    # ahead of time -----------------------------------------------------------------------
    def is_ready(self, index: CandidateIndex, block: int) -> bool:
        """Whether a request in `block` on `index` would find its slates prepared (or in use)."""
        cur = self._current
        if cur is not None and cur.block == block and cur.index is index:
            return True
        ready = self._ready.get(block)
        return ready is not None and ready.index is index

    def prebuild(
        self, index: CandidateIndex, block: int, *, pause: Callable[[], None] | None = None
    ) -> int:
        """Build `block`'s slates on `index` and publish them for its first request: the base
        slate of every shape, and each (shape, country) slate requests asked for in the
        current set. `pause` is called after every slate and every few hundred candidates:
        the builder thread sleeps there now and then, so that the event loop gets the GIL
        back. Returns how many slates were built; 0 if the block was ready already."""
        with self._prebuild_lock:
            if self.is_ready(index, block):
                return 0
            started = time.perf_counter()
            shapes: dict[Shape, tuple[Candidate, ...]] = {}
            for pe in index.placements.values():
                shapes.setdefault(pe.shape, pe.fits)
            countries: dict[Shape, list[str | None]] = {}
            cur = self._current
            if cur is not None:
                with self._fill_lock:
                    used = list(cur.slates)
                for shape, country in used:
                    countries.setdefault(shape, []).append(country)
            # The current block's slates, to take over what is unchanged (same index only).
            earlier = cur.bases if cur is not None and cur.index is index else {}
            bases: dict[Shape, Slate] = {}
            prepared: dict[SlateKey, Slate] = {}
            for shape, fits in shapes.items():
                base = bases[shape] = self._build(fits, block, pause, earlier.get(shape))
                for country in countries.get(shape, ()):
                    prepared[(shape, country)] = for_country(base, country)
                    if pause is not None:
                        pause()
            built = len(bases) + len(prepared)
            # Keep the set of the block before (a request may still arrive in it) and later.
            old = self._ready
            ready = {b: s for b, s in old.items() if b >= block - 1 and b != block}
            ready[block] = SlateSet(index, block, bases, prepared)
            self._ready = ready
            if self.retire_later:
                self._retired.extend(s for b, s in old.items() if ready.get(b) is not s)
            self.prebuilt += built
        log.debug(
            "prebuilt %d slates for block %d (index v%s) in %.0f ms",
            built, block, index.version, (time.perf_counter() - started) * 1000,
        )
        return built

    def release(self, pause: Callable[[], None] | None = None) -> int:
        """Free the retired sets that are neither current nor prepared, one slate at a time,
        calling `pause` after each. Returns how many sets were freed; the others stay
        retired for a later call."""
        with self._prebuild_lock:  # sets prepared for blocks before the current one are done
            cur = self._current
            stale = [s for b, s in self._ready.items() if cur is not None and b < cur.block]
            if cur is not None and stale:
                self._ready = {b: s for b, s in self._ready.items() if b >= cur.block}
                self._retired.extend(stale)
        keep: list[SlateSet] = []
        done: list[SlateSet] = []  # held to the end, so no id below is reused meanwhile
        seen: set[int] = set()
        while self._retired:
            s = self._retired.pop()
            if id(s) in seen:  # a set adopted twice is retired twice
                continue
            seen.add(id(s))
            if s is self._current or any(s is r for r in self._ready.values()):
                keep.append(s)
                continue
            for slates in (s.slates, s.prepared, s.bases):
                while slates:
                    slates.popitem()  # the last reference to a list frees its objects
                    if pause is not None:
                        pause()
            done.append(s)
        self._retired.extend(keep)
        return len(done)

    def drop_retired(self) -> None:
        """Forget the retired sets at once (when no builder will release them)."""
        self._retired = []
