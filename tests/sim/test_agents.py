"""Simulated user agents and addresses, checked against the tracking code's own classifiers."""

from __future__ import annotations

import random

import pytest

from backbeat.domain.taxonomy import DeviceType
from backbeat.sim.agents import (
    BOT_COUNTRIES,
    BROWSER_UAS,
    CRAWLER_UAS,
    SCRAPER_UAS,
    blocks_by_country,
    ip_in,
    weighted,
)
from backbeat.sim.network import NETWORK
from backbeat.tracking.geo import country_from_ip
from backbeat.tracking.useragent import classify


@pytest.mark.parametrize("device", [DeviceType.DESKTOP, DeviceType.MOBILE, DeviceType.TABLET])
def test_browser_uas_are_people_on_the_intended_device(device: DeviceType) -> None:
    for ua in BROWSER_UAS[device]:
        info = classify(ua)
        assert not info.bot, ua
        assert info.device is device, ua


def test_crawler_and_scraper_uas_are_flagged_as_bots() -> None:
    for ua in CRAWLER_UAS + SCRAPER_UAS:
        assert classify(ua).bot, ua


def test_every_audience_country_has_addresses_that_geolocate_there() -> None:
    rng = random.Random(7)
    countries = {c for s in NETWORK.sites for c, _ in s.countries} | {c for c, _ in BOT_COUNTRIES}
    for country in sorted(countries):
        assert blocks_by_country()[country], country
        hits = sum(country_from_ip(ip_in(country, rng)) == country for _ in range(20))
        assert hits >= 19, country


def test_unknown_country_has_no_address_space() -> None:
    with pytest.raises(KeyError):
        ip_in("XX", random.Random(1))


def test_weighted_draws_follow_the_weights() -> None:
    rng = random.Random(3)
    draws = [weighted(rng, (("a", 0.8), ("b", 0.2))) for _ in range(5000)]
    share = draws.count("a") / len(draws)
    assert 0.77 < share < 0.83
