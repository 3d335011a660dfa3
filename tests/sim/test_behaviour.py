"""The click model and order values the simulation draws from."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

from backbeat.domain.taxonomy import DeviceType
from backbeat.sim import behaviour
from backbeat.sim.network import NETWORK
from backbeat.sim.population import Persona

FESTIVAL = NETWORK.campaign("early-bird")
POSTER = FESTIVAL.creatives[0]
SAMPLER = NETWORK.campaign("sampler")


def _reader(likes: set[str], device: DeviceType = DeviceType.DESKTOP) -> Persona:
    return Persona("192.0.2.1", "ua", device, "GB", frozenset(likes))


def test_fans_click_more_than_others_and_tire_with_each_view() -> None:
    fan, other = _reader({"electronic"}), _reader({"country"})
    first = behaviour.click_chance(FESTIVAL, POSTER, fan, 1)
    assert first == POSTER.appeal * behaviour.DEVICE[DeviceType.DESKTOP]
    assert behaviour.click_chance(FESTIVAL, POSTER, other, 1) == first * behaviour.MISMATCH
    assert behaviour.click_chance(FESTIVAL, POSTER, fan, 3) == first * behaviour.FATIGUE**2


def test_a_campaign_for_no_genre_is_nobodys_mismatch() -> None:
    tile = SAMPLER.creatives[1]
    a = behaviour.click_chance(SAMPLER, tile, _reader({"jazz"}), 1)
    b = behaviour.click_chance(SAMPLER, tile, _reader({"metal"}), 1)
    assert a == b == tile.appeal * behaviour.DEVICE[DeviceType.DESKTOP]


def test_phones_click_more_and_bots_barely() -> None:
    fan = _reader({"electronic"}, DeviceType.MOBILE)
    desk = _reader({"electronic"})
    assert behaviour.click_chance(FESTIVAL, POSTER, fan, 1) > behaviour.click_chance(
        FESTIVAL, POSTER, desk, 1
    )
    bot = replace(desk, bot=True)
    assert behaviour.click_chance(FESTIVAL, POSTER, bot, 1) == behaviour.BOT_CLICK


def test_seen_follows_the_placements_viewability() -> None:
    rng = random.Random(1)
    footer = next(p for p in NETWORK.site("chart").placements if p.name == "Footer leaderboard")
    reader = _reader({"pop"})
    rate = sum(behaviour.seen(reader, footer, rng) for _ in range(20_000)) / 20_000
    assert abs(rate - footer.viewability) < 0.015


def test_order_values_are_cents_inside_the_range() -> None:
    rng = random.Random(2)
    lo, hi = (Decimal(v) for v in FESTIVAL.order_value)
    for _ in range(200):
        text = behaviour.order_value(FESTIVAL, rng)
        value = Decimal(text)
        assert lo <= value <= hi
        assert value == value.quantize(Decimal("0.01")) and "." in text
