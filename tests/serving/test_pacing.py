"""Participation probability of even pacing."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from backbeat.domain.campaign import Pacing
from backbeat.serving.entries import CampaignEntry
from backbeat.serving.localtime import LocalTimes
from backbeat.serving.pacing import (
    DAILY_TOLERANCE,
    FLIGHT_TOLERANCE,
    participation,
    schedule_fraction,
)
from backbeat.store.counters.protocol import Spend
from tests.serving.factories import NOW, USD, campaign, creative

LOCAL = LocalTimes()


def entry(**kw: object) -> CampaignEntry:
    base = {"pacing": Pacing.EVEN, "budget_total_micros": 1000 * USD}
    base.update(kw)
    return CampaignEntry(campaign(1, **base), [creative(10, 1)])


def p(e: CampaignEntry, total: int, today: int = 0, when: datetime = NOW) -> float:
    return participation(
        e, Spend(total, today), when.timestamp(), LOCAL.get(e.tz, when.timestamp())
    )


def test_schedule_fraction_is_clipped() -> None:
    assert schedule_fraction(10.0, 20.0, 15.0) == 0.5
    assert schedule_fraction(10.0, 20.0, 5.0) == 0.0
    assert schedule_fraction(10.0, 20.0, 25.0) == 1.0
    assert schedule_fraction(10.0, 10.0, 10.0) == 1.0


def test_asap_always_takes_part() -> None:
    assert p(entry(pacing=Pacing.ASAP), 999 * USD) == 1.0


def test_on_or_behind_schedule_takes_part() -> None:
    e = entry()  # the flight is half over at NOW
    assert p(e, 0) == 1.0
    assert p(e, 500 * USD) == 1.0


def test_ahead_of_the_flight_schedule_decays_exponentially() -> None:
    e = entry()
    assert p(e, 510 * USD) == pytest.approx(math.exp(-1))
    assert p(e, 530 * USD) == pytest.approx(math.exp(-3))
    assert FLIGHT_TOLERANCE == 0.01


def test_daily_schedule_runs_over_the_local_day() -> None:
    # 15:00 UTC is 11:00 in New York: 11/24 of the local day has passed.
    e = entry(timezone="America/New_York", budget_daily_micros=24 * USD)
    assert p(e, 0, today=11 * USD) == 1.0
    ahead = 12 * USD
    expected = math.exp(-((12 - 11) / 24) / DAILY_TOLERANCE)
    assert p(e, 0, today=ahead) == pytest.approx(expected)


def test_daily_schedule_starts_when_the_flight_starts() -> None:
    # The flight began at 12:00 UTC today: by 15:00, 3 of its 12 hours today have passed
    # (not 15 of 24, which would let it spend 62% of today's budget at once).
    e = entry(
        start=NOW - timedelta(hours=3),
        end=NOW + timedelta(days=400),
        budget_total_micros=10**6 * USD,
        budget_daily_micros=12 * USD,
    )
    assert p(e, 3 * USD, today=3 * USD) == pytest.approx(1.0)
    assert p(e, 4 * USD, today=4 * USD) == pytest.approx(
        math.exp(-(4 / 12 - 3 / 12) / DAILY_TOLERANCE), rel=1e-3
    )
