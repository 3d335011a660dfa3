from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backbeat.domain.campaign import (
    Campaign,
    CampaignStatus,
    FrequencyCap,
    Objective,
    Pricing,
    Targeting,
)
from backbeat.errors import IllegalTransition, ValidationFailed

FLOOR = 2_500_000
START = datetime(2026, 12, 1, tzinfo=UTC)


def make(**kw: object) -> Campaign:
    base = Campaign(
        advertiser_id=1,
        name="Spring single",
        objective=Objective.TRAFFIC,
        pricing=Pricing.CPM,
        bid_micros=3_000_000,
        budget_total_micros=500_000_000,
        start=START,
        end=START + timedelta(days=30),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def fields_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {f.field for f in exc.value.fields}


def test_valid_campaign_passes() -> None:
    c = make()
    assert c.validate(FLOOR) is c


def test_cpm_bid_below_floor_is_refused() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(bid_micros=2_000_000).validate(FLOOR)
    assert fields_of(exc) == {"bid"}
    assert "floor" in exc.value.fields[0].reason


def test_cpm_bid_at_floor_is_accepted() -> None:
    make(bid_micros=FLOOR).validate(FLOOR)


def test_cpc_bid_is_not_held_to_the_cpm_floor() -> None:
    make(pricing=Pricing.CPC, bid_micros=300_000).validate(FLOOR)


def test_cpm_bid_with_more_than_three_decimals_is_refused() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(bid_micros=3_000_500).validate(FLOOR)
    assert fields_of(exc) == {"bid"}


def test_end_must_come_after_start() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(end=START).validate(FLOOR)
    assert fields_of(exc) == {"end"}


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        make(start=datetime(2026, 12, 1), end=datetime(2026, 12, 2)).validate(FLOOR)


def test_daily_budget_may_not_exceed_total() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(budget_daily_micros=600_000_000).validate(FLOOR)
    assert fields_of(exc) == {"budget_daily"}


@pytest.mark.parametrize("budget", [0, -1, 10_000_001 * 1_000_000])
def test_negative_zero_or_absurd_budget_is_refused(budget: int) -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(budget_total_micros=budget).validate(FLOOR)
    assert "budget_total" in fields_of(exc)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(name=" ", bid_micros=1, end=START, timezone="Mars/Base").validate(FLOOR)
    assert {"name", "bid", "end", "timezone"} <= fields_of(exc)


def test_frequency_cap_and_targeting_ranges() -> None:
    bad = make(
        frequency_cap=FrequencyCap(0, 0),
        targeting=Targeting(days=frozenset({7}), hours=frozenset({24})),
    )
    with pytest.raises(ValidationFailed) as exc:
        bad.validate(FLOOR)
    assert {
        "frequency_cap.impressions",
        "frequency_cap.hours",
        "targeting.days",
        "targeting.hours",
    } <= fields_of(exc)


def test_site_in_both_include_and_exclude_is_refused() -> None:
    t = Targeting(sites_include=frozenset({1, 2}), sites_exclude=frozenset({2}))
    with pytest.raises(ValidationFailed) as exc:
        make(targeting=t).validate(FLOOR)
    assert fields_of(exc) == {"targeting.sites_exclude"}


def test_activation_needs_an_approved_creative() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make().transition(CampaignStatus.ACTIVE, approved_creatives=0, now=START)
    assert fields_of(exc) == {"status"}
    active = make().transition(CampaignStatus.ACTIVE, approved_creatives=1, now=START)
    assert active.status is CampaignStatus.ACTIVE


def test_activation_after_the_flight_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        make().transition(
            CampaignStatus.ACTIVE, approved_creatives=1, now=START + timedelta(days=31)
        )


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (CampaignStatus.DRAFT, CampaignStatus.PAUSED),
        (CampaignStatus.DRAFT, CampaignStatus.COMPLETED),
        (CampaignStatus.COMPLETED, CampaignStatus.ACTIVE),
        (CampaignStatus.ARCHIVED, CampaignStatus.DRAFT),
        (CampaignStatus.ACTIVE, CampaignStatus.DRAFT),
        (CampaignStatus.PAUSED, CampaignStatus.PAUSED),
    ],
)
def test_illegal_transitions(start: CampaignStatus, target: CampaignStatus) -> None:
    with pytest.raises(IllegalTransition) as exc:
        make(status=start).transition(target, approved_creatives=5, now=START)
    assert exc.value.status == 409


def test_legal_lifecycle() -> None:
    c = make()
    for target in (
        CampaignStatus.ACTIVE,
        CampaignStatus.PAUSED,
        CampaignStatus.ACTIVE,
        CampaignStatus.COMPLETED,
        CampaignStatus.ARCHIVED,
    ):
        c = c.transition(target, approved_creatives=1, now=START)
        assert c.status is target


def test_is_live_respects_flight_window() -> None:
    c = make(status=CampaignStatus.ACTIVE)
    assert not c.is_live(START - timedelta(seconds=1))
    assert c.is_live(START)
    assert not c.is_live(START + timedelta(days=30))
