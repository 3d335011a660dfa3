"""SpoolSink: a worker's acknowledged items reach a SpoolReader in another directory owner."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from backbeat.store.events.handoff import SpoolSink
from backbeat.store.events.spool_format import EVENT_CODEC
from backbeat.store.events.spool_reader import SpoolReader
from tests.store.events.builders import make_event


def drain(reader: SpoolReader, deadline_s: float = 10.0) -> list[str]:  # type: ignore[type-arg]
    ids: list[str] = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for ref in reader.ready():
            for record in reader.read(ref):
                ids.extend(e.id for e in record)
            reader.remove(ref)
        if ids:
            return ids
        time.sleep(0.01)
    return ids


def test_the_sealer_hands_a_quiet_workers_last_items_over(tmp_path: Path) -> None:
    sink = SpoolSink(tmp_path, EVENT_CODEC, seal_ms=20)
    reader = SpoolReader(tmp_path, empty_grace_s=0)
    sink.start()
    try:
        sink.submit([make_event(id="e1"), make_event(id="e2")])
        assert drain(reader) == ["e1", "e2"]  # while the worker still runs
        assert sink.stats().submitted == 2
    finally:
        sink.close()
        reader.close()


def test_without_the_sealer_items_wait_for_flush_or_close(tmp_path: Path) -> None:
    sink = SpoolSink(tmp_path, EVENT_CODEC, seal_ms=60_000)
    reader = SpoolReader(tmp_path, empty_grace_s=0)
    try:
        sink.submit([make_event(id="e1")])
        assert reader.ready() == []
        assert sink.flush()
        assert drain(reader) == ["e1"]
        sink.submit([make_event(id="e2")])
        sink.close()
        sink.close()  # idempotent
        assert drain(reader) == ["e2"]
    finally:
        reader.close()


def test_each_sink_has_a_directory_of_its_own(tmp_path: Path) -> None:
    a, b = SpoolSink(tmp_path, EVENT_CODEC), SpoolSink(tmp_path, EVENT_CODEC, prefix="x")
    try:
        assert a.spool.directory != b.spool.directory
        assert b.spool.directory.name.startswith("x-")
    finally:
        a.close()
        b.close()
    with pytest.raises(ValueError):
        SpoolSink(tmp_path, EVENT_CODEC, seal_ms=0)


def test_spooled_rows_become_the_same_arrow_table_as_events() -> None:
    from datetime import UTC, datetime

    from backbeat.domain.events import Attribution, DropReason
    from backbeat.store.events.handoff import RowCodec, rows_to_arrow
    from backbeat.store.events.schema import to_arrow

    events = [
        make_event(id="a", ts=datetime(2026, 3, 2, 9, 15, 0, 123456, UTC)),
        make_event(id="b", ts=datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC), drop_reason=None,
                   attribution=None, valid=True),
        make_event(id="c", drop_reason=DropReason.BOT, attribution=Attribution.CLICK_THROUGH),
    ]
    rows = RowCodec().decode(EVENT_CODEC.encode(events))
    assert rows_to_arrow(rows).equals(to_arrow(events))
    assert rows_to_arrow([]).num_rows == 0


def test_rows_that_do_not_fit_take_the_validating_path() -> None:
    from backbeat.store.events.handoff import RowCodec, rows_to_arrow

    good, bad = make_event(id="ok"), make_event(id="bad")
    rows = RowCodec().decode(EVENT_CODEC.encode([good, bad]))
    rows[1][2] = "not-an-event-type"  # a value the schema refuses
    table = rows_to_arrow(rows)
    assert table.column("id").to_pylist() == ["ok"]
    rows[0][5] = 1.5  # an id that is not an integer: never truncated silently
    assert rows_to_arrow(rows[:1]).num_rows == 0
    with pytest.raises(ValueError):
        RowCodec().decode(b'{"not": "rows"}')


def test_a_sink_for_unacknowledged_items_skips_fdatasync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    calls: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)
    quiet = SpoolSink(tmp_path / "decisions", EVENT_CODEC, durable=False)
    quiet.submit([make_event(id="d1")])
    quiet.submit([make_event(id="d2")])
    assert calls == []
    loud = SpoolSink(tmp_path / "hits", EVENT_CODEC)
    loud.submit([make_event(id="h1")])
    assert calls  # an acknowledged append is on disk before submit returns
    quiet.close()
    loud.close()
    reader = SpoolReader(tmp_path / "decisions", empty_grace_s=0)
    try:
        assert drain(reader) == ["d1", "d2"]  # the page cache has them: nothing is lost
    finally:
        reader.close()
