"""What simulated visitors send: user agents by device, crawler user agents, and public IPv4
addresses in a chosen country.

User agents are current, real browser strings; every one is checked by the tests against
the tracking code's own classifier (right device, not a bot). Crawler strings are those of
real crawlers that run JavaScript and so trigger ad tags; the classifier must flag each.

Addresses come from the same registry data the tracking code geolocates with (``iptocc``):
every /16 block is looked up once, and an address for a country is drawn from that country's
blocks and re-checked, so the country the event store records is the one the simulation meant.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache
from typing import TypeVar

from iptocc import country_code

from backbeat.domain.taxonomy import DeviceType

T = TypeVar("T")

DESKTOP_UAS: tuple[str, ...] = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:132.0) Gecko/20100101 Firefox/132.0",
)
MOBILE_UAS: tuple[str, ...] = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Android 14; Mobile; rv:132.0) Gecko/132.0 Firefox/132.0",
)
TABLET_UAS: tuple[str, ...] = (
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Lenovo TB-X606F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
)
BROWSER_UAS: dict[DeviceType, tuple[str, ...]] = {
    DeviceType.DESKTOP: DESKTOP_UAS,
    DeviceType.MOBILE: MOBILE_UAS,
    DeviceType.TABLET: TABLET_UAS,
}
# Crawlers that render pages (so run the ad tag); search, SEO and AI crawlers and a scraper.
CRAWLER_UAS: tuple[str, ...] = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 "
    "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
    "Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
    "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)",
    "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
    "Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
)
# What a scraping farm looks like: headless browsers, rotating addresses.
SCRAPER_UAS: tuple[str, ...] = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; DataForSeoBot/1.0; +https://dataforseo.com/dataforseo-bot)",
)
# Where crawler and scraper traffic comes from (data-centre heavy countries).
BOT_COUNTRIES: tuple[tuple[str, float], ...] = (
    ("US", 0.45), ("DE", 0.15), ("NL", 0.12), ("IE", 0.06), ("FR", 0.07), ("SG", 0.08),
    ("CN", 0.07),
)


@cache
def blocks_by_country() -> dict[str, tuple[int, ...]]:
    """Every public /16 (as its first two octets packed in an int) by registry country."""
    prefixes = [(a << 8) | b for a in range(1, 224) for b in range(256) if a not in (10, 127)]
    codes = country_code([f"{p >> 8}.{p & 255}.0.1" for p in prefixes])
    out: dict[str, list[int]] = {}
    for prefix, code in zip(prefixes, codes, strict=True):
        if code and len(code) == 2:
            out.setdefault(code, []).append(prefix)
    return {k: tuple(v) for k, v in out.items()}


def ip_in(country: str, rng: random.Random, attempts: int = 50) -> str:
    """A public IPv4 address the registry places in `country`. Raises KeyError for a country
    with no address space at all."""
    blocks = blocks_by_country()[country]
    ip = ""
    for _ in range(attempts):
        prefix = blocks[int(rng.random() * len(blocks))]
        ip = f"{prefix >> 8}.{prefix & 255}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if country_code(ip) == country:
            return ip
    return ip  # a block split between registries: close enough after 50 tries


def weighted(rng: random.Random, options: Sequence[tuple[T, float]]) -> T:
    """One key of (key, weight) pairs, drawn by weight."""
    total = sum(w for _, w in options)
    x = rng.random() * total
    for key, w in options:
        x -= w
        if x < 0:
            return key
    return options[-1][0]
