"""The simulated readers of the demo network, and the bots that crawl it.

Each site gets a pool of readers sized so that their visits add up to the site's daily page
views. A reader has one address and one browser (so one cookieless visitor id a day), a
country drawn from the site's audience, a device from its device mix, the site's genres as
tastes (plus, for a third of them, one genre more) and a loyalty: the chance of a visit on a
given day, from daily regulars to the occasional passer-by, so most days bring back many of
the same people. Readers who like another site's genres read it too, less often, so people
cross sites as they do on a real network. A few percent send Global Privacy Control.

Bots are crawlers shared by the whole network and, for a site with a heavy bot share, a
scraping farm of headless browsers on rotating addresses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from backbeat.domain.taxonomy import DeviceType
from backbeat.sim.agents import (
    BOT_COUNTRIES,
    BROWSER_UAS,
    CRAWLER_UAS,
    SCRAPER_UAS,
    ip_in,
    weighted,
)
from backbeat.sim.network import DemoNetwork, SiteSeed

PAGES_PER_VISIT = 2.6  # mean of 1 + geometric pages (see :func:`pages_in_visit`)
BOT_PAGES_PER_SESSION = 8.0
PRIVACY_SHARE = 0.04  # readers whose browser sends Sec-GPC: 1
EXTRA_TASTE = 0.35  # readers who like one genre beyond their site's
CROSS_VISIT = 0.5  # of those, the share who also read a site of that genre
CROSS_LOYALTY = 0.3  # how much less often they read it than their home site
HEAVY_BOTS = 0.1  # a bot share above this gets a scraping farm of its own
# (share of readers, loyalty range): regulars, weekly readers, occasional visitors
LOYALTY = ((0.15, 0.5, 0.9), (0.35, 0.12, 0.35), (0.5, 0.02, 0.08))
MEAN_LOYALTY = sum(share * (lo + hi) / 2 for share, lo, hi in LOYALTY)
# Tastes beyond a site's own genres, by how common they are.
EXTRA_GENRES = (
    ("pop", 5.0), ("hip-hop", 4.0), ("electronic", 3.0), ("rock", 3.0), ("latin", 2.0),
    ("country", 2.0), ("alternative", 2.0), ("rnb", 2.0), ("metal", 1.0), ("jazz", 1.0),
    ("folk", 1.0), ("classical", 0.5),
)


@dataclass(eq=False, slots=True)
class Persona:
    """One simulated reader or bot: what its requests carry, what it likes, what it saw."""

    ip: str
    ua: str
    device: DeviceType
    country: str
    likes: frozenset[str]
    privacy: bool = False
    bot: bool = False
    cookie: str = ""  # the visitor cookie, once a server in cookie mode has set one
    day: int = -1  # the simulated day `seen` counts
    seen: dict[int, int] = field(default_factory=dict)  # campaign id -> ads seen that day

    def see(self, campaign_id: int, day: int) -> int:
        """Count one more ad of the campaign today; return which view this is (1 = first)."""
        if day != self.day:
            self.day = day
            self.seen = {}
        n = self.seen.get(campaign_id, 0) + 1
        self.seen[campaign_id] = n
        return n

    def headers(self) -> dict[str, str]:
        h = {"user-agent": self.ua, "accept-language": "en"}
        if self.privacy:
            h["sec-gpc"] = "1"
        if self.cookie:
            h["cookie"] = self.cookie
        return h

    def keep_cookie(self, set_cookie: str | None) -> None:
        """Keep the `name=value` part of a Set-Cookie header, as a browser would."""
        if set_cookie:
            self.cookie = set_cookie.split(";", 1)[0].strip()


@dataclass
class SiteAudience:
    """Who reads one site: (reader, chance of a visit on a given day) and its bots."""

    site: SiteSeed
    readers: list[tuple[Persona, float]] = field(default_factory=list)
    bots: list[Persona] = field(default_factory=list)

    @property
    def expected_visits(self) -> float:
        return sum(loyalty for _, loyalty in self.readers)


def pages_in_visit(rng: random.Random) -> int:
    """1 + a geometric number of further pages (mean PAGES_PER_VISIT)."""
    stay = 1 - 1 / PAGES_PER_VISIT
    n = 1
    while rng.random() < stay and n < 30:
        n += 1
    return n


def _loyalty(rng: random.Random) -> float:
    x = rng.random()
    for share, lo, hi in LOYALTY:
        if x < share:
            return rng.uniform(lo, hi)
        x -= share
    return LOYALTY[-1][1]


def _reader(site: SiteSeed, rng: random.Random) -> Persona:
    country = weighted(rng, site.countries)
    device = weighted(rng, site.devices)
    uas = BROWSER_UAS[device]
    likes = set(site.genres)
    if rng.random() < EXTRA_TASTE:
        likes.add(weighted(rng, EXTRA_GENRES))
    return Persona(
        ip=ip_in(country, rng),
        ua=uas[int(rng.random() * len(uas))],
        device=device,
        country=country,
        likes=frozenset(likes),
        privacy=rng.random() < PRIVACY_SHARE,
    )


def _bot(uas: tuple[str, ...], rng: random.Random) -> Persona:
    country = weighted(rng, BOT_COUNTRIES)
    return Persona(
        ip=ip_in(country, rng),
        ua=uas[int(rng.random() * len(uas))],
        device=DeviceType.OTHER,
        country=country,
        likes=frozenset(),
        bot=True,
    )


def build_population(
    network: DemoNetwork, scale: float, rng: random.Random
) -> dict[str, SiteAudience]:
    """Readers and bots for every site of `network` at traffic `scale` (1.0 = the sites'
    declared daily page views)."""
    audiences = {s.key: SiteAudience(s) for s in network.sites}
    by_genre: dict[str, list[str]] = {}
    for s in network.sites:
        for g in sorted(s.genres):
            by_genre.setdefault(g, []).append(s.key)
    crawlers = [_bot(CRAWLER_UAS, rng) for _ in range(24)]
    for s in network.sites:
        aud = audiences[s.key]
        visits = s.daily_pageviews * scale / PAGES_PER_VISIT
        for _ in range(max(20, round(visits / MEAN_LOYALTY))):
            reader = _reader(s, rng)
            loyalty = _loyalty(rng)
            aud.readers.append((reader, loyalty))
            for genre in sorted(reader.likes - s.genres):
                others = [k for k in by_genre.get(genre, []) if k != s.key]
                if others and rng.random() < CROSS_VISIT:
                    other = others[int(rng.random() * len(others))]
                    audiences[other].readers.append((reader, loyalty * CROSS_LOYALTY))
        aud.bots = list(crawlers)
        if s.bot_share > HEAVY_BOTS:
            aud.bots += [_bot(SCRAPER_UAS, rng) for _ in range(60)]
    return audiences
