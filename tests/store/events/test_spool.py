"""The spool: framed records, group commit, rotation, checkpoints and torn-record recovery."""

from __future__ import annotations

import operator
import os
import struct
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

from backbeat.domain.events import Event
from backbeat.store.events.schema import COLUMN_NAMES
from backbeat.store.events.spool import MAGIC, Spool, SpoolLocked, SpoolUnavailable, encode
from tests.store.events.builders import make_event, make_events


def replayed(spool: Spool[Event]) -> list[Event]:
    return [e for record in spool.replay() for e in record.events]


def test_appended_events_replay_identically(tmp_path: Path) -> None:
    batches = [make_events(7, seed=1), [make_event(seed=2)], make_events(30, seed=3)]
    with Spool(tmp_path) as spool:
        for batch in batches:
            spool.append(batch)
    with Spool(tmp_path) as again:
        assert replayed(again) == [e for b in batches for e in b]


def test_record_layout_is_length_crc_payload(tmp_path: Path) -> None:
    events = make_events(3)
    with Spool(tmp_path) as spool:
        seg = spool.append(events)
        data = spool.path(seg).read_bytes()
    assert data[:8] == MAGIC
    assert data[8:] == encode(events)
    (length,) = struct.unpack_from("<I", data, 8)
    assert length == len(data) - 16


def test_concurrent_appends_share_fsyncs(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    per_thread = 40
    batches = {t: make_events(per_thread, seed=t) for t in range(8)}

    def produce(t: int) -> None:
        for e in batches[t]:
            spool.append([e])

    threads = [threading.Thread(target=produce, args=(t,)) for t in batches]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stats = spool.stats()
    spool.close()
    assert stats.records == 8 * per_thread
    assert stats.groups < stats.records  # several producers' records per fsync
    with Spool(tmp_path) as again:
        got = replayed(again)
    assert sorted(e.id for e in got) == sorted(e.id for b in batches.values() for e in b)


def test_segments_rotate_by_size_and_are_deleted_once_applied(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=4096)
    placed: dict[int, int] = {}
    for i in range(30):
        seg = spool.append(make_events(5, seed=i))
        placed[seg] = placed.get(seg, 0) + 5
    segs = sorted(placed)
    assert len(segs) >= 3
    assert spool.segments() == segs
    assert all(spool.path(s).stat().st_size <= 4096 for s in segs[:-1])
    # applying part of a sealed segment keeps it; applying the rest deletes it
    assert spool.mark_applied(segs[0], placed[segs[0]] - 1) is False
    assert spool.path(segs[0]).exists()
    assert spool.mark_applied(segs[0], 1) is True
    assert not spool.path(segs[0]).exists()
    # the active segment is never deleted while it can still grow
    assert spool.mark_applied(segs[-1], placed[segs[-1]]) is False
    assert spool.path(segs[-1]).exists()
    for s in segs[1:-1]:
        spool.mark_applied(s, placed[s])
    spool.close()  # seals the fully applied active segment, so it goes too
    assert spool.segments() == []


def test_unapplied_segments_survive_close_and_replay_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=2048)
    batches = [make_events(4, seed=i) for i in range(12)]
    for b in batches:
        spool.append(b)
    spool.close()
    again = Spool(tmp_path)
    records = list(again.replay())
    assert [e for r in records for e in r.events] == [e for b in batches for e in b]
    assert [r.segment for r in records] == sorted(r.segment for r in records)
    # new appends go to a fresh segment after the recovered ones
    assert again.append(make_events(1, seed=99)) > records[-1].segment
    for seg in {r.segment for r in records}:
        again.mark_applied(seg, sum(len(r.events) for r in records if r.segment == seg))
    assert len(again.segments()) == 1
    again.close()


def write_two_records(tmp_path: Path) -> tuple[Path, list[Event], int]:
    first = make_events(5, seed=1)
    with Spool(tmp_path) as spool:
        seg = spool.append(first)
        spool.append(make_events(5, seed=2))
        path = spool.path(seg)
    return path, first, len(MAGIC) + len(encode(first))


