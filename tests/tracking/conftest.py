"""Shared builders for tracking tests: a signing secret, payloads, settings, real UAs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis

from backbeat.config import Settings, load_settings
from backbeat.domain.campaign import Objective
from backbeat.domain.events import EventType
from backbeat.domain.taxonomy import AdFormat, DeviceType
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.counters.protocol import Counters
from backbeat.store.counters.redis_counters import RedisCounters
from backbeat.tracking.signing import TrackingPayload

SECRET = b"test-secret-0123456789-abcdefghijklmnop"
NOW = 1_764_331_200.0  # 2025-11-28 12:00:00 UTC
DECISION = "019ac9f0-3a40-7c3e-9a1b-2f4e5d6c7b8a"

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.0.0 Safari/537.36"
)


def make_payload(**overrides: Any) -> TrackingPayload:
    base = TrackingPayload(
        kind=EventType.IMPRESSION,
        decision_id=DECISION,
        campaign_id=101,
        creative_id=202,
        placement_id=303,
        site_id=404,
        advertiser_id=505,
        publisher_id=606,
        price_micros=2_500,
        expires=int(NOW) + 4 * 3600,
        format=AdFormat.DISPLAY,
        size="300x250",
        genre="hip-hop",
        genre_match=True,
        objective=Objective.AWARENESS,
        country="US",
        device=DeviceType.DESKTOP,
        visitor="hAAAAAAAAAAAAAAAAAAAAAA",
        site_domain="beats.example.com",
        freq_window_s=86_400,
    )
    return replace(base, **overrides)


@pytest.fixture
def settings() -> Settings:
    return load_settings(
        secret_key=SECRET.decode(),
        base_url="https://ads.backbeat.example",
        link_ttl_seconds=4 * 3600,
        click_dedupe_seconds=1800,
        max_events_per_visitor_minute=5,
    )


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def counters(request: pytest.FixtureRequest) -> Iterator[Counters]:
    """A fresh Counters of each backend (Redis under a throwaway key prefix)."""
    if request.param == "memory":
        mem = MemoryCounters()
        yield mem
        mem.close()
        return
    client = redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2)
    rc = RedisCounters(client, prefix=f"bbtest:{uuid.uuid4().hex}:")
    yield rc
    rc.purge()
    client.close()
