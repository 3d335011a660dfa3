"""Time-ordered ids: UUID version 7 (RFC 9562, section 5.7).

Layout (128 bits): 48-bit Unix time in milliseconds, 4-bit version (0111), 12 bits
`rand_a`, 2-bit variant (10), 62 bits `rand_b`. Python 3.11's `uuid` has no uuid7, so it
is built here.

Ids from one :class:`UUID7Generator` are strictly increasing, which keeps event-store
inserts append-only and lets replay sort by id. Within one millisecond the 74 random bits
are treated as a counter (RFC 9562 section 6.2, method 2: "monotonic random"): a new
millisecond draws fresh random bits with the top bit clear, and each further id in that
millisecond adds one. If the clock steps backwards the generator keeps its last
millisecond rather than emit a smaller id.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from backbeat.errors import ValidationFailed

_RAND_BITS = 74  # 12 bits rand_a + 62 bits rand_b
_RAND_MASK = (1 << _RAND_BITS) - 1
_MAX_MS = (1 << 48) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def uuid7_from_parts(unix_ms: int, rand74: int) -> uuid.UUID:
    """Assemble a UUIDv7 from its millisecond timestamp and 74 random (or counter) bits."""
    if not 0 <= unix_ms <= _MAX_MS:
        raise ValidationFailed.one("unix_ms", "must fit in 48 bits")
    if not 0 <= rand74 <= _RAND_MASK:
        raise ValidationFailed.one("rand74", "must fit in 74 bits")
    return uuid.UUID(int=_uuid7_int(unix_ms, rand74))


def _uuid7_int(unix_ms: int, rand74: int) -> int:
    rand_a = rand74 >> 62
    rand_b = rand74 & ((1 << 62) - 1)
    return (unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b


def _text(value: int) -> str:
    """The canonical 8-4-4-4-12 form of a 128-bit int (what ``str(uuid.UUID(int=v))`` gives)."""
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class UUID7Generator:
    """A thread-safe, strictly increasing UUIDv7 source with an injectable clock and rng."""

    def __init__(
        self,
        clock_ns: Callable[[], int] = time.time_ns,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._clock_ns = clock_ns
        self._rng = rng
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def _fresh(self) -> int:
        # Top bit clear: at least 2**73 increments fit before the counter could overflow.
        return int.from_bytes(self._rng(10), "big") & (_RAND_MASK >> 1)

    def _next(self) -> int:
        ms = self._clock_ns() // 1_000_000
        with self._lock:
            if ms > self._last_ms:
                self._last_ms, self._last_rand = ms, self._fresh()
            else:  # same millisecond, or the clock went back: count on from the last id
                self._last_rand += 1
                if self._last_rand > _RAND_MASK:
                    self._last_ms, self._last_rand = self._last_ms + 1, self._fresh()
            if self._last_ms > _MAX_MS:
                raise ValidationFailed.one("unix_ms", "must fit in 48 bits")
            return _uuid7_int(self._last_ms, self._last_rand)

    def __call__(self) -> uuid.UUID:
        return uuid.UUID(int=self._next())

    def text(self) -> str:
        """The next id as its canonical 36-character string, without a ``uuid.UUID``."""
        return _text(self._next())


_default = UUID7Generator()


def new_id() -> str:
    """A new UUIDv7 as its canonical 36-character string (the event and decision id form)."""
    return _default.text()


def _parse(value: uuid.UUID | str, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed.one(field, f"{str(value)[:64]!r} is not a UUID") from None


def uuid7_ms(value: uuid.UUID | str, field: str = "id") -> int:
    """The Unix time in milliseconds inside a UUIDv7; other versions are refused."""
    u = _parse(value, field)
    if u.version != 7 or u.variant != uuid.RFC_4122:
        raise ValidationFailed.one(field, "is not a version 7 UUID")
    return u.int >> 80


def uuid7_time(value: uuid.UUID | str, field: str = "id") -> datetime:
    """When a UUIDv7 was made, as an aware UTC datetime (millisecond precision)."""
    return _EPOCH + timedelta(milliseconds=uuid7_ms(value, field))
