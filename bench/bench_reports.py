"""Report query speed over a large event table, through the real store and runner.

Run: ``.venv/bin/python bench/bench_reports.py [--events 20000000] [--days 30]
[--campaigns 2000] [--db PATH] [--repeat 5]``.

1. Generates ``--events`` events into a DuckDB file through ``DuckDBEventStore.append_table``
   (Arrow batches, so the hourly rollup is maintained as in production). Rows are made by
   DuckDB's SQL in a scratch in-memory database, with skewed (power-law) campaign and
   placement popularity, a decision -> impression -> view -> click funnel (CTR about 1%),
   5% invalid traffic, weighted countries and devices, a few million daily visitor ids, and
   time-ordered ids spread evenly over ``--days`` days. A file that already holds the
   requested number of events is reused (``--fresh`` regenerates it).
2. Times each report with :func:`backbeat.analytics.runner.run` (SQL, fetch, zero fill,
   metrics: the whole path an API call takes), ``--repeat`` times after one warm-up run,
   and prints the median and the best, with the rows returned and the table each read.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import duckdb

from backbeat.analytics.dimensions import Dimension
from backbeat.analytics.metrics import Metric, bases_for
from backbeat.analytics.periods import Granularity
from backbeat.analytics.query import Filter, Query
from backbeat.analytics.result import Result
from backbeat.analytics.runner import run
from backbeat.analytics.sql import Grouping, builder_for
from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.schema import ARROW_SCHEMA

START = date(2026, 3, 1)
BATCH = 1_000_000
DROP_REASONS = "['bot', 'prefetch', 'duplicate', 'rate', 'duplicate_click', 'domain_mismatch']"

# One scratch-database query per batch; $-parameters: 1 first row number, 2 rows,
# 3 microseconds per row, 4 campaigns.
_GENERATE = f"""
WITH base AS (
  SELECT i,
         TIMESTAMP '{START.isoformat()}' + to_microseconds(CAST(i * $3 AS BIGINT)) AS ts,
         random() AS r_type, random() AS r_valid, random() AS r_geo, random() AS r_dev,
         1 + CAST(floor(pow(random(), 3) * $4) AS BIGINT) AS campaign_id,
         1 + CAST(floor(pow(random(), 2) * 600) AS BIGINT) AS placement_id,
         CAST(floor(random() * 3) AS BIGINT) AS creative_n,
         CAST(floor(random() * 2500000) AS BIGINT) AS person
  FROM range($1, $1 + $2) t(i)
), typed AS (
  SELECT *,
    CASE WHEN r_type < 0.40 THEN 'decision' WHEN r_type < 0.78 THEN 'impression'
         WHEN r_type < 0.9955 THEN 'viewable' WHEN r_type < 0.9995 THEN 'click'
         ELSE 'conversion' END AS type,
    r_valid >= 0.05 AS valid
  FROM base
)
SELECT
  printf('%016d-%09d', epoch_us(ts), i) AS id,
  ts,
  type,
  valid OR type = 'decision' AS valid,
  printf('d%d', i) AS decision_id,
  campaign_id,
  campaign_id * 10 + creative_n AS creative_id,
  1 + campaign_id % 400 AS advertiser_id,
  1 + placement_id // 4 AS site_id,
  1 + placement_id // 20 AS publisher_id,
  placement_id,
  printf('h%d', person + 2500000 * (epoch_us(ts) // 86400000000)) AS visitor,
  CASE WHEN r_geo < 0.40 THEN 'US' WHEN r_geo < 0.52 THEN 'GB' WHEN r_geo < 0.62 THEN 'DE'
       WHEN r_geo < 0.70 THEN 'BR' WHEN r_geo < 0.76 THEN 'FR' WHEN r_geo < 0.81 THEN 'CA'
       WHEN r_geo < 0.85 THEN 'MX' WHEN r_geo < 0.88 THEN 'AU' WHEN r_geo < 0.99 THEN 'SE'
       ELSE 'ZZ' END AS country,
  CASE WHEN r_dev < 0.60 THEN 'mobile' WHEN r_dev < 0.95 THEN 'desktop' ELSE 'tablet' END
    AS device,
  CASE WHEN creative_n = 2 THEN 'video' ELSE 'display' END AS format,
  CASE creative_n WHEN 0 THEN '300x250' WHEN 1 THEN '728x90' ELSE '640x360' END AS size,
  (['pop', 'rock', 'hip-hop', 'electronic', 'rnb', 'country', 'jazz', 'latin'])
    [1 + placement_id % 8] AS genre,
  (placement_id + campaign_id) % 5 < 3 AS genre_match,
  (['awareness', 'traffic', 'retargeting'])[1 + campaign_id % 3] AS objective,
  CAST(CASE WHEN type IN ('impression', 'decision') AND campaign_id % 4 <> 0
            THEN 1000 + (campaign_id % 20) * 250
            WHEN type = 'click' AND campaign_id % 4 = 0 THEN 300000
            ELSE 0 END AS BIGINT) AS price_micros,
  CASE WHEN valid OR type = 'decision' THEN NULL
       ELSE {DROP_REASONS}[1 + CAST(floor(r_valid * 120) AS BIGINT)] END AS drop_reason,
  CASE WHEN type <> 'conversion' THEN NULL WHEN r_geo < 0.5 THEN 'click_through'
       WHEN r_geo < 0.8 THEN 'view_through' ELSE 'unattributed' END AS attribution,
  CAST(CASE WHEN type = 'conversion' THEN 5000000 ELSE 0 END AS BIGINT) AS value_micros
FROM typed
"""


def generate(store: DuckDBEventStore, events: int, days: int, campaigns: int) -> float:
    """Fill the store; returns the seconds taken."""
    scratch = duckdb.connect()
    scratch.execute("SET enable_progress_bar = false")
    scratch.execute("SELECT setseed(0.42)").fetchall()
    step_us = days * 86_400_000_000 / events
    began = time.perf_counter()
    for first in range(0, events, BATCH):
        rows = min(BATCH, events - first)
        batch = scratch.sql(_GENERATE, params=[first, rows, step_us, campaigns])
        table = batch.to_arrow_table().cast(ARROW_SCHEMA)
        store.append_table(table)
        done = first + rows
        rate = done / (time.perf_counter() - began)
        print(f"\r  generated {done:,} / {events:,} ({rate:,.0f} events/s)", end="",
              file=sys.stderr, flush=True)
    print(file=sys.stderr)
    scratch.close()
    return time.perf_counter() - began


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
        (rollup_rows,) = store.query("SELECT count(*) FROM events_hourly")[0]
        print(f"events: {store.count():,}; rollup rows: {rollup_rows:,}; "
              f"file: {args.db.stat().st_size / 2**30:.2f} GiB")
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
        (f"(d) exact reach, network, {args.days} days",
         Query(start=START, end=end, metrics=(Metric.REACH,)), True, "-"),
    ]
    builder = builder_for(store.dialect)
    print(f"\n{'report':<44} {'tables':<22} {'rows':>7} {'median':>9} {'best':>9}  target")
    for name, q, rollup, target in cases:
        grouping = Grouping(q.period, q.granularity, q.dimensions, bases_for(q.metrics))
        tables = "+".join(s.table for s in builder.statements(q, grouping, use_rollup=rollup))
        med, best, result = timed(partial(run, q, store, use_rollup=rollup), args.repeat)
        print(f"{name:<44} {tables:<22} {len(result.rows):>7,} {med * 1000:>7.1f}ms "
              f"{best * 1000:>7.1f}ms  {target}")


if __name__ == "__main__":
    main()
