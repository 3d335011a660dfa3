"""Redis Counters: shared, atomic counters for several serving processes or hosts.

Every protocol call is one round trip:

- spend: ``INCRBY`` on the campaign total and on its day bucket (with a TTL) in one
  MULTI/EXEC; reads are one ``MGET`` however many campaigns are asked for;
- exposures and engagements: a sorted set per (visitor, key) scored by the caller's time;
  a write is ``ZADD`` + ``ZREMRANGEBYSCORE`` + ``ZREMRANGEBYRANK`` + ``ZCARD`` + ``EXPIRE``
  in one MULTI/EXEC, a read is pipelined ``ZCOUNT``s;
- claims: ``SET key 1 NX EX ttl`` (no check-then-set race);
- rate hits: ``INCR`` + ``EXPIRE`` on a key named after the fixed window's index.

All keys start with a configurable prefix, so several deployments (or test runs) can
share one Redis and :meth:`RedisCounters.purge` can remove exactly one of them.
Connection errors are raised as ``redis.RedisError``; callers on the hot path decide
whether to fail open or closed.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Sequence
from typing import Any

import redis

from backbeat.errors import ValidationFailed
from backbeat.store.counters.limits import (
    DAY_BUCKET_TTL_S,
    MAX_SERIES,
    check_day,
    check_key,
    check_micros,
    check_positive,
)
from backbeat.store.counters.protocol import Spend

_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
DEFAULT_PREFIX = "backbeat:"


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


class RedisCounters:
    """:class:`~.protocol.Counters` over redis-py. The client is thread-safe (a pool)."""

    def __init__(self, client: redis.Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        if not _PREFIX_RE.match(prefix):
            raise ValidationFailed.one("prefix", "1-64 characters of letters, digits, _ . : -")
        self._r = client
        self._p = prefix
        self._owns_client = False

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = DEFAULT_PREFIX, timeout_s: float = 2.0
    ) -> RedisCounters:
        """Connect lazily to `url` (``redis://host:port/db``); the pool is closed by close()."""
        client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        counters = cls(client, prefix=prefix)
        counters._owns_client = True
        return counters

    @property
    def prefix(self) -> str:
        return self._p

    # keys ------------------------------------------------------------------
    def _total_key(self, campaign_id: int) -> str:
        return f"{self._p}spend:{campaign_id}"

    def _day_key(self, campaign_id: int, day: str) -> str:
        return f"{self._p}spend:{campaign_id}:{day}"

    def _exp_key(self, visitor: str, campaign_id: int) -> str:
        return f"{self._p}exp:{campaign_id}:{visitor}"

    def _aud_key(self, audience_key: str, visitor: str) -> str:
        # Length-prefixed so ("a:b", "c") and ("a", "b:c") never share a key.
        return f"{self._p}aud:{len(audience_key)}:{audience_key}:{visitor}"

    @staticmethod
    def _member(now: float) -> str:
        # Sorted-set members must be unique, or two events at the same instant count once.
        return f"{now!r}:{secrets.token_hex(6)}"

    # spend -----------------------------------------------------------------
    def add_spend(self, campaign_id: int, day: str, micros: int) -> Spend:
        check_day(day)
        check_micros(micros)
        day_key = self._day_key(campaign_id, day)
        pipe = self._r.pipeline(transaction=True)
        pipe.incrby(self._total_key(campaign_id), micros)
        pipe.incrby(day_key, micros)
        pipe.expire(day_key, DAY_BUCKET_TTL_S)
        total, today, _ = pipe.execute()
        return Spend(int(total), int(today))

    def spend(self, campaign_id: int, day: str) -> Spend:
        return self.spend_many([campaign_id], day)[campaign_id]

    def spend_many(self, campaign_ids: Sequence[int], day: str) -> dict[int, Spend]:
        check_day(day)
        ids = list(dict.fromkeys(campaign_ids))
        if not ids:
            return {}
        keys: list[str] = []
        for cid in ids:
            keys += [self._total_key(cid), self._day_key(cid, day)]
        values = self._r.mget(keys)
        return {
            cid: Spend(_int(values[2 * i]), _int(values[2 * i + 1])) for i, cid in enumerate(ids)
        }

    # time series -----------------------------------------------------------
    def _append(self, key: str, now: float, keep_s: int) -> int:
        pipe = self._r.pipeline(transaction=True)
        pipe.zadd(key, {self._member(now): now})
        pipe.zremrangebyscore(key, "-inf", now - keep_s)
        pipe.zremrangebyrank(key, 0, -(MAX_SERIES + 1))
        pipe.zcard(key)
        pipe.expire(key, keep_s)
        return int(pipe.execute()[3])

    def _counts(self, keys: Sequence[str], cutoff: float) -> list[int]:
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.zcount(key, f"({cutoff!r}", "+inf")
        return [int(v) for v in pipe.execute()]

    def record_exposure(self, visitor: str, campaign_id: int, now: float, window_s: int) -> int:
        check_key("visitor", visitor)
        check_positive("window_s", window_s)
        return self._append(self._exp_key(visitor, campaign_id), now, window_s)

    def exposures(
        self, visitor: str, campaign_ids: Sequence[int], now: float, window_s: int
    ) -> dict[int, int]:
        check_key("visitor", visitor)
        check_positive("window_s", window_s)
        ids = list(dict.fromkeys(campaign_ids))
        if not ids:
            return {}
        counts = self._counts([self._exp_key(visitor, cid) for cid in ids], now - window_s)
        return dict(zip(ids, counts, strict=True))

    def add_member(self, audience_key: str, visitor: str, now: float, ttl_s: int) -> None:
        check_key("audience_key", audience_key)
        check_key("visitor", visitor)
        check_positive("ttl_s", ttl_s)
        self._append(self._aud_key(audience_key, visitor), now, ttl_s)

    def engagement_count(self, audience_key: str, visitor: str, now: float, window_s: int) -> int:
        check_key("audience_key", audience_key)
        check_key("visitor", visitor)
        check_positive("window_s", window_s)
        return self._counts([self._aud_key(audience_key, visitor)], now - window_s)[0]

    # nonces and rates ------------------------------------------------------
    def claim(self, key: str, ttl_s: int) -> bool:
        check_key("key", key)
        check_positive("ttl_s", ttl_s)
        return bool(self._r.set(f"{self._p}claim:{key}", b"1", nx=True, ex=ttl_s))

    def claimed(self, key: str) -> bool:
        check_key("key", key)
        return bool(self._r.exists(f"{self._p}claim:{key}"))

    def hit(self, key: str, now: float, window_s: int) -> int:
        check_key("key", key)
        check_positive("window_s", window_s)
        index = math.floor(now / window_s)
        rkey = f"{self._p}rate:{window_s}:{index}:{key}"
        pipe = self._r.pipeline(transaction=True)
        pipe.incr(rkey)
        pipe.expire(rkey, window_s)
        return int(pipe.execute()[0])

    # lifecycle -------------------------------------------------------------
    def purge(self) -> int:
        """Delete every key under this prefix (tests and `backbeat reset`); return how many."""
        removed = 0
        batch: list[bytes] = []
        for key in self._r.scan_iter(match=f"{self._p}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                removed += int(self._r.unlink(*batch))
                batch.clear()
        if batch:
            removed += int(self._r.unlink(*batch))
        return removed

    def ping(self) -> None:
        """Round-trip to the server; raises ``redis.RedisError`` when it is unreachable."""
        self._r.ping()

    def close(self) -> None:
        if self._owns_client:
            self._r.close()
