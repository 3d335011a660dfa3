"""How simulated people (and bots) react to an ad: the truth the analytics has to rediscover.

An ad that was served begins to render for nearly everyone (the impression). Whether it is
*seen* depends on the placement: the chance a reader scrolls it into view for a full second
(its ``viewability``); only then does the tag fire the viewable beacon. Only a seen ad can be
clicked, with probability:

    appeal(creative) x genre(reader, campaign) x device x FATIGUE ** (view - 1)

- ``appeal`` is the creative's own pull on a fan (a weak creative has a low one);
- ``genre`` is 1 when the reader likes the campaign's music, MISMATCH otherwise (a campaign
  for no genre in particular, like a label sampler, gets 1: its appeal is already low);
- ``device``: phones click a little more, desktops a little less;
- fatigue: each further view of the same campaign on the same day pulls less.

Store and ticket destinations sell: after a click, with the campaign's conversion rate, an
order follows, mostly in the same session (the shop's pixel then carries the click id),
sometimes hours later without it. A few people who saw but did not click buy the same day
(view-through). Bots render ads, rarely scroll, almost never click, and never buy.
"""

from __future__ import annotations

import random
from decimal import Decimal

from backbeat.domain.taxonomy import DeviceType
from backbeat.sim.network import CampaignSeed, CreativeSeed, PlacementSeed
from backbeat.sim.population import Persona

RENDER = 0.97  # the ad began to render (the rest left the page first)
BOT_RENDER = 0.92
BOT_VIEW = 0.25
BOT_CLICK = 0.003
MISMATCH = 0.1
FATIGUE = 0.8
DEVICE = {
    DeviceType.MOBILE: 1.1,
    DeviceType.DESKTOP: 0.9,
    DeviceType.TABLET: 1.0,
    DeviceType.OTHER: 1.0,
}
DUPLICATE_IMPRESSION = 0.01  # the page came back from the back/forward cache
DOUBLE_CLICK = 0.08  # a second click on the same link
IN_SESSION = 0.75  # orders placed right after the click, with the click id on the pixel
DUPLICATE_ORDER = 0.04  # the thank-you page was reloaded: the pixel fires twice


def renders(persona: Persona, rng: random.Random) -> bool:
    return rng.random() < (BOT_RENDER if persona.bot else RENDER)


def seen(persona: Persona, placement: PlacementSeed, rng: random.Random) -> bool:
    """Scrolled into view, at least half of it, for a full second."""
    return rng.random() < (BOT_VIEW if persona.bot else placement.viewability)


def click_chance(campaign: CampaignSeed, creative: CreativeSeed, persona: Persona,
                 view: int) -> float:
    """The chance that `persona`, seeing this ad for the `view`-th time today, clicks it."""
    if persona.bot:
        return BOT_CLICK
    genre = 1.0 if not campaign.music or campaign.music & persona.likes else MISMATCH
    return creative.appeal * genre * DEVICE[persona.device] * FATIGUE ** (max(1, view) - 1)


def order_value(campaign: CampaignSeed, rng: random.Random) -> str:
    """A basket value in the campaign's range, in whole cents, as the pixel sends it."""
    lo, hi = (int(Decimal(v) * 100) for v in campaign.order_value)
    cents = rng.randint(lo, max(lo, hi))
    return f"{cents // 100}.{cents % 100:02d}"
