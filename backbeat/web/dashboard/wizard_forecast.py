"""The wizard's live forecast: the planner fed with the targeted sites' recent traffic.

"Available impressions" are the valid ad requests (decisions, filled or not) that the
targeted placements received over the last `HISTORY_DAYS` days, per day with traffic;
"visitors" are the distinct non-anonymous visitors of those requests per day, averaged over
the same days. Bots are not inventory, so invalid requests are left out. With no traffic on
record the planner still says what the budget buys at the bid, but reach cannot be
forecast, and the view says so.

Reading the raw events on every keystroke would be slow on a big network, so the traffic
figures are cached per targeting for `CACHE_S` seconds, keyed also by the catalog version
(a new site or placement changes the answer at once).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from backbeat.analytics.planner import Forecast, Range, plan
from backbeat.analytics.sql import builder_for, literal
from backbeat.domain.campaign import FrequencyCap, Pricing, Targeting
from backbeat.domain.events import EventType
from backbeat.domain.money import Micros, format_money
from backbeat.domain.taxonomy import AdFormat, Size
from backbeat.store.catalog.protocol import Catalog
from backbeat.store.events.protocol import EventStore
from backbeat.store.events.schema import naive_utc
from backbeat.tracking.visitor import ANONYMOUS

HISTORY_DAYS = 28
CACHE_S = 300
_CACHE_SIZE = 256
# With no traffic on record, inventory is taken as unlimited so only the budget binds.
_UNLIMITED = 10**15


@dataclass(frozen=True)
class Avails:
    """Recent traffic of the targeted placements, per day with traffic."""

    daily_requests: int
    daily_visitors: int
    days: int  # days with traffic in the window
    placements: int  # placements that match the targeting


@dataclass(frozen=True)
class ForecastInput:
    budget_micros: Micros
    pricing: Pricing
    bid_micros: Micros
    flight_days: int
    frequency_cap: FrequencyCap | None
    targeting: Targeting
    size: Size | None = None


def matching_placements(catalog: Catalog, targeting: Targeting, size: Size | None) -> list[int]:
    """Active display placements on sites the targeting can reach (by genre and site lists),
    taking `size` when one is given."""
    sites = catalog.sites.all()
    ids = set()
    for site in sites:
        if targeting.genres and not (targeting.genres & site.genres):
            continue
        if targeting.sites_include and site.id not in targeting.sites_include:
            continue
        if site.id in targeting.sites_exclude:
            continue
        assert site.id is not None
        ids.add(site.id)
    if not ids:
        return []
    placements = catalog.placements.all(
        {"site_id": ids, "active": True, "format": AdFormat.DISPLAY.value}
    )
    return sorted(
        p.id for p in placements if p.id is not None and (size is None or size in p.sizes)
    )


def measure_avails(
    store: EventStore, placement_ids: list[int], targeting: Targeting, now: datetime
) -> Avails:
    """Requests and visitors per day on `placement_ids`, from the raw events."""
    if not placement_ids:
        return Avails(0, 0, 0, 0)
    b = builder_for(store.dialect)
    params: list[object] = []

    def bind(value: object) -> str:
        params.append(value)
        return b.placeholder(len(params) - 1, value)

    until = naive_utc(now)
    since = until - timedelta(days=HISTORY_DAYS)
    conds = [
        f"type = {literal(EventType.DECISION.value)}",
        b.is_valid(True),
        f"ts >= {bind(since)}",
        f"ts < {bind(until)}",
        f"placement_id IN ({', '.join(bind(i) for i in placement_ids)})",
    ]
    if targeting.countries:
        conds.append(f"country IN ({', '.join(bind(c) for c in sorted(targeting.countries))})")
    if targeting.devices:
        devices = sorted(d.value for d in targeting.devices)
        conds.append(f"device IN ({', '.join(bind(d) for d in devices)})")
    visitors = b.distinct_if("visitor", f"visitor <> {literal(ANONYMOUS)}")
    sql = (
        f"SELECT {b.day('ts')} AS d, count(*), {visitors} FROM events"
        f" WHERE {' AND '.join(conds)} GROUP BY d"
    )
    rows = store.query(sql, params)
    days = len(rows)
    if not days:
        return Avails(0, 0, 0, len(placement_ids))
    requests = sum(int(str(r[1])) for r in rows)
    people = sum(int(str(r[2])) for r in rows)
    return Avails(requests // days, people // days, days, len(placement_ids))


class AvailsCache:
    """A small, thread-safe LRU of traffic figures with a time limit."""

    def __init__(self, ttl_s: float = CACHE_S, size: int = _CACHE_SIZE) -> None:
        self._ttl = ttl_s
        self._size = size
        self._items: OrderedDict[object, tuple[float, Avails]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, catalog: Catalog, store: EventStore, inp: ForecastInput, now: datetime) -> Avails:
        t = inp.targeting
        key = (
            catalog.version(),
            now.date(),
            t.genres,
            t.countries,
            t.devices,
            t.sites_include,
            t.sites_exclude,
            inp.size,
        )
        mono = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and mono - hit[0] < self._ttl:
                self._items.move_to_end(key)
                return hit[1]
        placements = matching_placements(catalog, t, inp.size)
        avails = measure_avails(store, placements, t, now)
        with self._lock:
            self._items[key] = (mono, avails)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return avails


def _range_text(r: Range) -> str:
    if r.high is None:
        return f"{r.low:,} or more"
    if r.high == r.low:
        return f"{r.low:,}"
    return f"{r.low:,}–{r.high:,}"


def _range_json(r: Range) -> dict[str, int | None]:
    return {"low": r.low, "high": r.high}


def forecast(inp: ForecastInput, avails: Avails) -> Forecast:
    """The planner's forecast for the input over the measured traffic (or, with none, over
    unlimited inventory)."""
    known = avails.days > 0 and avails.daily_visitors > 0
    return plan(
        inp.budget_micros,
        inp.pricing,
        inp.bid_micros,
        AdFormat.DISPLAY,
        inp.flight_days,
        inp.frequency_cap,
        avails.daily_requests if known else _UNLIMITED,
        avails.daily_visitors if known else _UNLIMITED,
    )


def view(inp: ForecastInput, avails: Avails, currency: str) -> dict[str, object]:
    """The forecast as plain data: numbers for programs, sentences for people."""
    f = forecast(inp, avails)
    known = avails.days > 0 and avails.daily_visitors > 0
    notes = list(f.notes) if known else []
    if not known:
        notes.append(
            "No traffic is on record for the sites this targeting reaches in the last "
            f"{HISTORY_DAYS} days, so reach and delivery cannot be forecast yet; the figures "
            "show what the budget buys at your bid."
        )
    else:
        notes.append(
            f"Based on {avails.days} day(s) of traffic on {avails.placements} matching ad "
            f"slot(s): about {avails.daily_requests:,} ad requests and "
            f"{avails.daily_visitors:,} visitors a day."
        )
    bench = f.ctr_benchmark
    benchmark = None
    if bench is not None:
        high = "" if bench.high is None else f"–{Decimal(bench.high) * 100:.2f}%"
        benchmark = {
            "label": bench.label,
            "text": f"{Decimal(bench.low) * 100:.2f}%{high} CTR ({bench.label}, {bench.citation})",
        }
    spend_high = f.spend_micros.high if f.spend_micros.high is not None else f.spend_micros.low
    return {
        "basis": "traffic" if known else "budget_only",
        "impressions": _range_json(f.impressions),
        "clicks": _range_json(f.clicks) if f.clicks else None,
        "reach": _range_json(f.reach) if known else None,
        "frequency": (
            [f"{f.frequency[0]:.1f}", f"{f.frequency[1]:.1f}"] if known and f.frequency else None
        ),
        "spend_micros": _range_json(f.spend_micros),
        "inventory": f.inventory if known else None,
        "limited_by_inventory": f.limited_by_inventory if known else False,
        "history_days": avails.days,
        "benchmark": benchmark,
        "notes": notes,
        "text": {
            "impressions": _range_text(f.impressions),
            "reach": _range_text(f.reach) if known else "Unknown yet",
            "clicks": _range_text(f.clicks) if f.clicks else "No benchmark",
            "spend": format_money(spend_high, currency),
        },
    }
