"""open_counters(): the backend the settings choose, and clear errors when Redis is wrong."""

from __future__ import annotations

import pytest

from backbeat.config import load_settings
from backbeat.errors import ConfigError
from backbeat.store.counters import open_counters
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.counters.redis_counters import RedisCounters


def test_memory_is_the_default() -> None:
    counters = open_counters(load_settings(counters_backend="memory"))
    assert isinstance(counters, MemoryCounters)
    assert counters.claim("k", 5) is True
    counters.close()


@pytest.mark.redis
def test_redis_backend_connects_to_the_configured_url() -> None:
    settings = load_settings(counters_backend="redis", redis_url="redis://127.0.0.1:6379/0")
    counters = open_counters(settings, prefix="bbtest:open:")
    assert isinstance(counters, RedisCounters)
    try:
        assert counters.hit("k", 0.0, 60) >= 1
    finally:
        counters.purge()
        counters.close()


def test_unreachable_redis_fails_at_startup_naming_the_variable() -> None:
    settings = load_settings(
        counters_backend="redis", redis_url="redis://user:hunter2@127.0.0.1:1/0"
    )
    with pytest.raises(ConfigError) as err:
        open_counters(settings)
    message = str(err.value)
    assert "BACKBEAT_REDIS_URL" in message
    assert "hunter2" not in message
    assert "user:***@127.0.0.1:1" in message


def test_malformed_redis_url_is_a_config_error() -> None:
    settings = load_settings(counters_backend="redis", redis_url="http://127.0.0.1:6379")
    with pytest.raises(ConfigError, match="BACKBEAT_REDIS_URL"):
        open_counters(settings)
