"""A slate: the candidates of one slot shape (format and sizes), ranked for one time block.

Within a block of `block_s` seconds (a divisor of 900, so a block never straddles a change of
local hour or date in any zone), flight and daypart are fixed for every campaign except those
whose flight starts or ends inside the block; those stay on the slate flagged for a
per-request check. The block also fixes the CTR each candidate is ranked with: ranking reads
creative stats once per block instead of on every request, the way production ad servers
refresh CTR predictions periodically rather than per impression.

Candidates are sorted by their score bound (expected revenue per impression, times
:data:`~backbeat.serving.ranking.REACH_BOOST` for awareness campaigns, which may not have
reached the visitor yet) and split into groups of equal bound, so the decider can walk them
best-first and stop at the first group that cannot beat what it already has. A slate is
shared by every placement of the shape, and narrowed per visitor country
(:func:`for_country`); placement-specific filters (site, genre, floor) and the other request
filters are applied during the walk.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from itertools import compress
from operator import attrgetter, itemgetter, ne
from typing import overload

from backbeat.serving.entries import CampaignEntry, Candidate
from backbeat.serving.localtime import LocalTimes
from backbeat.serving.ranking import REACH_BOOST, campaign_ctr, ecpm_micros, expected_revenue
from backbeat.serving.stats import CreativeStats
from backbeat.serving.targeting import daypart_ok

_CAND_ID = attrgetter("cand.id")
_BOUND = attrgetter("bound")
_COUNTRIES = attrgetter("entry.countries")
_CHUNK = 256  # candidates ranked between two calls of build_slate's `pause`


def equal_runs(values: Sequence[float]) -> list[tuple[int, int]]:
    """The (start, end) index ranges of the runs of equal values, in order.

    Built for every slate (some 800 per block at 10,000 campaigns), so the comparisons run
    in C (map, compress) rather than in a Python loop."""
    n = len(values)
    if not n:
        return []
    cuts = list(compress(range(1, n), map(ne, values, values[1:])))
    return list(zip([0, *cuts], [*cuts, n], strict=True))


class Ranked:
    """One candidate on a slate."""

    __slots__ = ("bound", "cand", "check_flight", "ctr", "ecpm", "entry", "score")

    def __init__(
        self, cand: Candidate, ctr: float, score: float, bound: float, check_flight: bool
    ) -> None:
        e = cand.entry
        self.cand = cand
        self.entry: CampaignEntry = e
        self.ctr = ctr  # the CTR ranked with (CPC only; 0 for CPM)
        self.score = score  # expected revenue per impression (micros)
        self.bound = bound  # the most it can score for any visitor
        self.ecpm = ecpm_micros(e.cpc, e.bid, ctr)  # compared with the placement floor
        self.check_flight = check_flight  # the flight starts or ends inside the block

    def __repr__(self) -> str:
        return f"Ranked(campaign={self.cand.id}, score={self.score:.3f}, bound={self.bound:.3f})"


class Picked(Sequence[Ranked]):
    """Some of a base slate's candidates, by position, in the base slate's order.

    A country slate is one of these rather than a list of its own: some 700 country slates
    are built per block at 10,000 campaigns, and the garbage collector's young passes walk
    every reference a new list holds (a list per country slate made those passes take
    tens of milliseconds, and the next generation's about 90, while the next block was
    prepared). This holds two references and an array of integers, which it never walks."""

    __slots__ = ("_base", "_positions")

    def __init__(self, base: list[Ranked], positions: array[int]) -> None:
        self._base = base
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, i: int) -> Ranked: ...

    @overload
    def __getitem__(self, i: slice) -> list[Ranked]: ...

    def __getitem__(self, i: int | slice) -> Ranked | list[Ranked]:
        base = self._base
        if isinstance(i, slice):
            return [base[j] for j in self._positions[i]]
        return base[self._positions[i]]

    def __iter__(self) -> Iterator[Ranked]:
        base = self._base
        return (base[j] for j in self._positions)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Picked | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class Slate:
    """Ranked candidates, their equal-bound groups, and the CTR each CPC candidate was
    ranked with. `groups` is a tuple of tuples of integers, which the garbage collector
    stops tracking."""

    __slots__ = ("_bounds", "_by_country", "block", "ctr", "groups", "ranked")

    def __init__(
        self,
        block: int,
        ranked: list[Ranked] | Picked,
        ctr: dict[int, float],
        bounds: Sequence[float] | None = None,
    ) -> None:
        self.block = block
        self.ranked = ranked
        self.ctr = ctr
        if bounds is None:
            bounds = [r.bound for r in ranked]
        self.groups = tuple(equal_runs(bounds))
        # Kept for for_country(), which picks its slates' bounds from here by position. A
        # list becomes an array (the collector walks a list); a country slate's tuple of
        # bounds, or its base's array, is kept as it is rather than copied.
        self._bounds: Sequence[float] = (
            bounds if isinstance(bounds, tuple | array) else array("d", bounds)
        )
        # Positions of the candidates open to every country, and of those restricted to each
        # country: built on the first for_country() call, shared by all of this slate's countries.
        self._by_country: tuple[array[int], dict[str, array[int]]] | None = None

    def members(self, lo: int, hi: int) -> list[Ranked]:
        """The candidates at positions `lo` to `hi`, as a new list."""
        return self.ranked[lo:hi]

    def _country_positions(self) -> tuple[array[int], dict[str, array[int]]]:
        if self._by_country is None:
            every = list(map(_COUNTRIES, self.ranked))  # attribute reads in C
            open_to_all = [i for i, countries in enumerate(every) if countries is None]
            by_country: dict[str, list[int]] = {}
            if len(open_to_all) < len(every):
                for i, countries in enumerate(every):
                    if countries is not None:
                        for c in countries:
                            by_country.setdefault(c, []).append(i)
            self._by_country = (
                array("i", open_to_all),
                {c: array("i", ps) for c, ps in by_country.items()},
            )
        return self._by_country


def build_slate(
    candidates: Sequence[Candidate],
    *,
    block: int,
    block_s: int,
    local_times: LocalTimes,
    stats: CreativeStats,
    pause: Callable[[], None] | None = None,
    previous: Slate | None = None,
) -> Slate:
    """Rank `candidates` for the block starting at ``block * block_s`` epoch seconds.

    `pause` (if given) is called every few hundred candidates: a builder thread yields the
    GIL there. A candidate ranked exactly as on `previous` (the same candidates' slate for
    an earlier block) reuses its :class:`Ranked`: most do from one block to the next, and
    not allocating ~100,000 objects a minute spares the garbage collector's young passes
    (each over every object allocated since the last, some 60 ms at that size)."""
    t0 = float(block * block_s)
    t1 = t0 + block_s
    ranked: list[Ranked] = []
    ctrs: dict[int, float] = {}
    before = {r.cand.id: r for r in previous.ranked} if previous is not None else {}
    step = _CHUNK if pause is not None else max(1, len(candidates))
    for lo in range(0, len(candidates), step):
        for cand in candidates[lo : lo + step]:
            e = cand.entry
            if e.end <= t0 or e.start >= t1:
                continue
            if (e.days is not None or e.hours is not None) and not daypart_ok(
                e, local_times.get(e.tz, t0)
            ):
                continue
            if e.cpc:
                ctr = ctrs[cand.id] = campaign_ctr(stats, cand.creatives)
            else:
                ctr = 0.0  # a CPM score does not depend on CTR
            check_flight = not (e.start <= t0 and e.end >= t1)
            r = before.get(cand.id)
            if r is None or r.cand is not cand or r.ctr != ctr or r.check_flight != check_flight:
                score = expected_revenue(e.cpc, e.bid, ctr)
                bound = score * REACH_BOOST if e.awareness else score
                r = Ranked(cand, ctr, score, bound, check_flight)
            ranked.append(r)
        if pause is not None:
            pause()
    # Best bound first, ties by campaign id: two stable sorts with C-level keys.
    ranked.sort(key=_CAND_ID)
    ranked.sort(key=_BOUND, reverse=True)
    return Slate(block, ranked, ctrs)


def for_country(slate: Slate, country: str | None) -> Slate:
    """The slate's candidates that accept visitors from `country`, in the same order.

    Country targeting is the most selective request filter, so the decider keeps one such
    slate per (shape, country) and block: fewer candidates to skip during the walk."""
    open_to_all, by_country = slate._country_positions()
    only_here = by_country.get(country) if country is not None else None
    # Both arrays ascend, so sorting their concatenation is one merge of two runs.
    positions = array("i", sorted(open_to_all + only_here)) if only_here else open_to_all
    ranked = slate.ranked
    if not isinstance(ranked, list):  # a country slate of a country slate: flatten it
        ranked = list(ranked)
    picked = Picked(ranked, positions)
    if len(positions) == len(ranked):  # open to every country: the same slate
        return Slate(slate.block, picked, slate.ctr, slate._bounds)
    bounds = itemgetter(*positions)(slate._bounds) if len(positions) > 1 else (
        [slate._bounds[i] for i in positions]
    )
    return Slate(slate.block, picked, slate.ctr, bounds)
