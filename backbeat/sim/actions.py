"""The simulated browser: page views that ask the real app for ads, and what follows them.

Every action happens at a simulated moment, kept in one time-ordered queue. A page view
calls ``GET /serve`` for its slots; for each ad that comes back it queues the impression
beacon, the viewable beacon if the reader scrolls to it, a click if they click, and an order
if they buy, each a little later. Actions run in time order with the clock set to their
moment; handlers run eagerly (see :mod:`backbeat.sim.driver`) and are awaited a simulated
hour at a time, so each hour's beacons reach the spool in one group commit.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from starlette.applications import Starlette
from starlette.responses import Response

from backbeat.sim import behaviour
from backbeat.sim.driver import Handler, make_request, start
from backbeat.sim.population import Persona
from backbeat.sim.seeds import Seeded, SeededCreative, SeededPlacement, widen_targeting
from backbeat.sim.traffic import PageView
from backbeat.tracking.landing import CLICK_ID_PARAM
from backbeat.web import conversion_routes, serving_routes, tracking_routes
from backbeat.web.runtime import Runtime

Action = Callable[..., object]


class SimClock:
    """The app's clock: whatever moment the simulation says it is."""

    def __init__(self, at: float) -> None:
        self.now = datetime.fromtimestamp(at, UTC)

    def set(self, at: float) -> None:
        self.now = datetime.fromtimestamp(at, UTC)

    def __call__(self) -> datetime:
        return self.now


