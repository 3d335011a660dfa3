"""Event write throughput: the writer (validate + spool fsync + DuckDB) against raw baselines.

Run: ``.venv/bin/python bench/bench_event_writes.py [--events N] [--threads T]
[--only STAGE,...] [--at-scale N]``.
Every figure is events per second on this machine, measured end to end for its stage:

* raw Arrow append: prebuilt 10k-row Arrow tables into a plain DuckDB table (no key, no
  rollup): the ceiling.
* executemany: row-at-a-time inserts, the trap the store avoids (a small sample).
* store.append_table: prebuilt Arrow through the store (dedupe anti-join, the rollups'
  merges).
* store.append_batch: Event objects through the store (adds the Python -> Arrow conversion).
* spool.append: T threads appending one event per call (group commit + fdatasync).
* writer.submit: T threads submitting `--per-submit` events per call, acknowledged after
  fsync, then stored by the writer thread; the rate counts until everything is stored.
* store.append_table at scale (``--at-scale N``, off by default): the same 10k-row
  appends into a store that already holds N events made by ``bench_reports.py``'s
  generator (``report_data.py``: 2,000 campaigns, 600 placements, so the rollups grow as in
  the report benchmark); the appended rows continue its timeline. The preload is not timed.
  The note gives the file's size once the store is closed.
* append by append as the table grows (``--growth N``, off by default): appends of
  ``--growth-rows`` rows of the same generator into a fresh store with one DuckDB thread,
  as the ingest process of ``backbeat serve --workers N`` opens it, up to N rows, each
  append timed: the median and slowest append of each fifth of the run, the process's CPU
  and the file, for each checkpoint policy in ``--growth-checkpoints`` (the store's own,
  after each filled row group, and DuckDB's 16 MB WAL threshold), ``--growth-rounds``
  times in turn.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from backbeat.domain.events import DropReason, Event, EventType
from backbeat.store.events.duckdb_store import ROW_GROUP_ROWS, DuckDBEventStore
from backbeat.store.events.schema import COLUMN_NAMES, to_arrow
from backbeat.store.events.spool import Spool
from backbeat.store.events.writer import EventWriter

BATCH = 10_000
STAGES = ("raw", "executemany", "append_table", "append_batch", "spool", "writer")


def make_events(n: int, seed: int) -> list[Event]:
    """Realistic variety: ~50 campaigns, a few countries and devices, time-ordered ids."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    types = [EventType.DECISION, EventType.IMPRESSION, EventType.IMPRESSION, EventType.CLICK]
    out = []
    for i in range(n):
        ts = start + timedelta(milliseconds=i * 3)
        ms = f"{int(ts.timestamp() * 1000):012x}"
        valid = rng.random() < 0.9
        out.append(
            Event(
                id=f"{ms[:8]}-{ms[8:]}-7{seed % 4096:03x}-8{rng.getrandbits(12):03x}-"
                f"{rng.getrandbits(48):012x}",
                ts=ts,
                type=rng.choice(types),
                valid=valid,
                decision_id=f"d{seed}-{i}",
                campaign_id=rng.randint(1, 50),
                creative_id=rng.randint(1, 150),
                advertiser_id=rng.randint(1, 12),
                site_id=rng.randint(1, 40),
                publisher_id=rng.randint(1, 10),
                placement_id=rng.randint(1, 120),
                visitor=f"{rng.getrandbits(64):016x}",
                country=rng.choice(["US", "DE", "BR", "GB", "FR"]),
                device=rng.choice(["desktop", "mobile", "tablet"]),
                format="display",
                size=rng.choice(["300x250", "728x90", "320x50"]),
                genre=rng.choice(["Rock", "Hip Hop", "Jazz", "Pop/Top 40"]),
                genre_match=rng.random() < 0.6,
                objective="awareness",
                price_micros=2_500 if valid else 0,
                drop_reason=None if valid else DropReason.BOT,
            )
        )
    return out


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - t0


def bench_raw_arrow(tmp: Path, tables: list[pa.Table]) -> tuple[int, float]:
    con = duckdb.connect(str(tmp / "raw.duckdb"))
    con.register("t0", tables[0])
    con.execute("CREATE TABLE events AS SELECT * FROM t0 LIMIT 0")

    def run() -> int:
        for t in tables:
            con.register("b", t)
            con.execute("INSERT INTO events SELECT * FROM b")
        return sum(t.num_rows for t in tables)

    try:
        return timed(run)
    finally:
        con.close()


