"""SQL shapes the report runner does not cover: exposure-number frequency buckets and
decision (ad request) counts. Like :mod:`backbeat.analytics.sql`, this is generated SQL only:
values are bound through :class:`~backbeat.analytics.sql.Params`, identifiers and literals
come from code, and each dialect's builder supplies its aggregate syntax.

**Frequency buckets.** A visitor's n-th exposure to a campaign is the n-th valid impression
that visitor saw, ordered by time (ties by decision id). Clicks are matched to the impression
they came from by ``decision_id`` (one decision serves one impression; its click carries the
same id), so the query needs no join and no window function:

1. per decision: its first impression time, its visitor, its valid impressions and clicks
   (clicks capped at impressions, so a stray duplicate never makes a bucket impossible);
2. per visitor: the decisions in time order as one array (``list(... ORDER BY ...)`` in
   DuckDB, ``arraySort(groupArray(tuple))`` in ClickHouse), unnested with its position;
3. per position, capped at ``last`` ("last or more"): impressions and clicks.

Anonymous visitors (do-not-track) have no identity and are left out, as from reach. With the
cookieless visitor id a visitor is one person for one day, so the n-th exposure is the n-th
that day (the window a daily frequency cap also uses).

**Decisions.** Every ad request makes one decision row per slot, ``campaign_id = 0`` when no
ad filled it. Counts of all decisions, filled ones and distinct visitors (optionally per UTC
day, optionally on some placements only) give the fill rate and the inventory a placement
offers. Decisions from bots are flagged invalid and left out: they are not sellable.

ClickHouse text avoids what version 18.16 lacks (see /work/shared/reference.md): no CTEs,
window functions, ``GROUP BY ALL``, ``WITH FILL`` or ``toStartOfInterval``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from backbeat.analytics.sql import EVENTS_TABLE, Params, SqlBuilder, builder_for, literal
from backbeat.domain.events import EventType
from backbeat.tracking.visitor import ANONYMOUS

MAX_PLACEMENTS = 10_000
_IMP = f"type = {literal(EventType.IMPRESSION.value)}"
_CLICK = f"type = {literal(EventType.CLICK.value)}"
_DECISION = f"type = {literal(EventType.DECISION.value)}"
_KNOWN_VISITOR = f"visitor <> '' AND visitor <> {literal(ANONYMOUS)}"


@dataclass(frozen=True)
class FactsStatement:
    """One generated query and its positional parameters (in the dialect's style)."""

    sql: str
    params: tuple[object, ...]


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("bounds are naive UTC, as events store ts")
    if end <= start:
        raise ValueError("end must come after start")


def _min_if(builder: SqlBuilder, column: str, cond: str) -> str:
    if builder.dialect == "clickhouse":
        return f"minIf({column}, {cond})"
    return f"min({column}) FILTER (WHERE {cond})"


def frequency_statement(
    dialect: str, campaign_id: int, start: datetime, end: datetime, last: int = 4
) -> FactsStatement:
    """Impressions and clicks by exposure number for one campaign over [start, end) (naive
    UTC). Rows: (exposure, impressions, clicks), exposure from 1 to `last`, where `last`
    holds every later exposure too; exposures without impressions are absent."""
    _check_window(start, end)
    if last < 1:
        raise ValueError("last must be 1 or more")
    b = builder_for(dialect)
    p = Params(b)
    cap = p(last)  # placeholders are bound in the order they appear in the text
    imps, clicks = b.count_if(_IMP), b.count_if(_CLICK)
    per_decision = (
        f"SELECT decision_id AS d, {_min_if(b, 'ts', _IMP)} AS t, "
        f"{_min_if(b, 'visitor', _IMP)} AS v, {imps} AS imp, least({clicks}, {imps}) AS clk "
        f"FROM {EVENTS_TABLE} WHERE ts >= {p(start)} AND ts < {p(end)} "
        f"AND campaign_id = {p(campaign_id)} AND {b.is_valid(True)} "
        f"AND type IN ({literal(EventType.IMPRESSION.value)}, {literal(EventType.CLICK.value)}) "
        f"GROUP BY decision_id HAVING {imps} > 0"
    )
    known = f"v <> '' AND v <> {literal(ANONYMOUS)}"
    if b.dialect == "clickhouse":
        exposures = (
            "SELECT toInt64(n) AS n, tupleElement(e, 3) AS imp, tupleElement(e, 4) AS clk "
            "FROM (SELECT v, arraySort(groupArray((t, d, imp, clk))) AS es "
            f"FROM ({per_decision}) WHERE {known} GROUP BY v) "
            "ARRAY JOIN es AS e, arrayEnumerate(es) AS n"
        )
    else:
        exposures = (
            "SELECT unnest(range(1, len(imps) + 1)) AS n, unnest(imps) AS imp, "
            "unnest(clks) AS clk FROM (SELECT v, list(imp ORDER BY t, d) AS imps, "
            f"list(clk ORDER BY t, d) AS clks FROM ({per_decision}) AS x "
            f"WHERE {known} GROUP BY v) AS y"
        )
    sql = (
        f"SELECT least(n, {cap}) AS k0, sum(imp) AS impressions, sum(clk) AS clicks "
        f"FROM ({exposures}) AS z GROUP BY k0 ORDER BY k0"
    )
    return FactsStatement(sql, tuple(p.values))


def decisions_statement(
    dialect: str,
    start: datetime,
    end: datetime,
    *,
    placements: Collection[int] | None = None,
    by_day: bool = False,
) -> FactsStatement:
    """Valid decisions over [start, end) (naive UTC), optionally on `placements` only and
    per UTC day. Rows: ([day,] decisions, filled, distinct known visitors)."""
    _check_window(start, end)
    b = builder_for(dialect)
    p = Params(b)
    where = [f"ts >= {p(start)}", f"ts < {p(end)}", _DECISION, b.is_valid(True)]
    if placements is not None:
        ids = sorted(set(placements))
        if not ids:
            raise ValueError("placements is empty: there is nothing to count")
        if len(ids) > MAX_PLACEMENTS:
            raise ValueError(f"at most {MAX_PLACEMENTS} placements")
        where.append(f"placement_id IN ({', '.join(p(int(i)) for i in ids)})")
    counts = (
        f"count(*) AS decisions, {b.count_if('campaign_id <> 0')} AS filled, "
        f"{b.distinct_if('visitor', _KNOWN_VISITOR)} AS visitors"
    )
    body = f"FROM {EVENTS_TABLE} WHERE {' AND '.join(where)}"
    if by_day:
        sql = f"SELECT {b.day('ts')} AS k0, {counts} {body} GROUP BY k0 ORDER BY k0"
    else:
        sql = f"SELECT {counts} {body}"
    return FactsStatement(sql, tuple(p.values))
