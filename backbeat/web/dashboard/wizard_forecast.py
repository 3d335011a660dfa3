"""The wizard's live forecast: the planner fed with the inventory the event store saw.

The inventory is the report service's (:meth:`ReportService.inventory`): valid ad requests
on the active placements of the sites carrying the chosen genres, over its recent window, so
the wizard and ``POST /reports/plan`` give the same answer for the same campaign. With no
traffic on record the planner still says what the budget buys at the bid (over unlimited
inventory), but reach cannot be forecast, and the view says so.

Measuring reads raw events, too slow for every keystroke on a big network, so inventories are
cached per genre set for `CACHE_S` seconds, keyed also by the catalog version (a new site or
placement changes the answer at once) and the day.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from backbeat.analytics.planner import Forecast, Range, plan
from backbeat.analytics.service import Inventory, PlanRequest, ReportService, plan_outcome
from backbeat.domain.campaign import FrequencyCap, Pricing, Targeting
from backbeat.domain.money import Micros, format_money
from backbeat.domain.taxonomy import AdFormat

CACHE_S = 300
_CACHE_SIZE = 256
# With no traffic on record, inventory is taken as unlimited so only the budget binds.
_UNLIMITED = 10**15


@dataclass(frozen=True)
class ForecastInput:
    budget_micros: Micros
    pricing: Pricing
    bid_micros: Micros
    flight_days: int
    frequency_cap: FrequencyCap | None
    targeting: Targeting


class InventoryCache:
    """A small, thread-safe LRU of measured inventories with a time limit."""

    def __init__(self, ttl_s: float = CACHE_S, size: int = _CACHE_SIZE) -> None:
        self._ttl = ttl_s
        self._size = size
        self._items: OrderedDict[object, tuple[float, Inventory]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, service: ReportService, targeting: Targeting) -> Inventory:
        key = (service.catalog.version(), service.clock().date(), targeting.genres)
        mono = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and mono - hit[0] < self._ttl:
                self._items.move_to_end(key)
                return hit[1]
        inventory = service.inventory(genres=targeting.genres)
        with self._lock:
            self._items[key] = (mono, inventory)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return inventory


def _known(inventory: Inventory) -> bool:
    return inventory.daily_impressions > 0 and inventory.daily_visitors > 0


def forecast(inp: ForecastInput, inventory: Inventory) -> Forecast:
    """The planner's forecast over the measured inventory (or, with none, over unlimited
    inventory, which only the budget limits)."""
    if _known(inventory):
        request = PlanRequest(
            inp.budget_micros,
            inp.pricing,
            inp.bid_micros,
            AdFormat.DISPLAY,
            inp.flight_days,
            inp.frequency_cap,
            genres=inp.targeting.genres,
        )
        return plan_outcome(request, inventory).forecast
    return plan(
        inp.budget_micros,
        inp.pricing,
        inp.bid_micros,
        AdFormat.DISPLAY,
        inp.flight_days,
        inp.frequency_cap,
        _UNLIMITED,
        _UNLIMITED,
    )


def _range_text(r: Range) -> str:
    if r.high is None:
        return f"{r.low:,} or more"
    if r.high == r.low:
        return f"{r.low:,}"
    return f"{r.low:,}–{r.high:,}"


def _range_json(r: Range) -> dict[str, int | None]:
    return {"low": r.low, "high": r.high}


def _notes(f: Forecast, inp: ForecastInput, inventory: Inventory) -> list[str]:
    if not _known(inventory):
        return [
            "No traffic is on record for the sites this targeting reaches in the last "
            f"{inventory.days} days, so reach and delivery cannot be forecast yet; the figures "
            "show what the budget buys at your bid."
        ]
    notes = [
        f"Based on the last {inventory.days} days on {inventory.placements} matching ad "
        f"slot(s): about {inventory.daily_impressions:,} ad requests and "
        f"{inventory.daily_visitors:,} visitors a day.",
        *f.notes,
    ]
    t = inp.targeting
    if t.countries or t.devices:
        notes.append(
            "Countries and devices narrow who sees the ad; this forecast counts the matching "
            "sites' traffic from everywhere, so expect less delivery."
        )
    return notes


def view(inp: ForecastInput, inventory: Inventory, currency: str) -> dict[str, object]:
    """The forecast as plain data: numbers for programs, sentences for people."""
    f = forecast(inp, inventory)
    known = _known(inventory)
    bench = f.ctr_benchmark
    benchmark = None
    if bench is not None:
        high = "" if bench.high is None else f"–{Decimal(bench.high) * 100:.2f}%"
        low = f"{Decimal(bench.low) * 100:.2f}%"
        benchmark = {"label": bench.label, "text": f"{low}{high} CTR ({bench.label}, "
                     f"{bench.citation})"}  # fmt: skip
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
        "history_days": inventory.days,
        "daily_requests": inventory.daily_impressions,
        "daily_visitors": inventory.daily_visitors,
        "benchmark": benchmark,
        "notes": _notes(f, inp, inventory),
        "text": {
            "impressions": _range_text(f.impressions),
            "reach": _range_text(f.reach) if known else "Unknown yet",
            "clicks": _range_text(f.clicks) if f.clicks else "No benchmark",
            "spend": format_money(spend_high, currency),
        },
    }
