"""Even pacing: the probability that a campaign takes part in one auction.

In the spirit of Agarwal et al., "Budget Pacing for Targeted Online Advertisements at
LinkedIn" (KDD 2014; see /work/shared/reference.md, "Pacing"): each campaign gets a
per-request participation probability that shrinks as its cumulative spend runs ahead of
schedule. LinkedIn adjusts that probability multiplicatively step by step and keeps it as
state; here it is recomputed from the shared spend counters on every request, which needs
no per-process state and so stays correct when several serving processes share Redis.

The schedule is time-uniform: by a fraction f of the flight, at most f of the total budget
should be spent; by a fraction g of the campaign's local day (clipped to the flight), at
most g of the daily budget. When spend is ahead by a share x of the budget, the probability
is exp(-x / tolerance): ahead by one tolerance it serves 37% of requests, by three tolerances
5%. With ten times the traffic the budget can buy, delivery settles about 2.3 tolerances
ahead of schedule. ASAP campaigns always take part.
"""

from __future__ import annotations

import math

from backbeat.serving.entries import CampaignEntry
from backbeat.serving.localtime import LocalTime
from backbeat.store.counters.protocol import Spend

FLIGHT_TOLERANCE = 0.01  # 1% of the total budget
DAILY_TOLERANCE = 0.02  # 2% of the daily budget


def schedule_fraction(start: float, end: float, epoch: float) -> float:
    """How much of [start, end) has elapsed at `epoch`, clipped to [0, 1]."""
    span = end - start
    if span <= 0:
        return 1.0
    return min(1.0, max(0.0, (epoch - start) / span))


def participation(entry: CampaignEntry, spend: Spend, epoch: float, local: LocalTime) -> float:
    """The probability in (0, 1] that the campaign takes part in this request."""
    if not entry.even:
        return 1.0
    ahead = spend.total_micros / entry.budget_total - schedule_fraction(
        entry.start, entry.end, epoch
    )
    p = math.exp(-ahead / FLIGHT_TOLERANCE) if ahead > 0 else 1.0
    if entry.budget_daily is not None:
        # Today's schedule runs over the part of the local day that lies inside the flight.
        day_from = max(local.day_start, entry.start)
        day_to = min(local.day_end, entry.end)
        ahead_today = spend.today_micros / entry.budget_daily - schedule_fraction(
            day_from, day_to, epoch
        )
        if ahead_today > 0:
            p = min(p, math.exp(-ahead_today / DAILY_TOLERANCE))
    return p
