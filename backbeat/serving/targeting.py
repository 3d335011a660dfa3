"""The targeting filters, each a named predicate, and the ordered explanation of a no-fill.

Order (a no-fill counts each campaign under the first filter it fails, in this order):

1. ``format_size``   a creative fits the placement's format and one of its sizes
2. ``flight``        the campaign is active and inside its flight window
3. ``genre``, ``country``, ``device``, ``daypart`` (days/hours in the campaign's zone),
   ``site`` (include/exclude lists), ``audience`` (retargeting membership)
4. ``budget_total``, ``budget_daily`` (the daily bucket is the campaign's local date)
5. ``frequency_cap`` (exposures of this visitor within the cap window)
6. ``pacing``        even delivery throttles a campaign ahead of schedule
7. ``floor``         CPM bid, or CPC bid x predicted CTR x 1000, reaches the placement floor
8. ``page_duplicate`` the campaign already fills another slot of the same page

The decider does not run them one by one over every campaign: the index applies 1 at build
time, the slate applies flight and daypart per time block and country per (shape, country),
and the rest run lazily in rank order on the few candidates a decision looks at (see
:mod:`backbeat.serving.decide`), using these predicates (genre, country, device and site
fused into :func:`placement_ok`). A no-fill is explained by :func:`explain`, which runs every
predicate in order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from backbeat.domain.campaign import CampaignStatus
from backbeat.domain.creative import Creative, ReviewStatus
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.taxonomy import DeviceType
from backbeat.serving.entries import CampaignEntry, Candidate
from backbeat.serving.localtime import LocalTime
from backbeat.serving.pacing import participation
from backbeat.serving.ranking import ecpm_micros
from backbeat.serving.request import AdRequest
from backbeat.store.counters.protocol import Spend


class Context(Protocol):
    """What a predicate may read about the request being decided."""

    req: AdRequest
    epoch: float
    site: Site
    placement: Placement
    rng: random.Random
    exclude: Collection[int]
    pacing_memo: dict[int, bool]

    def local(self, entry: CampaignEntry) -> LocalTime: ...

    def spend(self, cand: Candidate) -> Spend: ...

    def exposures(self, cand: Candidate) -> int: ...

    def ctr(self, cand: Candidate) -> float: ...

    def prefetch(self, cands: Sequence[Candidate]) -> None: ...


# Static checks, shared by the index build and the predicates -------------------------------


def fitting_creatives(entry: CampaignEntry, placement: Placement) -> tuple[Creative, ...]:
    """The campaign's approved creatives that fit the placement (format, one of its sizes),
    within the campaign's own format/size targeting."""
    if entry.formats is not None and placement.format not in entry.formats:
        return ()
    return tuple(
        c
        for c in entry.creatives
        if c.review_status is ReviewStatus.APPROVED
        and c.format is placement.format
        and c.size in placement.sizes
        and (entry.sizes is None or c.size in entry.sizes)
    )


def genre_ok(entry: CampaignEntry, site: Site) -> bool:
    return entry.genres is None or not entry.genres.isdisjoint(site.genres)


def country_ok(entry: CampaignEntry, country: str | None) -> bool:
    return entry.countries is None or country in entry.countries


def device_ok(entry: CampaignEntry, device: DeviceType) -> bool:
    return entry.devices is None or device in entry.devices


def daypart_ok(entry: CampaignEntry, local: LocalTime) -> bool:
    return (entry.days is None or local.weekday in entry.days) and (
        entry.hours is None or local.hour in entry.hours
    )


def site_ok(entry: CampaignEntry, site_id: int | None) -> bool:
    if entry.sites_include is not None and site_id not in entry.sites_include:
        return False
    return entry.sites_exclude is None or site_id not in entry.sites_exclude


def placement_ok(entry: CampaignEntry, site: Site, country: str | None, device: DeviceType) -> bool:
    """The static part of filter 3 (genre, country, device, site) in one call for the hot
    path; the same answer as those four predicates together."""
    return (
        (entry.genres is None or not entry.genres.isdisjoint(site.genres))
        and (entry.countries is None or country in entry.countries)
        and (entry.devices is None or device in entry.devices)
        and (entry.sites_include is None or site.id in entry.sites_include)
        and (entry.sites_exclude is None or site.id not in entry.sites_exclude)
    )


def in_flight(entry: CampaignEntry, epoch: float) -> bool:
    return entry.campaign.status is CampaignStatus.ACTIVE and entry.start <= epoch < entry.end


# The named predicates ----------------------------------------------------------------------


