"""User agents: device type and bot detection, cached per UA string.

Device type comes from ua-parser (with the ``ua-parser-rs`` accelerator when installed),
mapped onto :class:`~backbeat.domain.taxonomy.DeviceType`. A UA is a bot (general invalid
traffic in MRC terms) when any of these hold:

- it matches the open ``crawler-user-agents`` list, compiled ONCE into a single combined
  regular expression at first use (with ``google-re2`` when installed — linear time and
  about 3 µs per UA — else Python's ``re``); the package's own ``matching_crawlers`` is
  far too slow per request;
- ua-parser calls its device family ``Spider``;
- it is a non-browser client or headless browser (curl, wget, python-requests,
  Go-http-client, HeadlessChrome, …);
- it is empty or missing.

Results are kept in a bounded LRU cache keyed by the UA string: real traffic repeats a
few thousand UAs, and the bound keeps UA-rotating bots from growing memory.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Protocol

import crawleruseragents
from ua_parser import parse

from backbeat.domain.taxonomy import DeviceType

MAX_UA_CHARS = 1024  # longer UAs are cut before parsing and caching
# A parse costs ~60 µs; a cached answer well under 1. 64k distinct UAs is ~25 MB of cache
# and covers a busy network's day (real traffic repeats a few thousand UAs heavily).
CACHE_SIZE = 65_536

# Clients that are not people browsing, whether or not the crawler list knows them.
NON_BROWSER = re.compile(
    r"curl|wget|python-requests|python-urllib|python-httpx|aiohttp|go-http-client"
    r"|headlesschrome|phantomjs|libwww-perl|okhttp|apache-httpclient|java/|node-fetch"
    r"|axios/|scrapy|httpie|postmanruntime|^mozilla/[\d.]+$",
    re.IGNORECASE,
)

_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS", "ChromeOS",
     "FreeBSD", "OpenBSD", "NetBSD", "Solaris", "Windows NT"}
)
_MOBILE_OS = frozenset(
    {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "HarmonyOS", "Firefox OS"}
)
_TABLET_FAMILIES = re.compile(r"ipad|tablet|kindle|\bkf[a-z]{2,}|galaxy tab|nexus (7|9|10)", re.I)


class _Matcher(Protocol):
    def search(self, text: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class UAInfo:
    device: DeviceType
    bot: bool
    browser: str  # ua-parser's family ("Chrome", "Mobile Safari", "Other")


def build_crawler_matcher(*, prefer_re2: bool = True) -> _Matcher:
    """Compile the crawler list into one alternation (re2 when available and preferred)."""
    patterns = [entry["pattern"] for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA]
    combined = "|".join(f"(?:{p})" for p in patterns)
    if prefer_re2:
        try:
            re2: Any = importlib.import_module("re2")
        except ImportError:
            pass
        else:
            options = re2.Options()
            options.max_mem = 64 << 20  # the combined DFA needs more than re2's 8 MiB default
            options.log_errors = False
            matcher: _Matcher = re2.compile(combined, options)
            return matcher
    return re.compile(combined)


@cache
def crawler_matcher() -> _Matcher:
    """The combined crawler regex, compiled once on first use."""
    return build_crawler_matcher()


def _device(ua: str, device_family: str, brand: str, os_family: str) -> DeviceType:
    if device_family == "Spider":
        return DeviceType.OTHER
    if (
        _TABLET_FAMILIES.search(device_family)
        or brand == "Generic_Android_Tablet"
        or (os_family == "Android" and "Mobile" not in ua and "TV" not in ua)
    ):
        return DeviceType.TABLET
    if os_family in _MOBILE_OS or device_family in {"iPhone", "iPod"} or "Mobile" in ua:
        return DeviceType.MOBILE
    if os_family in _DESKTOP_OS or device_family == "Mac":
        return DeviceType.DESKTOP
    return DeviceType.OTHER


@lru_cache(maxsize=CACHE_SIZE)
def _classify(ua: str) -> UAInfo:
    if not ua.strip():
        return UAInfo(DeviceType.OTHER, True, "Other")
    result = parse(ua)
    family = result.device.family if result.device else "Other"
    brand = (result.device.brand or "") if result.device else ""
    os_family = result.os.family if result.os else "Other"
    browser = result.user_agent.family if result.user_agent else "Other"
    bot = (
        family == "Spider"
        or NON_BROWSER.search(ua) is not None
        or crawler_matcher().search(ua) is not None
    )
    return UAInfo(_device(ua, family, brand, os_family), bot, browser)


def classify(user_agent: str | None) -> UAInfo:
    """Device type, bot flag and browser family of a User-Agent header (None = missing)."""
    return _classify((user_agent or "")[:MAX_UA_CHARS])


def is_bot(user_agent: str | None) -> bool:
    return classify(user_agent).bot


def device_type(user_agent: str | None) -> DeviceType:
    return classify(user_agent).device
