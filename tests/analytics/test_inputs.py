"""The analytics input dataclasses: they check themselves and name the bad field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backbeat.analytics.inputs import (
    CampaignFacts,
    Counts,
    CreativeFacts,
    DayFacts,
    FrequencyBucket,
    GenreSplit,
    PlacementFacts,
)
from backbeat.domain.campaign import Objective, Pricing
from backbeat.domain.events import DropReason
from backbeat.domain.taxonomy import AdFormat
from backbeat.errors import ValidationFailed

START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 3, 31, tzinfo=UTC)


def facts(**changes: object) -> CampaignFacts:
    base: dict[str, object] = {
        "campaign_id": 7,
        "name": "Spring single",
        "objective": Objective.TRAFFIC,
        "format": AdFormat.DISPLAY,
        "pricing": Pricing.CPM,
        "bid_micros": 2_500_000,
        "budget_micros": 500_000_000,
        "start": START,
        "end": END,
        "impressions": 10_000,
        "clicks": 60,
        "spend_micros": 25_000_000,
    }
    base.update(changes)
    return CampaignFacts(**base)  # type: ignore[arg-type]


def fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {f.field for f in exc.value.fields}


def test_counts_add_and_refuse_more_clicks_than_impressions() -> None:
    assert Counts(100, 3) + Counts(50, 2) == Counts(150, 5)
    with pytest.raises(ValidationFailed) as exc:
        Counts(10, 11)
    assert fields(exc) == {"clicks"}
    with pytest.raises(ValidationFailed) as exc:
        Counts(-1, 0)
    assert fields(exc) == {"impressions"}
    with pytest.raises(ValidationFailed):
        Counts(True, 0)


def test_placement_checks_viewability_and_invalid_counts() -> None:
    with pytest.raises(ValidationFailed) as exc:
        PlacementFacts(1, "sidebar", 2, "Blog", 100, 1, viewable=60, measured=50)
    assert fields(exc) == {"viewable"}
    with pytest.raises(ValidationFailed) as exc:
        PlacementFacts(1, "sidebar", 2, "Blog", 100, 1, viewable=10, measured=150)
    assert fields(exc) == {"measured"}
    with pytest.raises(ValidationFailed) as exc:
        PlacementFacts(1, "sidebar", 2, "Blog", 100, 1, invalid={"bot": -3})
    assert fields(exc) == {"invalid.bot"}
    with pytest.raises(ValidationFailed) as exc:
        PlacementFacts(1, " ", 2, "", 100, 1)
    assert fields(exc) == {"placement_name", "site_name"}


def test_placement_keeps_its_own_copy_of_invalid_counts() -> None:
    reasons = {DropReason.BOT: 30, "prefetch": 5}
    pl = PlacementFacts(1, "sidebar", 2, "Blog", 100, 1, invalid=reasons)
    reasons[DropReason.BOT] = 999
    assert pl.invalid == {"bot": 30, "prefetch": 5}
    assert pl.invalid_total == 35


def test_campaign_facts_report_every_bad_field_at_once() -> None:
    with pytest.raises(ValidationFailed) as exc:
        facts(name="", bid_micros=0, budget_micros=-5, clicks=20_000, reach=20_000)
    assert fields(exc) == {"name", "bid_micros", "budget_micros", "clicks", "reach"}


def test_campaign_facts_need_an_aware_flight_in_order() -> None:
    with pytest.raises(ValidationFailed) as exc:
        facts(end=START)
    assert fields(exc) == {"end"}
    with pytest.raises(ValidationFailed) as exc:
        facts(start=datetime(2025, 3, 1))
    assert fields(exc) == {"start"}
    with pytest.raises(ValidationFailed) as exc:
        facts(start="2025-03-01")
    assert fields(exc) == {"start"}


def test_frequency_buckets_must_ascend_with_only_the_last_open() -> None:
    b1, b2 = FrequencyBucket(1, 100, 2), FrequencyBucket(2, 80, 1, and_more=True)
    assert facts(frequency=(b1, b2)).frequency == (b1, b2)
    with pytest.raises(ValidationFailed) as exc:
        facts(frequency=(b2, b1))
    assert "frequency" in fields(exc)
    with pytest.raises(ValidationFailed) as exc:
        facts(frequency=(FrequencyBucket(1, 100, 2, and_more=True), FrequencyBucket(2, 5, 0)))
    assert fields(exc) == {"frequency[0].and_more"}
    with pytest.raises(ValidationFailed) as exc:
        FrequencyBucket(0, 10, 0)
    assert fields(exc) == {"exposure"}


def test_days_are_dates_and_unique() -> None:
    d = DayFacts(date(2025, 3, 1), 100, 1, 250_000, reach=90)
    with pytest.raises(ValidationFailed) as exc:
        facts(daily=(d, d))
    assert fields(exc) == {"daily"}
    with pytest.raises(ValidationFailed) as exc:
        DayFacts(datetime(2025, 3, 1, tzinfo=UTC), 100, 1)
    assert fields(exc) == {"day"}
    with pytest.raises(ValidationFailed) as exc:
        DayFacts(date(2025, 3, 1), 100, 1, spend_micros=-1, reach=-2)
    assert fields(exc) == {"spend_micros", "reach"}


def test_genre_counts_given_or_summed_from_placements() -> None:
    assert facts().genre_counts() is None
    pls = (
        PlacementFacts(1, "top", 1, "Rock blog", 600, 6, genre_match=True),
        PlacementFacts(2, "side", 1, "Rock blog", 400, 2, genre_match=True),
        PlacementFacts(3, "top", 2, "Jazz radio", 1_000, 3, genre_match=False),
    )
    assert facts(placements=pls).genre_counts() == GenreSplit(Counts(1_000, 8), Counts(1_000, 3))
    given = GenreSplit(Counts(10, 1), Counts(20, 0))
    assert facts(placements=pls, genre_split=given).genre_counts() == given


def test_benchmark_name_defaults_to_the_format() -> None:
    assert facts().benchmark_name == "display"
    assert facts(benchmark="gdn").benchmark_name == "gdn"
    assert facts(format=AdFormat.VIDEO).benchmark_name == "video"


def test_creative_counts() -> None:
    c = CreativeFacts(3, "Cover art", 1_000, 7)
    assert c.counts == Counts(1_000, 7)
    with pytest.raises(ValidationFailed) as exc:
        CreativeFacts(3, "", 10, 70)
    assert fields(exc) == {"name", "clicks"}
