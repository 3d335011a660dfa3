"""Synthetic events for the benchmarks: the report benchmark's 20M-event network.

Rows are made by DuckDB's SQL in a scratch in-memory database, with skewed (power-law)
campaign and placement popularity (2,000 campaigns, 600 placements), a decision ->
impression -> view -> click funnel (CTR about 1%), 5% invalid traffic, weighted countries
and devices, a few million daily visitor ids, and time-ordered ids spread evenly over the
days. Used by ``bench_reports.py`` and by ``bench_event_writes.py --at-scale``. Imports
nothing of Backbeat but the event schema, so it runs against older revisions too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb
import pyarrow as pa

from backbeat.store.events.schema import ARROW_SCHEMA

START = date(2026, 3, 1)
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


def generated(
    events: int = 20_000_000, days: int = 30, campaigns: int = 2_000
) -> Callable[[int, int], pa.Table]:
    """A function making rows [first, first + rows) of the `events` spread over `days`
    days, as an Arrow table in the store's schema (same seed, same rows, every run)."""
    scratch = duckdb.connect()
    scratch.execute("SET enable_progress_bar = false")
    scratch.execute("SELECT setseed(0.42)").fetchall()
    step_us = days * 86_400_000_000 / events

    def make(first: int, rows: int) -> pa.Table:
        batch = scratch.sql(_GENERATE, params=[first, rows, step_us, campaigns])
        return batch.to_arrow_table().cast(ARROW_SCHEMA)

    return make