def bench_executemany(tmp: Path, events: list[Event]) -> tuple[int, float]:
    con = duckdb.connect(str(tmp / "many.duckdb"))
    rows = [[getattr(e, c) for c in COLUMN_NAMES] for e in events]
    for r in rows:
        r[1] = r[1].replace(tzinfo=None)
    con.execute("CREATE TABLE events (" + ", ".join(f"{c} VARCHAR" for c in COLUMN_NAMES) + ")")
    marks = ", ".join("?" for _ in COLUMN_NAMES)
    try:
        return timed(
            lambda: (con.executemany(f"INSERT INTO events VALUES ({marks})", rows), len(rows))[1]
        )
    finally:
        con.close()


def bench_store_tables(tmp: Path, tables: list[pa.Table]) -> tuple[int, float]:
    store = DuckDBEventStore(tmp / "store_tables.duckdb")
    try:
        return timed(lambda: sum(store.append_table(t) for t in tables))
    finally:
        store.close()


def bench_store_events(tmp: Path, events: list[Event]) -> tuple[int, float]:
    store = DuckDBEventStore(tmp / "store_events.duckdb")
    try:
        return timed(
            lambda: sum(
                store.append_batch(events[i : i + BATCH]) for i in range(0, len(events), BATCH)
            )
        )
    finally:
        store.close()


def bench_store_at_scale(tmp: Path, preload: int, batches: int) -> tuple[int, float, str]:
    from report_data import generated  # bench/ is on sys.path when run as a script

    store = DuckDBEventStore(tmp / "at_scale.duckdb")
    try:
        source = generated(preload + batches * BATCH)
        for first in range(0, preload, 1_000_000):
            store.append_table(source(first, min(1_000_000, preload - first)))
        tables = [source(preload + k * BATCH, BATCH) for k in range(batches)]
        n, secs = timed(lambda: sum(store.append_table(t) for t in tables))
    finally:
        store.close()
    size = (tmp / "at_scale.duckdb").stat().st_size
    return n, secs, f"after {preload:,} events; file {size / 2**20:,.0f} MB"