def format_size(c: Candidate, ctx: Context) -> bool:
    return bool(c.creatives)


def flight(c: Candidate, ctx: Context) -> bool:
    return in_flight(c.entry, ctx.epoch)


def genre(c: Candidate, ctx: Context) -> bool:
    return genre_ok(c.entry, ctx.site)


def country(c: Candidate, ctx: Context) -> bool:
    return country_ok(c.entry, ctx.req.country)


def device(c: Candidate, ctx: Context) -> bool:
    return device_ok(c.entry, ctx.req.device)


def daypart(c: Candidate, ctx: Context) -> bool:
    e = c.entry
    return (e.days is None and e.hours is None) or daypart_ok(e, ctx.local(e))


def site(c: Candidate, ctx: Context) -> bool:
    return site_ok(c.entry, ctx.site.id)


def audience(c: Candidate, ctx: Context) -> bool:
    """Retargeting: the visitor must be in one of the targeted audiences. Anonymous (DNT/GPC)
    visitors are in none."""
    wanted = c.entry.audiences
    if wanted is None:
        return True
    req = ctx.req
    return any(req.in_audience(a) for a in wanted)


def budget_total(c: Candidate, ctx: Context) -> bool:
    """One more billable event (impression for CPM, click for CPC) must fit the total budget."""
    e = c.entry
    return ctx.spend(c).total_micros + e.unit_price <= e.budget_total


def budget_daily(c: Candidate, ctx: Context) -> bool:
    """The same for today's budget, "today" being the campaign's local date."""
    e = c.entry
    return e.budget_daily is None or ctx.spend(c).today_micros + e.unit_price <= e.budget_daily


def frequency_cap(c: Candidate, ctx: Context) -> bool:
    """At most `cap` impressions per visitor in the cap window. Anonymous visitors cannot be
    counted, so the cap does not apply to them."""
    cap = c.entry.cap
    return cap is None or ctx.req.visitor is None or ctx.exposures(c) < cap


def pacing(c: Candidate, ctx: Context) -> bool:
    """Even pacing: take part with the participation probability (one RNG draw, only when the
    campaign is ahead of schedule). The outcome is memoised for the rest of the request."""
    e = c.entry
    if not e.even:
        return True
    memo = ctx.pacing_memo
    done = memo.get(e.id)
    if done is not None:
        return done
    p = participation(e, ctx.spend(c), ctx.epoch, ctx.local(e))
    ok = p >= 1.0 or ctx.rng.random() < p
    memo[e.id] = ok
    return ok


def floor(c: Candidate, ctx: Context) -> bool:
    e = c.entry
    return ecpm_micros(e.cpc, e.bid, ctx.ctr(c)) >= ctx.placement.floor_cpm_micros


def page_duplicate(c: Candidate, ctx: Context) -> bool:
    return c.id not in ctx.exclude


@dataclass(frozen=True)
class Filter:
    name: str
    test: Callable[[Candidate, Context], bool]
    needs_counters: bool = False


FILTERS: tuple[Filter, ...] = (
    Filter("format_size", format_size),
    Filter("flight", flight),
    Filter("genre", genre),
    Filter("country", country),
    Filter("device", device),
    Filter("daypart", daypart),
    Filter("site", site),
    Filter("audience", audience),
    Filter("budget_total", budget_total, needs_counters=True),
    Filter("budget_daily", budget_daily, needs_counters=True),
    Filter("frequency_cap", frequency_cap, needs_counters=True),
    Filter("pacing", pacing, needs_counters=True),
    Filter("floor", floor),
    Filter("page_duplicate", page_duplicate),
)
FILTER_NAMES: tuple[str, ...] = tuple(f.name for f in FILTERS)


def explain(
    ctx: Context, candidates: Sequence[Candidate], not_fitting: int = 0
) -> tuple[dict[str, int], list[Candidate]]:
    """Run every filter in order over `candidates`; return the count each filter removed
    (only non-zero counts, in filter order) and the survivors. `not_fitting` campaigns
    failed ``format_size`` before they became candidates."""
    reasons: dict[str, int] = {}
    if not_fitting:
        reasons["format_size"] = not_fitting
    alive = list(candidates)
    fetched = False
    for f in FILTERS:
        if not alive:
            break
        if f.needs_counters and not fetched:
            ctx.prefetch(alive)
            fetched = True
        kept = [c for c in alive if f.test(c, ctx)]
        if len(kept) != len(alive):
            reasons[f.name] = reasons.get(f.name, 0) + len(alive) - len(kept)
        alive = kept
    return reasons, alive
