"""When people read which pages: one simulated day of page views across the network.

Each site's readers visit by their loyalty, scaled so the day's visits match the site's
traffic for that day: its declared page views, times a weekday factor (weekends are busier
for music sites), a small day-to-day wobble and a gentle growth trend. A visit starts at an
hour drawn from a diurnal curve in the site's own audience time zone (quiet at 4 am, busiest
around 8-9 pm) and runs for a few pages, a minute or two apart. Bots crawl around the clock
in longer, faster sessions.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from zoneinfo import ZoneInfo

from backbeat.domain.taxonomy import DeviceType
from backbeat.sim.population import (
    BOT_PAGES_PER_SESSION,
    PAGES_PER_VISIT,
    Persona,
    SiteAudience,
    pages_in_visit,
)
from backbeat.sim.seeds import SeededPlacement, SeededSite

HOUR_S = 3600
DAY_S = 86_400
# Relative page views by local hour, 0:00 to 23:00.
HOURLY = (
    2.2, 1.5, 1.0, 0.8, 0.7, 0.9, 1.5, 2.6, 3.6, 4.0, 4.2, 4.4,
    4.6, 4.5, 4.3, 4.3, 4.5, 4.8, 5.2, 5.7, 6.0, 5.8, 4.9, 3.6,
)
WEEKDAY = (0.96, 0.97, 1.0, 1.02, 1.07, 1.1, 1.02)  # Monday first
WOBBLE = 0.05  # day-to-day noise (standard deviation, relative)
GROWTH = 0.01  # per day
ARTICLES = 600  # pages per section; popularity falls off steeply


@dataclass(frozen=True, slots=True)
class PageView:
    at: float  # epoch seconds
    site: SeededSite
    persona: Persona
    url: str

    def slots(self) -> tuple[SeededPlacement, ...]:
        """The placements on this page: a phone layout or a desktop one (bots get desktop)."""
        device = DeviceType.DESKTOP if self.persona.device is DeviceType.OTHER else (
            self.persona.device
        )
        return tuple(p for p in self.site.placements if device in p.seed.devices)


def day_factor(tz: str, day_start: float, day: int, days: int, rng: random.Random) -> float:
    """How busy this day is against the site's average day."""
    midday = datetime.fromtimestamp(day_start + DAY_S / 2, UTC).astimezone(ZoneInfo(tz))
    trend = 1 + GROWTH * (day - (days - 1) / 2)
    return WEEKDAY[midday.weekday()] * trend * max(0.7, rng.gauss(1.0, WOBBLE))


def _hour_weights(tz: str, day_start: float) -> list[float]:
    zone = ZoneInfo(tz)
    hours = [datetime.fromtimestamp(day_start + h * HOUR_S, UTC).astimezone(zone).hour
             for h in range(24)]
    return list(accumulate(HOURLY[h] for h in hours))


def _url(site: SeededSite, rng: random.Random) -> str:
    sections = site.seed.sections
    section = sections[int(rng.random() * len(sections))]
    article = int(ARTICLES ** rng.random())  # a few hits, a long tail
    return f"https://{site.seed.domain}/{section}/{article}"


def _visits(
    aud: SiteAudience, site: SeededSite, day_start: float, factor: float, scale: float,
    rng: random.Random,
) -> list[PageView]:
    target = site.seed.daily_pageviews * scale * factor / PAGES_PER_VISIT
    k = target / max(aud.expected_visits, 1e-9)
    cum = _hour_weights(site.seed.audience_tz, day_start)
    total = cum[-1]
    out: list[PageView] = []
    for reader, loyalty in aud.readers:
        if rng.random() >= loyalty * k:
            continue
        hour = bisect.bisect_right(cum, rng.random() * total)
        t = day_start + min(hour, 23) * HOUR_S + rng.random() * HOUR_S
        for _ in range(pages_in_visit(rng)):
            out.append(PageView(t, site, reader, _url(site, rng)))
            t += rng.uniform(25, 150)
    return out


def _bot_sessions(
    aud: SiteAudience, site: SeededSite, day_start: float, factor: float, scale: float,
    rng: random.Random,
) -> list[PageView]:
    share = site.seed.bot_share
    if share <= 0 or not aud.bots:
        return []
    pages = site.seed.daily_pageviews * scale * factor * share / (1 - share)
    expected = pages / BOT_PAGES_PER_SESSION
    sessions = int(expected) + (rng.random() < expected - int(expected))
    stay = 1 - 1 / BOT_PAGES_PER_SESSION
    out: list[PageView] = []
    for _ in range(sessions):
        bot = aud.bots[int(rng.random() * len(aud.bots))]
        t = day_start + rng.random() * DAY_S
        out.append(PageView(t, site, bot, _url(site, rng)))
        while rng.random() < stay:
            t += rng.uniform(2, 15)
            out.append(PageView(t, site, bot, _url(site, rng)))
    return out


def plan_day(
    audiences: dict[str, SiteAudience],
    sites: dict[str, SeededSite],
    *,
    day: int,
    days: int,
    day_start: float,
    scale: float,
    rng: random.Random,
) -> list[PageView]:
    """Every page view of the 24 hours from `day_start`, people and bots, in time order."""
    views: list[PageView] = []
    for key, site in sites.items():
        aud = audiences[key]
        factor = day_factor(site.seed.audience_tz, day_start, day, days, rng)
        views += _visits(aud, site, day_start, factor, scale, rng)
        views += _bot_sessions(aud, site, day_start, factor, scale, rng)
    views.sort(key=lambda v: v.at)
    return views