@pytest.mark.parametrize(
    "damage",
    ["cut_in_header", "cut_in_payload", "flip_last_byte", "length_too_long"],
)
def test_torn_final_record_is_dropped_and_truncated(tmp_path: Path, damage: str) -> None:
    path, first, good_end = write_two_records(tmp_path)
    data = bytearray(path.read_bytes())
    if damage == "cut_in_header":
        data = data[: good_end + 5]
    elif damage == "cut_in_payload":
        data = data[: len(data) - 17]
    elif damage == "flip_last_byte":
        data[-1] ^= 0xFF
    else:
        struct.pack_into("<I", data, good_end, len(data))
    path.write_bytes(bytes(data))
    with Spool(tmp_path) as spool:
        assert replayed(spool) == first
        assert spool.stats().discarded_bytes == len(data) - good_end
        assert spool.stats().corrupt_segments == []
    assert path.stat().st_size == good_end
    assert list(tmp_path.glob("*.corrupt")) == []


def test_garbage_after_the_last_record_is_dropped(tmp_path: Path) -> None:
    path, first, good_end = write_two_records(tmp_path)
    second_len = path.stat().st_size - good_end
    with path.open("ab") as fh:
        fh.write(os.urandom(3))  # a crash mid-header of a third record
    with Spool(tmp_path) as spool:
        got = replayed(spool)
    assert got[:5] == first
    assert len(got) == 10
    assert path.stat().st_size == good_end + second_len


def test_corruption_before_the_end_is_kept_aside(tmp_path: Path) -> None:
    path, _, _ = write_two_records(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(MAGIC) + 12] ^= 0x01  # inside the first record's payload
    path.write_bytes(bytes(data))
    with Spool(tmp_path) as spool:
        assert replayed(spool) == []
        assert spool.stats().corrupt_segments == [int(path.stem[4:])]
    (aside,) = tmp_path.glob("*.corrupt")
    assert aside.read_bytes() == bytes(data[len(MAGIC) :])


def test_segment_cut_inside_its_magic_is_removed(tmp_path: Path) -> None:
    (tmp_path / "seg-0000000000000004.log").write_bytes(MAGIC[:3])
    with Spool(tmp_path) as spool:
        records = list(spool.replay())
        assert records == []
        assert spool.segments() == []


def test_one_process_per_spool_directory(tmp_path: Path) -> None:
    with Spool(tmp_path), pytest.raises(SpoolLocked):
        Spool(tmp_path)
    Spool(tmp_path).close()  # released on close


def test_failed_write_is_reported_not_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    seg = spool.append(make_events(2, seed=1))
    # Make the next write fail for real: swap the segment's descriptor for a read-only one.
    ro = os.open(spool.path(seg), os.O_RDONLY)
    os.dup2(ro, spool._fd)  # type: ignore[arg-type]
    os.close(ro)
    with pytest.raises(SpoolUnavailable) as err:
        spool.append(make_events(2, seed=2))
    assert err.value.status == 503
    spool.close()
    with Spool(tmp_path) as again:
        assert [e.id for e in replayed(again)] == [e.id for e in make_events(2, seed=1)]


