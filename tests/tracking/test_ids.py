"""UUIDv7: layout per RFC 9562, strict ordering, clock handling and timestamp extraction."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest

from backbeat.errors import ValidationFailed
from backbeat.tracking.ids import UUID7Generator, new_id, uuid7_from_parts, uuid7_ms, uuid7_time

MS = 1_764_331_200_123  # 2025-11-28 12:00:00.123 UTC


def test_layout_matches_rfc_9562() -> None:
    u = uuid7_from_parts(MS, (0xABC << 62) | 0x1234)
    assert u.version == 7
    assert u.variant == uuid.RFC_4122
    assert u.int >> 80 == MS
    assert (u.int >> 64) & 0xFFF == 0xABC  # rand_a
    assert u.int & ((1 << 62) - 1) == 0x1234  # rand_b
    # The canonical text starts with the 48-bit time in hex, then the version nibble.
    assert str(u).replace("-", "")[:12] == f"{MS:012x}"
    assert str(u)[14] == "7"


def test_rfc_9562_test_vector() -> None:
    # RFC 9562 appendix A.6: 017F22E2-79B0-7CC3-98C4-DC0C0C07398F for 2022-02-22 14:22:22 -05:00.
    vector = uuid.UUID("017F22E2-79B0-7CC3-98C4-DC0C0C07398F")
    rand74 = (((vector.int >> 64) & 0xFFF) << 62) | (vector.int & ((1 << 62) - 1))
    assert uuid7_from_parts(0x017F22E279B0, rand74) == vector
    assert uuid7_time(vector) == datetime(2022, 2, 22, 19, 22, 22, tzinfo=UTC)


def test_parts_out_of_range_are_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        uuid7_from_parts(1 << 48, 0)
    assert err.value.fields[0].field == "unix_ms"
    with pytest.raises(ValidationFailed):
        uuid7_from_parts(0, 1 << 74)


def test_generator_uses_the_injected_clock_and_rng() -> None:
    gen = UUID7Generator(clock_ns=lambda: MS * 1_000_000 + 999_999, rng=lambda n: b"\xff" * n)
    u = gen()
    assert uuid7_ms(u) == MS
    # The top random bit is cleared so the in-millisecond counter has room to grow.
    rand74 = (((u.int >> 64) & 0xFFF) << 62) | (u.int & ((1 << 62) - 1))
    assert rand74 == (1 << 73) - 1


def test_ids_in_one_millisecond_are_strictly_increasing() -> None:
    gen = UUID7Generator(clock_ns=lambda: MS * 1_000_000, rng=lambda n: bytes(n))
    ids = [gen() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert all(uuid7_ms(u) == MS for u in ids)
    # Text order equals time order too (the event store sorts by the string).
    assert [str(u) for u in ids] == sorted(str(u) for u in ids)


def test_clock_going_backwards_never_yields_a_smaller_id() -> None:
    times = iter([MS, MS + 5, MS + 2, MS + 2, MS + 6])
    gen = UUID7Generator(clock_ns=lambda: next(times) * 1_000_000, rng=lambda n: bytes(n))
    ids = [gen() for _ in range(5)]
    assert ids == sorted(ids)
    assert [uuid7_ms(u) for u in ids] == [MS, MS + 5, MS + 5, MS + 5, MS + 6]


def test_counter_overflow_moves_to_the_next_millisecond() -> None:
    gen = UUID7Generator(clock_ns=lambda: MS * 1_000_000, rng=lambda n: b"\xff" * n)
    first = gen()  # counter starts at 2**73 - 1
    gen._last_rand = (1 << 74) - 1  # jump to the last value of this millisecond
    after = gen()
    assert uuid7_ms(after) == MS + 1
    assert after > first


def test_many_threads_get_distinct_ordered_ids() -> None:
    gen = UUID7Generator()
    out: list[list[uuid.UUID]] = [[] for _ in range(8)]

    def work(i: int) -> None:
        out[i] = [gen() for _ in range(500)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [u for chunk in out for u in chunk]
    assert len(set(everything)) == 4000
    for chunk in out:
        assert chunk == sorted(chunk)


def test_new_id_is_a_current_v7_string() -> None:
    before = datetime.now(UTC)
    text = new_id()
    after = datetime.now(UTC)
    assert len(text) == 36
    made = uuid7_time(text)
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= made <= after


def test_timestamp_extraction_refuses_other_versions_and_garbage() -> None:
    with pytest.raises(ValidationFailed, match="version 7"):
        uuid7_ms(uuid.uuid4())
    with pytest.raises(ValidationFailed) as err:
        uuid7_time("not-a-uuid", field="decision_id")
    assert err.value.fields[0].field == "decision_id"


def test_text_is_the_canonical_string_of_the_same_ids() -> None:
    clock = iter(range(1_700_000_000_000_000_000, 1_700_000_000_000_000_000 + 3_000_000, 500_000))
    a = UUID7Generator(clock_ns=lambda: next(clock), rng=lambda n: bytes(range(n)))
    clock2 = iter(range(1_700_000_000_000_000_000, 1_700_000_000_000_000_000 + 3_000_000, 500_000))
    b = UUID7Generator(clock_ns=lambda: next(clock2), rng=lambda n: bytes(range(n)))
    texts = [a.text() for _ in range(6)]
    assert texts == [str(b()) for _ in range(6)]
    assert texts == sorted(texts) and len(set(texts)) == 6
    assert all(len(t) == 36 and uuid.UUID(t).version == 7 for t in texts)
