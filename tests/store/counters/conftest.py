"""Fixtures: every Counters backend behind one harness, against the real Redis for `redis`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis

from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.counters.protocol import Counters
from backbeat.store.counters.redis_counters import RedisCounters

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379


class FakeClock:
    """A monotonic clock the test moves by hand (memory backend expiry)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Harness:
    counters: Counters
    # Let `seconds` of expiry time pass: a fake clock for memory, real sleep for Redis
    # (whose TTLs run on the server's clock), so keep the values small.
    advance: Callable[[float], None]


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=2)
    yield client
    client.close()


@pytest.fixture
def redis_counters(redis_client: redis.Redis) -> Iterator[RedisCounters]:
    counters = RedisCounters(redis_client, prefix=f"bbtest:{uuid.uuid4().hex}:")
    yield counters
    counters.purge()
    counters.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "memory":
        clock = FakeClock()
        mem = MemoryCounters(clock=clock)
        yield Harness(mem, clock.advance)
        mem.close()
    else:
        counters: RedisCounters = request.getfixturevalue("redis_counters")
        yield Harness(counters, time.sleep)