def test_closed_spool_refuses_appends(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.close()
    spool.close()
    with pytest.raises(SpoolUnavailable):
        spool.append(make_events(1))


# codecs -----------------------------------------------------------------------


def encode_before_codecs(events: Sequence[Event]) -> bytes:
    """The record encoder as it was before codecs existed (a frozen copy, do not update)."""
    payload = orjson.dumps(list(map(operator.attrgetter(*COLUMN_NAMES), events)))
    length = struct.pack("<I", len(payload))
    return length + struct.pack("<I", zlib.crc32(payload, zlib.crc32(length))) + payload


def test_default_codec_keeps_the_format_and_reads_old_spools(tmp_path: Path) -> None:
    batches = [make_events(6, seed=1), [make_event(seed=2)], make_events(3, seed=4)]
    old = tmp_path / "old"
    old.mkdir()
    (old / "seg-0000000000000003.log").write_bytes(
        MAGIC + b"".join(encode_before_codecs(b) for b in batches)
    )
    with Spool(old) as spool:
        records = list(spool.replay())
    assert [r.events for r in records] == batches
    assert [r.items for r in records] == batches
    assert {r.segment for r in records} == {3}
    with Spool(tmp_path / "new") as spool:
        seg = spool.append(batches[0])
        written = spool.path(seg).read_bytes()
    assert written == MAGIC + encode_before_codecs(batches[0])


class PairCodec:
    """(name, count) pairs as an orjson object: a codec unrelated to events."""

    def encode(self, items: Sequence[tuple[str, int]], /) -> bytes:
        return orjson.dumps({"pairs": [[k, v] for k, v in items]})

    def decode(self, payload: bytes, /) -> list[tuple[str, int]]:
        return [(str(k), int(v)) for k, v in orjson.loads(payload)["pairs"]]


def test_custom_codec_round_trips(tmp_path: Path) -> None:
    batches = [[("a", 1), ("b", 2)], [("ü", -5)], [("c", 2**40)] * 50]
    with Spool(tmp_path, codec=PairCodec(), segment_bytes=256) as spool:
        segs = [spool.append(b) for b in batches]
        data = spool.path(segs[0]).read_bytes()
    assert len(set(segs)) > 1  # rotation works with any payload
    assert data[8 + 8 :].startswith(b'{"pairs":[["a",1]')
    with Spool(tmp_path, codec=PairCodec()) as again:
        assert [r.items for r in again.replay()] == batches


def test_undecodable_record_is_kept_aside_as_corruption(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:  # event records ...
        spool.append(make_events(2))
        spool.append(make_events(2, seed=3))
    with Spool(tmp_path, codec=PairCodec()) as wrong:  # ... read with the wrong codec
        assert list(wrong.replay()) == []
        assert wrong.stats().corrupt_segments == [1]
    assert len(list(tmp_path.glob("*.corrupt"))) == 1


# sealing ----------------------------------------------------------------------


def test_seal_starts_a_new_segment_and_is_idempotent_when_empty(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        assert spool.seal() is False  # nothing written yet
        first = spool.append(make_events(2, seed=1))
        assert spool.seal() is True
        assert spool.segments() == [first, first + 1]  # the next segment exists: first is sealed
        assert spool.seal() is False
        assert spool.segments() == [first, first + 1]
        assert spool.append(make_events(2, seed=2)) == first + 1
        assert spool.stats().seals == 1
    with Spool(tmp_path) as again:
        assert [len(r.events) for r in again.replay()] == [2, 2]


def test_closing_after_a_seal_leaves_no_empty_segment(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        seg = spool.append(make_events(1))
        spool.seal()
    assert Spool(tmp_path).segments() == [seg]


def test_seal_after_ms_seals_on_append_and_on_demand(tmp_path: Path) -> None:
    with Spool(tmp_path, seal_after_ms=80) as spool:
        a = spool.append(make_events(1, seed=1))
        assert spool.append(make_events(1, seed=2)) == a  # young: same segment
        assert spool.seal_if_older() is False
        time.sleep(0.1)
        b = spool.append(make_events(1, seed=3))  # the segment turned 80 ms old: sealed first
        assert b == a + 1
        assert spool.seal_if_older() is False  # b's first record is fresh
        assert spool.seal_if_older(0) is True
        assert spool.segments() == [a, b, b + 1]
        time.sleep(0.1)
        assert spool.seal_if_older() is False  # the new segment holds nothing
    with Spool(tmp_path) as plain, pytest.raises(ValueError):
        plain.seal_if_older()


def test_seals_racing_with_appends_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=64 * 1024)
    batches = {t: [[e] for e in make_events(60, seed=t)] for t in range(6)}
    placed: dict[str, int] = {}
    stop = threading.Event()
    seals = 0

    def produce(t: int) -> None:
        for batch in batches[t]:
            placed[batch[0].id] = spool.append(batch)

    def sealer() -> None:
        nonlocal seals
        while not stop.is_set():
            seals += spool.seal()

    threads = [threading.Thread(target=produce, args=(t,)) for t in batches]
    sealing = threading.Thread(target=sealer)
    sealing.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stop.set()
    sealing.join()
    spool.close()
    assert seals >= 5
    with Spool(tmp_path) as again:
        records = list(again.replay())
    got = [(e.id, r.segment) for r in records for e in r.events]
    assert len(got) == len(placed) == 6 * 60
    assert dict(got) == placed  # each record in the segment its append reported
    for t, thread_batches in batches.items():  # one producer's records keep their order
        ids = [b[0].id for b in thread_batches]
        assert [i for i, _ in got if i in set(ids)] == ids, t
