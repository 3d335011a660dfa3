"""Device type and bot detection on real User-Agent strings."""

from __future__ import annotations

import re

import pytest

from backbeat.domain.taxonomy import DeviceType
from backbeat.tracking import useragent
from backbeat.tracking.useragent import classify, crawler_matcher, device_type, is_bot
from tests.tracking.conftest import CHROME, GOOGLEBOT, HEADLESS, IPHONE

IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.6367.91 Mobile Safari/537.36 "
    "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
SMART_TV = (
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36"
)


@pytest.mark.parametrize(
    ("ua", "device"),
    [
        (CHROME, DeviceType.DESKTOP),
        (MAC_SAFARI, DeviceType.DESKTOP),
        (FIREFOX_LINUX, DeviceType.DESKTOP),
        (IPHONE, DeviceType.MOBILE),
        (ANDROID_PHONE, DeviceType.MOBILE),
        (IPAD, DeviceType.TABLET),
        (ANDROID_TABLET, DeviceType.TABLET),
        (SMART_TV, DeviceType.OTHER),
        (GOOGLEBOT, DeviceType.OTHER),
    ],
)
def test_device_type(ua: str, device: DeviceType) -> None:
    assert device_type(ua) is device


@pytest.mark.parametrize("ua", [CHROME, MAC_SAFARI, FIREFOX_LINUX, IPHONE, ANDROID_PHONE, IPAD,
                                ANDROID_TABLET, SMART_TV])
def test_real_browsers_are_not_bots(ua: str) -> None:
    assert is_bot(ua) is False


@pytest.mark.parametrize(
    "ua",
    [
        GOOGLEBOT,
        GOOGLEBOT_SMARTPHONE,
        BINGBOT,
        HEADLESS,
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.31.0",
        "Go-http-client/1.1",
        "Mozilla/5.0",
        "",
        "   ",
    ],
)
def test_bots_and_non_browsers_are_bots(ua: str) -> None:
    assert is_bot(ua) is True


def test_missing_user_agent_is_a_bot() -> None:
    assert is_bot(None) is True
    assert classify(None).device is DeviceType.OTHER


def test_crawler_list_patterns_are_combined_into_one_matcher() -> None:
    m = crawler_matcher()
    assert m is crawler_matcher()  # compiled once
    # A crawler that only the list knows (no "Spider" family, no explicit rule).
    ua = "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"
    assert m.search(ua) is not None
    assert useragent.NON_BROWSER.search(ua) is None
    assert is_bot(ua)


def test_results_are_cached_per_user_agent() -> None:
    useragent._classify.cache_clear()
    classify(CHROME)
    classify(CHROME)
    info = useragent._classify.cache_info()
    assert info.hits == 1 and info.misses == 1
    assert info.maxsize == useragent.CACHE_SIZE


def test_huge_user_agents_are_cut_before_caching() -> None:
    huge = CHROME + " x" * 50_000
    assert classify(huge) == classify(huge[: useragent.MAX_UA_CHARS])
    assert classify(huge).device is DeviceType.DESKTOP


def test_browser_family_is_reported() -> None:
    assert classify(IPHONE).browser == "Mobile Safari"
    assert re.match("Chrome", classify(CHROME).browser)


def test_stdlib_fallback_matches_like_re2() -> None:
    # Without google-re2 installed the same list runs on Python's re (slower, same answers).
    fallback = useragent.build_crawler_matcher(prefer_re2=False)
    assert isinstance(fallback, re.Pattern)
    preferred = crawler_matcher()
    samples = [CHROME, IPHONE, IPAD, ANDROID_PHONE, MAC_SAFARI, GOOGLEBOT, BINGBOT,
               GOOGLEBOT_SMARTPHONE, HEADLESS, "curl/8.5.0", "AhrefsBot/7.0", "Slackbot 1.0"]
    for ua in samples:
        assert (fallback.search(ua) is None) == (preferred.search(ua) is None), ua
