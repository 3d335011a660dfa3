"""AdRequest validation and audience membership; Decision and NoFill helpers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from backbeat.domain.campaign import Pricing
from backbeat.domain.taxonomy import DeviceType
from backbeat.errors import ValidationFailed
from backbeat.serving.request import AdRequest, Decision, NoFill
from tests.serving.factories import NOW, campaign, creative, placement, site


def make(**kw: object) -> AdRequest:
    base: dict[str, object] = {
        "placement_id": 1,
        "page_host": "a.example.com",
        "country": "US",
        "device": DeviceType.MOBILE,
        "visitor": "v",
        "now": NOW,
    }
    base.update(kw)
    return AdRequest(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"now": datetime(2026, 3, 10, 12)}, "now"),
        ({"device": "smartwatch"}, "device"),
        ({"country": "USA"}, "country"),
        ({"country": "1A"}, "country"),
        ({"visitor": ""}, "visitor"),
        ({"placement_id": "7"}, "placement_id"),
        ({"placement_id": True}, "placement_id"),
        ({"page_host": "x" * 254}, "page_host"),
        ({"page_host": None}, "page_host"),
        ({"country": 840}, "country"),
        ({"visitor": 7}, "visitor"),
        ({"now": "2026-03-10T12:00:00Z"}, "now"),
    ],
)
def test_bad_input_names_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(**kw)
    assert exc.value.fields[0].field == field


def test_normalises_time_device_and_country() -> None:
    berlin = NOW.astimezone(timezone(timedelta(hours=1)))
    r = make(now=berlin, device="tablet", country=" de ")
    assert r.now == NOW and r.now.utcoffset() == timedelta(0)
    assert r.device is DeviceType.TABLET and r.country == "DE"


def test_audience_membership_set_callable_and_anonymous() -> None:
    assert make(audiences=frozenset({3})).in_audience(3)
    assert not make(audiences=frozenset({3})).in_audience(4)
    assert make(audiences=lambda a: a % 2 == 0).in_audience(8)
    assert not make(visitor=None, audiences=frozenset({3})).in_audience(3)


def test_decision_exposes_ids_and_exact_expected_revenue() -> None:
    d = Decision(
        "d1",
        campaign(3),
        creative(30, 3),
        placement(),
        site(),
        Pricing.CPC,
        400_000,
        3_750_001,
        0.0075,
        "rock",
        True,
        "v",
        NOW,
        "2026-03-10",
    )
    assert d.campaign_id == 3 and d.creative_id == 30
    assert d.expected_revenue_micros == Decimal("3750.001")


def test_no_fill_describes_its_reasons() -> None:
    assert NoFill({"country": 12, "frequency_cap": 1}).describe() == (
        "no fill: country 12, frequency_cap 1"
    )
