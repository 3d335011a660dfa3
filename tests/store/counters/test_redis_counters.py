"""RedisCounters specifics against the real Redis on 127.0.0.1:6379: TTLs, prefixes, purge."""

from __future__ import annotations

import uuid

import pytest
import redis

from backbeat.errors import ValidationFailed
from backbeat.store.counters.limits import DAY_BUCKET_TTL_S
from backbeat.store.counters.redis_counters import RedisCounters

pytestmark = pytest.mark.redis
T0 = 1_764_000_000.0


def keys(client: redis.Redis, prefix: str) -> list[str]:
    return sorted(k.decode() for k in client.scan_iter(match=f"{prefix}*"))


def test_every_key_but_campaign_totals_carries_a_ttl(
    redis_counters: RedisCounters, redis_client: redis.Redis
) -> None:
    c = redis_counters
    c.add_spend(1, "2026-11-28", 10)
    c.record_exposure("v1", 1, T0, 600)
    c.claim("imp:x", 300)
    c.hit("rate:v1", T0, 60)
    c.add_member("clicked:1", "v1", T0, 900)
    p = c.prefix
    ttls = {k.removeprefix(p): redis_client.ttl(k) for k in keys(redis_client, p)}
    assert ttls.pop("spend:1") == -1  # the total never expires
    assert 0 < ttls.pop("spend:1:2026-11-28") <= DAY_BUCKET_TTL_S
    assert 0 < ttls.pop("exp:1:v1") <= 600
    assert 0 < ttls.pop("claim:imp:x") <= 300
    assert 0 < ttls.pop(f"rate:60:{int(T0 // 60)}:rate:v1") <= 60
    assert 0 < ttls.pop("aud:9:clicked:1:v1") <= 900
    assert ttls == {}


def test_purge_removes_only_its_own_prefix(redis_client: redis.Redis) -> None:
    a = RedisCounters(redis_client, prefix=f"bbtest:{uuid.uuid4().hex}:")
    b = RedisCounters(redis_client, prefix=f"bbtest:{uuid.uuid4().hex}:")
    try:
        a.add_spend(1, "d", 5)
        a.claim("k", 60)
        b.add_spend(1, "d", 7)
        assert a.purge() == 3
        assert keys(redis_client, a.prefix) == []
        assert b.spend(1, "d").total_micros == 7
    finally:
        a.purge()
        b.purge()


def test_prefix_must_be_safe_for_key_patterns(redis_client: redis.Redis) -> None:
    with pytest.raises(ValidationFailed) as err:
        RedisCounters(redis_client, prefix="bad*prefix")
    assert err.value.fields[0].field == "prefix"


def test_from_url_owns_and_closes_its_pool() -> None:
    c = RedisCounters.from_url("redis://127.0.0.1:6379/0", prefix=f"bbtest:{uuid.uuid4().hex}:")
    try:
        c.ping()
        assert c.claim("k", 5) is True
    finally:
        c.purge()
        c.close()


def test_unreachable_server_raises_a_redis_error() -> None:
    c = RedisCounters.from_url("redis://127.0.0.1:1/0", timeout_s=0.5)
    with pytest.raises(redis.ConnectionError):
        c.claim("k", 5)
    c.close()
