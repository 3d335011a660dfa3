"""Report query speed over a large event table, through the real store and runner.

Run: ``.venv/bin/python bench/bench_reports.py [--events 20000000] [--days 30]
[--campaigns 2000] [--db PATH] [--repeat 5] [--fresh] [--server-gc] [--threads N]``.

1. Generates ``--events`` events into a DuckDB file through ``DuckDBEventStore.append_table``
   (Arrow batches of a million, so the hourly rollups are maintained as in production).
   The rows come from ``report_data.py``: skewed (power-law) campaign and placement
   popularity, a decision -> impression -> view -> click funnel (CTR about 1%), 5% invalid
   traffic, weighted countries and devices, a few million daily visitor ids, and
   time-ordered ids spread evenly over ``--days`` days. A file that already holds the
   requested number of events is reused (``--fresh`` regenerates it).
2. Times each report with :func:`backbeat.analytics.runner.run` (SQL, fetch, zero fill,
   result rows), ``--repeat`` times after one warm-up run, and prints the median and the
   best, with the rows returned and the table each read. One case adds the JSON text
   (``Result.to_json``: every metric rendered, with its interval), as an API answer needs.
"""

from __future__ import annotations

import argparse
import gc
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

from report_data import START, generated

from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.metrics import Metric, bases_for
from backbeat.analytics.periods import Granularity
from backbeat.analytics.query import Filter, Query
from backbeat.analytics.result import Result
from backbeat.analytics.runner import run
from backbeat.analytics.sql import Grouping, builder_for
from backbeat.store.events.duckdb_store import DuckDBEventStore

BATCH = 1_000_000


def generate(store: DuckDBEventStore, events: int, days: int, campaigns: int) -> float:
    """Fill the store; returns the seconds taken."""
    make = generated(events, days, campaigns)
    began = time.perf_counter()
    for first in range(0, events, BATCH):
        rows = min(BATCH, events - first)
        store.append_table(make(first, rows))
        done = first + rows
        rate = done / (time.perf_counter() - began)
        print(f"\r  generated {done:,} / {events:,} ({rate:,.0f} events/s)", end="",
              file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return time.perf_counter() - began


def rollup_tables() -> list[str]:
    """The rollup tables of the revision under test (older ones had only events_hourly, and
    this bench runs against them too, for before/after figures)."""
    try:
        from backbeat.store.events.schema import ROLLUPS
    except ImportError:
        return ["events_hourly"]
    return [r.table for r in ROLLUPS]


def timed(fn: Callable[[], Result], repeat: int) -> tuple[float, float, Result]:
    result = fn()  # warm-up: caches, first-touch of the file
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), result


def campaign_at_rank(store: DuckDBEventStore, rank: int) -> tuple[int, int]:
    """The campaign with the `rank`-th most events (0 = busiest) and its event count."""
    row = store.query("SELECT campaign_id, sum(event_count) FROM events_hourly GROUP BY 1 "
                      "ORDER BY 2 DESC, 1 LIMIT 1 OFFSET ?", [rank])
    campaign, events = row[0]
    assert isinstance(campaign, int) and isinstance(events, int)
    return campaign, events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--campaigns", type=int, default=2_000)
    ap.add_argument("--db", type=Path, default=Path("/tmp/backbeat-bench/reports.duckdb"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--fresh", action="store_true", help="delete and regenerate the file")
    ap.add_argument("--threads", type=int,
                    help="DuckDB threads while timing (BACKBEAT_DUCKDB_THREADS; the ingest "
                         "process of `backbeat serve --workers N` uses 1); default one per core")
    ap.add_argument("--server-gc", action="store_true",
                    help="time with the garbage-collector settings `backbeat serve` uses "
                         "(gc.freeze() after start-up, thresholds 10,000/20/100)")
    args = ap.parse_args()
    print("command:", shlex.join([".venv/bin/python", "bench/bench_reports.py", *sys.argv[1:]]))
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))

    if args.fresh and args.db.exists():
        args.db.unlink()
    store = DuckDBEventStore(args.db)
    try:
        have = store.count()
        if have not in (0, args.events):
            sys.exit(f"{args.db} holds {have:,} events, not {args.events:,}: use --fresh")
        if have == 0:
            secs = generate(store, args.events, args.days, args.campaigns)
            print(f"generated {args.events:,} events in {secs:.1f} s "
                  f"({args.events / secs:,.0f} events/s)")
        if args.threads is not None:  # generated with every core; timed with these
            store.close()
            store = DuckDBEventStore(args.db, threads=args.threads)
            print(f"DuckDB threads: {args.threads}")
        sizes = []
        for table in rollup_tables():
            (rows,) = store.query(f"SELECT count(*) FROM {table}")[0]
            sizes.append(f"{table} {rows:,}")
        print(f"events: {store.count():,}; rollup rows: {'; '.join(sizes)}; "
              f"file: {args.db.stat().st_size / 2**30:.2f} GiB")
        if args.server_gc:  # as backbeat.web.app does once the server has started
            gc.collect()
            gc.freeze()
            gc.set_threshold(10_000, 20, 100)
            print("garbage collector: as in `backbeat serve`")
        else:
            print("garbage collector: Python's defaults "
                  f"(thresholds {'/'.join(map(str, gc.get_threshold()))})")
        report(store, args)
        print("load average after: {:.2f} {:.2f} {:.2f} (2 cores; other load skews the "
              "figures)".format(*os.getloadavg()))
    finally:
        store.close()