class Browser:
    """Runs queued actions against `app` in simulated time order."""

    def __init__(
        self, app: Starlette, seeded: Seeded, clock: SimClock, rng: random.Random, end: float
    ) -> None:
        self.app = app
        self.rt: Runtime = app.state.runtime
        self.seeded = seeded
        self.clock = clock
        self.rng = rng
        self.end = end  # actions due after this are the future: dropped
        self.day = 0
        self.queue: list[tuple[float, int, Action, tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._orders = itertools.count(1)
        self.pending: list[asyncio.Future[Response]] = []
        self.tally: Counter[str] = Counter()
        self._dirty = False  # events sent since the store last caught up

    # the queue -------------------------------------------------------------------------
    def push(self, at: float, action: Action, *args: Any) -> None:
        heapq.heappush(self.queue, (at, next(self._seq), action, args))

    async def run_until(self, until: float) -> None:
        """Run every action due before `until`, then wait for their responses."""
        queue = self.queue
        while queue and queue[0][0] < until:
            at, _, action, args = heapq.heappop(queue)
            if at >= self.end:
                continue
            if self._dirty and getattr(action, "__func__", None) in _READS_STORE:
                await self.settle()
            self.clock.set(at)
            action(*args)
        await self.settle(flush=False)

    async def settle(self, *, flush: bool = True) -> None:
        """Wait for every request in flight; with `flush`, also until the event store holds
        every event so far. Conversion attribution reads the credited click or impression
        back from the store, so orders wait for it as a real order, minutes later, would."""
        if self.pending:
            done = await asyncio.gather(*self.pending)
            self.pending = []
            for resp in done:
                self.tally[f"status {resp.status_code // 100}xx"] += 1
        while not self.rt.ingest.idle:  # decisions queued after the last beacon
            await asyncio.sleep(0.001)
        if flush:
            self.rt.writer.flush(timeout=60)
            self._dirty = False

    def _call(self, handler: Handler, path: str, persona: Persona, query: dict[str, str],
              referer: str, **params: str) -> asyncio.Future[Response]:
        headers = persona.headers()
        headers["referer"] = referer
        req = make_request(
            self.app, path, query=query, headers=headers, client=persona.ip, path_params=params
        )
        fut = start(handler, req)
        self.pending.append(fut)
        self._dirty = True
        return fut

    # the catalog -----------------------------------------------------------------------
    def widen(self, key: str) -> None:
        """The planted mistake, made mid-flight: clear the campaign's genre targeting. The
        serving index is rebuilt right away (polling is off during a simulation)."""
        holder = self.rt.holder
        holder.wait()
        widen_targeting(self.rt.catalog, self.seeded.campaigns[key])
        holder.refresh()
        self.tally["catalog edits"] += 1

    # page views and ads -----------------------------------------------------------------
    def page_view(self, pv: PageView) -> list[dict[str, Any]]:
        """Ask for the page's ads and queue what the reader does with them; return the ads."""
        slots = pv.slots()
        if not slots:
            return []
        ids = ",".join(str(s.id) for s in slots)
        fut = self._call(serving_routes.serve, "/serve", pv.persona, {"p": ids, "u": pv.url},
                         pv.url)
        self.tally["page views (bots)" if pv.persona.bot else "page views"] += 1
        resp = fut.result()  # /serve never waits for the disk
        if resp.status_code != 200:
            return []
        if not pv.persona.cookie:  # only a server in cookie mode sets one
            pv.persona.keep_cookie(resp.headers.get("set-cookie"))
        body = orjson.loads(resp.body)
        by_id = {s.id: s for s in slots}
        for ad in body["ads"]:
            self.tally["ads served"] += 1
            self._ad(pv, ad, by_id[ad["placement"]])
        return list(body["ads"])

    def _ad(self, pv: PageView, ad: dict[str, Any], slot: SeededPlacement) -> None:
        rng, persona = self.rng, pv.persona
        if not behaviour.renders(persona, rng):
            return
        creative = self.seeded.by_asset[ad["src"]]
        at = pv.at + rng.uniform(0.15, 1.5)
        self.push(at, self.beacon, "/i/", ad["imp"], pv)
        if rng.random() < behaviour.DUPLICATE_IMPRESSION:
            self.push(at + rng.uniform(20, 600), self.beacon, "/i/", ad["imp"], pv)
        view = 0 if persona.bot else persona.see(creative.creative.campaign_id, self.day)
        if not behaviour.seen(persona, slot.seed, rng):
            return
        at += rng.uniform(1.1, 12)
        self.push(at, self.beacon, "/v/", ad["view"], pv)
        chance = behaviour.click_chance(creative.campaign, creative.seed, persona, view)
        if rng.random() < chance:
            self.push(at + rng.uniform(1, 30), self.click, ad["click"], pv, creative, True)
        elif not persona.bot and rng.random() < creative.campaign.view_conversion_rate:
            order_at = at + rng.uniform(600, 5 * 3600)
            self.push(order_at, self.conversion, pv, creative, None)

    def beacon(self, kind: str, url: str, pv: PageView) -> None:
        handler = tracking_routes.impression if kind == "/i/" else tracking_routes.viewable
        token = url.rsplit("/", 1)[1]
        self._call(handler, kind + token, pv.persona, {"u": pv.url}, pv.url, token=token)
        self.tally["impression beacons" if kind == "/i/" else "viewable beacons"] += 1

    def click(
        self, url: str, pv: PageView, creative: SeededCreative, first: bool
    ) -> asyncio.Future[Response]:
        """Follow the ad's click link; the first click of a reader may be doubled, and may
        lead to an order."""
        token = url.rsplit("/", 1)[1]
        fut = self._call(tracking_routes.click, "/c/" + token, pv.persona, {}, pv.url,
                         token=token)
        self.tally["clicks"] += 1
        if not first:
            return fut
        rng = self.rng
        now = self.clock().timestamp()
        if rng.random() < behaviour.DOUBLE_CLICK:
            self.push(now + rng.uniform(0.2, 0.6), self.click, url, pv, creative, False)
        if not pv.persona.bot and rng.random() < creative.campaign.conversion_rate:
            if rng.random() < behaviour.IN_SESSION:
                self.push(now + rng.uniform(120, 1500), self.conversion, pv, creative, fut)
            else:
                self.push(now + rng.uniform(3, 30) * 3600, self.conversion, pv, creative, None)
        return fut

    # orders ----------------------------------------------------------------------------
    def conversion(
        self, pv: PageView, creative: SeededCreative, click: asyncio.Future[Response] | None
    ) -> None:
        """An order on the campaign's shop or ticket page: its conversion pixel carries the
        click id when the order follows the click in the same session."""
        seed = creative.campaign
        query = {
            "a": str(self.seeded.advertisers[seed.advertiser]),
            "v": behaviour.order_value(seed, self.rng),
            "cur": "USD",
            "oid": f"BB{next(self._orders):07d}",
        }
        if click is not None:
            location = click.result().headers.get("location", "")
            clid = parse_qs(urlsplit(location).query).get(CLICK_ID_PARAM)
            if clid:
                query[CLICK_ID_PARAM] = clid[0]
        self.pixel(pv.persona, query, seed.destination_url)

    def organic(self, persona: Persona, advertiser_key: str, shop: str, value: str) -> None:
        """An order by someone the network may never have shown an ad."""
        query = {
            "a": str(self.seeded.advertisers[advertiser_key]),
            "v": value,
            "cur": "USD",
            "oid": f"BB{next(self._orders):07d}",
        }
        self.pixel(persona, query, shop)

    def pixel(self, persona: Persona, query: dict[str, str], shop: str) -> None:
        self._call(conversion_routes.conversion, "/conv", persona, query, shop)
        self.tally["conversion pixels"] += 1
        if self.rng.random() < behaviour.DUPLICATE_ORDER:
            later = self.clock().timestamp() + self.rng.uniform(5, 120)
            self.push(later, self.pixel, persona, query, shop)


# Actions whose handler reads earlier events back from the event store (attribution).
_READS_STORE: frozenset[object] = frozenset({Browser.conversion, Browser.organic, Browser.pixel})
