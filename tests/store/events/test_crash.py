"""Crash test: SIGKILL a loaded writer; after replay every acknowledged event is stored once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.spool import Spool
from backbeat.store.events.writer import EventWriter

REPO_ROOT = Path(__file__).resolve().parents[3]
THREADS = 4
ACKS_PER_ROUND = 6000
MAX_ROUND_S = 8.0


def acknowledged(data_dir: Path) -> set[str]:
    ids: set[str] = set()
    for path in data_dir.glob("acked-*.txt"):
        lines = path.read_text().split("\n")
        ids.update(line for line in lines[:-1] if line)  # a line cut by the kill was never whole
    return ids


def run_and_kill(data_dir: Path, until_acked: int) -> None:
    """Start the child (which replays what a previous round left), load it, SIGKILL it."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.events.crash_child", str(data_dir), str(THREADS)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stderr is not None
        if child.stdout.readline().strip() != "ready":
            child.wait(10)
            raise AssertionError(child.stderr.read())
        deadline = time.monotonic() + MAX_ROUND_S
        while len(acknowledged(data_dir)) < until_acked and time.monotonic() < deadline:
            assert child.poll() is None, child.stderr.read()
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL


def test_sigkill_mid_stream_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    run_and_kill(tmp_path, ACKS_PER_ROUND)
    first_round = acknowledged(tmp_path)
    run_and_kill(tmp_path, len(first_round) + ACKS_PER_ROUND)  # replays round one, then dies
    acked = acknowledged(tmp_path)
    assert len(first_round) >= ACKS_PER_ROUND
    assert len(acked) >= len(first_round) + ACKS_PER_ROUND

    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        assert store.ids(first_round) == first_round  # the second start recovered round one
        stored_before = store.ids(acked)
        spool = Spool(tmp_path / "spool")
        assert spool.segments()
        writer = EventWriter(spool, store, flush_rows=5000, flush_interval_ms=500)
        replayed = writer.start()
        writer.close()
        # the kill left acknowledged events only in the spool, and replay brought them in
        assert stored_before < acked
        assert replayed >= len(acked - stored_before)
        assert store.ids(acked) == acked
        assert store.query("SELECT count(*) = count(DISTINCT id) FROM events") == [(True,)]
        assert spool.segments() == []
    finally:
        store.close()