def bench_growth(tmp: Path, total: int, rows: int, policy: str) -> None:
    """Print what an append costs as the table grows (see the module's docstring), with
    `policy` ``store`` (the store checkpoints after each filled row group) or ``duckdb``
    (DuckDB's own 16 MB WAL threshold)."""
    from report_data import generated

    path = tmp / f"growth-{policy}.duckdb"
    path.unlink(missing_ok=True)
    checkpoint_rows = None if policy == "duckdb" else ROW_GROUP_ROWS
    store = DuckDBEventStore(path, threads=1, checkpoint_rows=checkpoint_rows)
    times: list[float] = []
    cpu = 0.0  # the process's, during appends only (not while the rows are generated)
    try:
        source = generated(total)
        for first in range(0, total, rows):
            table = source(first, min(rows, total - first))
            t0, c0 = time.perf_counter(), _cpu()
            store.append_table(table)
            times.append(time.perf_counter() - t0)
            cpu += _cpu() - c0
    finally:
        store.close()
    per = max(1, len(times) // 5)
    parts = []
    for k in range(0, len(times), per):
        chunk = sorted(times[k : k + per])
        upto = min(total, (k + len(chunk)) * rows)
        parts.append(f"to {upto / 1e6:.2f}M: median {chunk[len(chunk) // 2] * 1000:.0f} ms, "
                     f"slowest {chunk[-1] * 1000:.0f} ms")
    slow = sorted(t * 1000 for t in times if t > 0.1)
    print(f"growth, checkpoints by {policy}: {len(times)} appends of {rows:,} rows in "
          f"{sum(times):.1f} s, CPU {cpu:.1f} s; {store.checkpoints} checkpoints by the store, "
          f"{len(slow)} appends over 100 ms "
          f"(slowest {', '.join(f'{t:.0f}' for t in slow[-5:]) or '-'} ms); "
          f"file {path.stat().st_size / 2**20:,.0f} MB")
    for part in parts:
        print("  " + part)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def run_threads(threads: int, work: Callable[[int], None]) -> None:
    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def bench_spool(tmp: Path, events: list[Event], threads: int) -> tuple[int, float, str]:
    spool = Spool(tmp / "spool-only")
    share = len(events) // threads

    def work(k: int) -> None:
        for e in events[k * share : (k + 1) * share]:
            spool.append([e])

    def run() -> int:
        run_threads(threads, work)
        return share * threads

    n, secs = timed(run)
    stats = spool.stats()
    spool.close()
    return n, secs, f"{stats.records / max(stats.groups, 1):.1f} records per fsync"


def bench_writer(
    tmp: Path, events: list[Event], threads: int, per_submit: int
) -> tuple[int, float, str]:
    store = DuckDBEventStore(tmp / f"writer-{per_submit}.duckdb")
    writer = EventWriter(
        Spool(tmp / f"spool-{per_submit}"), store, flush_rows=5000, flush_interval_ms=500
    )
    writer.start()
    share = len(events) // threads

    def work(k: int) -> None:
        mine = events[k * share : (k + 1) * share]
        for i in range(0, len(mine), per_submit):
            writer.submit(mine[i : i + per_submit])

    def run() -> int:
        run_threads(threads, work)
        writer.flush()
        return share * threads

    try:
        n, secs = timed(run)
        stored = store.count()
        return n, secs, f"{stored} stored, {writer.stats().flushes} flushes"
    finally:
        writer.close()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--executemany-rows", type=int, default=1_000)
    parser.add_argument("--only", default=",".join(STAGES),
                        help="comma-separated stages: " + ", ".join(STAGES))
    parser.add_argument("--at-scale", type=int, default=0, metavar="N",
                        help="also time appends into a store preloaded with N events")
    parser.add_argument("--at-scale-batches", type=int, default=50)
    parser.add_argument("--growth", type=int, default=0, metavar="N",
                        help="also time each append into a fresh store up to N rows")
    parser.add_argument("--growth-rows", type=int, default=15_000)
    parser.add_argument(
        "--growth-checkpoints", default="store,duckdb",
        help="comma-separated checkpoint policies for --growth, run in turn: store (after "
        "each filled row group, the default) and duckdb (DuckDB's 16 MB WAL threshold)",
    )
    parser.add_argument("--growth-rounds", type=int, default=1,
                        help="run the --growth policies this many times, alternating")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))  # --only "" with --growth: that alone
    if only - set(STAGES):
        parser.error(f"unknown stages: {sorted(only - set(STAGES))}")

    events = make_events(args.events, seed=1)
    tables = [to_arrow(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]
    small = events[: max(args.events // 4, 1)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-events-"))
    results: list[tuple[str, int, float, str]] = []
    try:
        if "raw" in only:
            n, s = bench_raw_arrow(tmp, tables)
            results.append(("raw Arrow append (baseline)", n, s, f"{BATCH}-row batches"))
        if "executemany" in only:
            n, s = bench_executemany(tmp, events[: args.executemany_rows])
            results.append(("executemany (the trap)", n, s, "row at a time"))
        if "append_table" in only:
            n, s = bench_store_tables(tmp, tables)
            results.append(("store.append_table", n, s, "dedupe + rollups"))
        if "append_batch" in only:
            n, s = bench_store_events(tmp, make_events(args.events, seed=2))
            results.append(("store.append_batch", n, s, "+ Event -> Arrow"))
        if "spool" in only:
            n, s, note = bench_spool(tmp, small, args.threads)
            results.append((f"spool.append x{args.threads} threads, 1/call", n, s, note))
        for per in (1, 50) if "writer" in only else ():
            n, s, note = bench_writer(
                tmp,
                make_events(len(small) if per == 1 else args.events, seed=3 + per),
                args.threads,
                per,
            )
            results.append((f"writer.submit x{args.threads} threads, {per}/call", n, s, note))
        if args.at_scale:
            n, s, note = bench_store_at_scale(tmp, args.at_scale, args.at_scale_batches)
            results.append(("store.append_table at scale", n, s, note))
        policies = [p for p in args.growth_checkpoints.split(",") if p]
        if set(policies) - {"store", "duckdb"}:
            parser.error(f"unknown checkpoint policies: {policies}")
        for _ in range(args.growth_rounds if args.growth else 0):
            for policy in policies:
                bench_growth(tmp, args.growth, args.growth_rows, policy)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not results:
        return
    width = max(len(r[0]) for r in results)
    print(f"{'stage':<{width}}  {'events':>9}  {'seconds':>8}  {'events/s':>11}  note")
    for name, n, s, note in results:
        print(f"{name:<{width}}  {n:>9,}  {s:>8.2f}  {n / s:>11,.0f}  {note}")


if __name__ == "__main__":
    main()
