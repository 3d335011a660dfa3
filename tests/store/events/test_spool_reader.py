"""SpoolReader: one consumer of many producers' spools, with real files and real processes."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backbeat.domain.events import Event
from backbeat.store.events.spool import MAGIC, Spool, SpoolLocked
from backbeat.store.events.spool_reader import SegmentRef, SpoolReader, producer_name
from tests.store.events.builders import make_events
from tests.store.events.test_spool import PairCodec

REPO_ROOT = Path(__file__).resolve().parents[3]


def consume(reader: SpoolReader[Event], refs: list[SegmentRef] | None = None) -> list[Event]:
    """Read and remove every ready segment (or `refs`), as the ingest loop would."""
    out: list[Event] = []
    for ref in reader.ready() if refs is None else refs:
        for record in reader.read(ref):
            out.extend(record)
        reader.remove(ref)
    return out


def test_only_sealed_segments_of_a_live_producer_are_ready(tmp_path: Path) -> None:
    batches = [make_events(3, seed=i) for i in range(3)]
    with Spool(tmp_path / "w-a") as spool, SpoolReader(tmp_path, empty_grace_s=0) as reader:
        first = spool.append(batches[0])
        assert reader.ready() == []  # the active segment may still grow
        spool.seal()
        second = spool.append(batches[1])
        (ref,) = reader.ready()
        assert (ref.producer, ref.segment, ref.final) == ("w-a", first, False)
        assert list(reader.read(ref)) == [batches[0]]
        reader.remove(ref)
        assert spool.append(batches[2]) == second  # the producer carries on undisturbed
        assert reader.ready() == []
    with SpoolReader(tmp_path) as reader:  # the producer stopped: its last segment is ready
        (ref,) = reader.ready()
        assert (ref.segment, ref.final) == (second, True)
        assert [e for r in reader.read(ref) for e in r] == batches[1] + batches[2]
        reader.remove(ref)
        assert reader.ready() == []
        assert reader.stats().retired == 1
    assert [p.name for p in tmp_path.iterdir()] == ["LOCK"]  # the drained directory is gone


def test_refs_are_ordered_by_producer_then_segment(tmp_path: Path) -> None:
    for name in ("w-b", "w-a", "w-c"):
        with Spool(tmp_path / name, segment_bytes=1024) as spool:
            for i in range(6):
                spool.append(make_events(3, seed=i))
    (tmp_path / "not-a-producer.txt").write_text("ignored")
    with SpoolReader(tmp_path) as reader:
        refs = reader.ready()
        assert len(refs) > 6
        assert refs == sorted(refs)
        assert refs[0].producer == "w-a"
        assert {r.producer for r in refs} == {"w-a", "w-b", "w-c"}
        assert all(r.final for r in refs)


def test_reader_waits_for_a_live_producer_without_taking_its_lock(tmp_path: Path) -> None:
    with Spool(tmp_path / "w-a") as spool, SpoolReader(tmp_path, empty_grace_s=0) as reader:
        assert reader.ready() == []  # an empty, live producer directory is left alone
        spool.append(make_events(2))
        assert reader.ready() == []
        assert (tmp_path / "w-a").is_dir()
    with SpoolReader(tmp_path) as reader:  # it holds the directory of a stopped producer
        assert len(reader.ready()) == 1
        with pytest.raises(SpoolLocked):
            Spool(tmp_path / "w-a")


def test_empty_directories_are_removed_only_after_the_grace(tmp_path: Path) -> None:
    (tmp_path / "w-starting").mkdir()  # a producer between mkdir and flock looks like this
    with SpoolReader(tmp_path, empty_grace_s=30) as reader:
        assert reader.ready() == []
        assert (tmp_path / "w-starting").is_dir()
    with SpoolReader(tmp_path, empty_grace_s=0) as reader:
        assert reader.ready() == []
        assert not (tmp_path / "w-starting").exists()


def test_a_producer_may_reopen_a_retired_name(tmp_path: Path) -> None:
    with Spool(tmp_path / "w-a") as spool:
        spool.append(make_events(2, seed=1))
    with SpoolReader(tmp_path) as reader:
        assert len(consume(reader)) == 2
        assert not (tmp_path / "w-a").exists()
        with Spool(tmp_path / "w-a") as again:  # recreates the directory and a fresh LOCK
            again.append(make_events(2, seed=2))
            assert reader.ready() == []
        assert len(consume(reader)) == 2


def test_one_reader_per_root(tmp_path: Path) -> None:
    with SpoolReader(tmp_path), pytest.raises(SpoolLocked):
        SpoolReader(tmp_path)
    SpoolReader(tmp_path).close()


def test_reader_with_a_custom_codec(tmp_path: Path) -> None:
    with Spool(tmp_path / "w-a", codec=PairCodec()) as spool:
        spool.append([("x", 1), ("y", 2)])
        spool.append([("z", 3)])
    with SpoolReader(tmp_path, codec=PairCodec()) as reader:
        (ref,) = reader.ready()
        assert list(reader.read(ref)) == [[("x", 1), ("y", 2)], [("z", 3)]]


def test_torn_tail_of_a_dead_producer_is_cut(tmp_path: Path) -> None:
    good = [make_events(4, seed=1), make_events(2, seed=2)]
    with Spool(tmp_path / "w-a") as spool:
        seg = [spool.append(b) for b in good][-1]
        path = spool.path(seg)
    size = path.stat().st_size
    with path.open("ab") as fh:  # a write cut by the crash: the header promises more
        fh.write(struct.pack("<II", 500, 0) + b"[[" * 20)
    with SpoolReader(tmp_path) as reader:
        (ref,) = reader.ready()
        assert list(reader.read(ref)) == good
        assert path.stat().st_size == size
        assert reader.stats().discarded_bytes == 48
        assert reader.stats().corrupt == []
        reader.remove(ref)
    assert not (tmp_path / "w-a").exists()


def test_corruption_is_kept_aside_with_its_directory(tmp_path: Path) -> None:
    with Spool(tmp_path / "w-a") as spool:
        seg = spool.append(make_events(2, seed=1))
        spool.append(make_events(2, seed=2))
        path = spool.path(seg)
    data = bytearray(path.read_bytes())
    data[len(MAGIC) + 12] ^= 0x01  # inside the first record
    path.write_bytes(bytes(data))
    with SpoolReader(tmp_path) as reader:
        (ref,) = reader.ready()
        assert list(reader.read(ref)) == []
        assert reader.stats().corrupt == [ref]
        reader.remove(ref)
        assert reader.ready() == []
    assert [p.name for p in (tmp_path / "w-a").glob("*.corrupt")] == [f"{path.name}.8.corrupt"]


def test_seals_racing_with_threads_reach_the_reader_exactly_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "w-a", segment_bytes=16 * 1024, seal_after_ms=5)
    batches = {t: [[e] for e in make_events(80, seed=t)] for t in range(6)}
    got: list[Event] = []
    done = threading.Event()

    def produce(t: int) -> None:
        for batch in batches[t]:
            spool.append(batch)

    def sealer() -> None:
        while not done.is_set():
            spool.seal()

    threads = [threading.Thread(target=produce, args=(t,)) for t in batches]
    threads.append(threading.Thread(target=sealer))
    with SpoolReader(tmp_path) as reader:
        for th in threads:
            th.start()
        while any(th.is_alive() for th in threads[:-1]):
            got += consume(reader)
            time.sleep(0.002)
        done.set()
        threads[-1].join()
        while_open = len(got)
        spool.close()
        got += consume(reader)
    assert while_open > 0
    assert sorted(e.id for e in got) == sorted(b[0].id for bs in batches.values() for b in bs)
    for bs in batches.values():  # append order holds within a producer
        ids = {b[0].id for b in bs}
        assert [e.id for e in got if e.id in ids] == [b[0].id for b in bs]


# real producer processes ----------------------------------------------------------


def start_producer(root: Path, acks: Path, threads: int, appends: int) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.store.events.spool_producer_child",
            str(root),
            str(acks),
            str(threads),
            str(appends),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    line = child.stdout.readline().split()
    if line[:1] != ["ready"]:
        child.wait(10)
        raise AssertionError(child.stderr.read())
    return child


def acknowledged(acks: Path) -> list[str]:
    ids: list[str] = []
    for path in sorted(acks.glob("*.txt")):
        lines = path.read_text().split("\n")
        ids += [line for line in lines[:-1] if line]  # a line cut by a kill was never whole
    return ids


def check_order(events: list[Event]) -> None:
    """Within one producer thread, sequence numbers come back in append order."""
    last: dict[str, int] = {}
    for e in events:
        producer, thread, seq = e.decision_id.rsplit(":", 2)
        key = f"{producer}:{thread}"
        assert int(seq) > last.get(key, -1), e.decision_id
        last[key] = int(seq)


def test_two_producer_processes_are_read_exactly_once(tmp_path: Path) -> None:
    root, acks = tmp_path / "spools", tmp_path / "acks"
    acks.mkdir()
    with SpoolReader(root, empty_grace_s=0) as reader:
        children = [start_producer(root, acks, threads=3, appends=150) for _ in range(2)]
        got: list[Event] = []
        while any(c.poll() is None for c in children):
            got += consume(reader)
            time.sleep(0.01)
        for c in children:
            assert c.returncode == 0, c.stderr.read() if c.stderr else ""
        while_running = len(got)
        got += consume(reader)  # what the stopped producers left in their last segments
        assert reader.ready() == []
    acked = acknowledged(acks)
    assert len(acked) == len(set(acked)) >= 2 * 3 * 150
    assert while_running > 0  # sealed segments were consumed while the producers ran
    read_ids = [e.id for e in got]
    assert len(read_ids) == len(set(read_ids))
    assert set(read_ids) == set(acked)
    check_order(got)
    assert [p.name for p in root.iterdir()] == ["LOCK"]


def test_sigkilled_producer_loses_no_acknowledged_record(tmp_path: Path) -> None:
    root, acks = tmp_path / "spools", tmp_path / "acks"
    acks.mkdir()
    got: list[Event] = []
    with SpoolReader(root) as reader:
        child = start_producer(root, acks, threads=4, appends=0)
        try:
            deadline = time.monotonic() + 10
            while len(acknowledged(acks)) < 3000 and time.monotonic() < deadline:
                assert child.poll() is None
                got += consume(reader)
                time.sleep(0.01)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        assert child.returncode == -signal.SIGKILL
        (producer,) = (p for p in root.iterdir() if p.is_dir())
        last = max(producer.glob("seg-*.log"))
        size = last.stat().st_size
        # The kill did not tear a record (it may even have come before the new segment's
        # header was written): tear one as a crash would.
        if size < len(MAGIC) or ends_on_record_boundary(last):
            with last.open("ab") as fh:
                fh.write(MAGIC[size:] if size < len(MAGIC) else b"")
                fh.write(struct.pack("<II", 4096, 0) + b"[" * 10)
        refs = reader.ready()
        assert refs and all(r.final for r in refs)
        got += consume(reader, refs)
        assert reader.stats().discarded_bytes > 0
        assert reader.stats().corrupt == []
        assert not producer.exists()
    acked = acknowledged(acks)
    assert len(acked) >= 3000
    read_ids = [e.id for e in got]
    assert len(read_ids) == len(set(read_ids))
    assert set(acked) <= set(read_ids)
    check_order(got)


def ends_on_record_boundary(path: Path) -> bool:
    data = path.read_bytes()
    off = len(MAGIC)
    while off + 8 <= len(data):
        (length,) = struct.unpack_from("<I", data, off)
        off += 8 + length
    return off == len(data) and data.startswith(MAGIC)


def test_producer_name_is_unique_per_call() -> None:
    names = {producer_name() for _ in range(100)}
    assert len(names) == 100
    assert all(n.startswith("w-") and n.endswith(f"-{os.getpid()}") for n in names)