def report(store: DuckDBEventStore, args: argparse.Namespace) -> None:
    end = START + timedelta(days=args.days - 1)
    top, top_n = campaign_at_rank(store, 0)
    typical, typical_n = campaign_at_rank(store, 100)
    print(f"busiest campaign {top}: {top_n:,} events; "
          f"100th busiest campaign {typical}: {typical_n:,} events")
    core = (Metric.IMPRESSIONS, Metric.CLICKS, Metric.CTR, Metric.SPEND, Metric.ECPM)
    reach = (Metric.REACH, Metric.FREQUENCY)
    day = Granularity.DAY
    cases: list[tuple[str, Query, bool, str]] = []
    for label, cid in (("busiest", top), ("100th", typical)):
        one = (Filter(Dimension.CAMPAIGN, frozenset({cid})),)
        cases += [
            (f"(a) {label} campaign, {args.days} days by day",
             Query(start=START, end=end, granularity=day, metrics=core, filters=one),
             True, "< 100 ms"),
            ("    same, America/New_York",
             Query(start=START, end=end, granularity=day, metrics=core, filters=one,
                   timezone="America/New_York"), True, "< 100 ms"),
            ("    same, raw events only",
             Query(start=START, end=end, granularity=day, metrics=core, filters=one),
             False, "-"),
            (f"(c) exact reach, {label} campaign, {args.days} days",
             Query(start=START, end=end, metrics=reach, filters=one), True, "-"),
        ]
    network = Query(start=START, end=end, granularity=day, metrics=core,
                    dimensions=(Dimension.CAMPAIGN,))
    cases += [
        ("(b) network: campaign x day", network, True, "< 1 s"),
        ("    same, raw events only", network, False, "-"),
        ("    same, + JSON (Result.to_json)", network, True, "-"),
        ("(e) network: site x day", Query(start=START, end=end, granularity=day, metrics=core,
                                          dimensions=(Dimension.SITE,)), True, "-"),
        ("(f) network: country x day (no rollup has it)",
         Query(start=START, end=end, granularity=day, metrics=core,
               dimensions=(Dimension.COUNTRY,)), True, "-"),
        (f"(d) exact reach, network, {args.days} days",
         Query(start=START, end=end, metrics=(Metric.REACH,)), True, "-"),
    ]
    builder = builder_for(store.dialect)
    print(f"\n{'report':<46} {'tables':<30} {'rows':>7} {'median':>9} {'best':>9}  target")
    for name, q, rollup, target in cases:
        grouping = Grouping(q.period, q.granularity, q.dimensions, bases_for(q.metrics))
        tables = "+".join(s.table for s in builder.statements(q, grouping, use_rollup=rollup))
        work: Callable[[], Result] = partial(run, q, store, use_rollup=rollup)
        if "JSON" in name:
            work = partial(_with_json, q, store)
        med, best, result = timed(work, args.repeat)
        print(f"{name:<46} {tables:<30} {len(result.rows):>7,} {med * 1000:>7.1f}ms "
              f"{best * 1000:>7.1f}ms  {target}", flush=True)


def _with_json(q: Query, store: DuckDBEventStore) -> Result:
    """The report and its JSON text, as the API's GET /reports/query makes it."""
    result = run(q, store)
    result.to_json()
    return result


if __name__ == "__main__":
    main()
