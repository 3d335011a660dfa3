"""CampaignEntry and Candidate: the precomputed facts a decision reads."""

from __future__ import annotations

from backbeat.domain.campaign import FrequencyCap, Objective, Pacing, Pricing
from backbeat.serving.entries import CampaignEntry, Candidate, cpm_unit
from backbeat.serving.ranking import REACH_WINDOW_S
from tests.serving.factories import campaign, creative, targeting


def test_cpm_entry_prices_one_impression_exactly() -> None:
    e = CampaignEntry(campaign(1, bid_micros=2_750_000), [creative(10, 1)])
    assert e.unit_price == 2750 and not e.cpc and e.bid == 2_750_000
    assert e.genres is None and e.countries is None and e.devices is None
    assert e.days is None and e.hours is None and e.audiences is None
    assert not e.even and not e.awareness and e.cap is None and not e.needs_exposures()


def test_cpm_bid_off_the_thousandth_grid_rounds_down_per_impression() -> None:
    assert cpm_unit(campaign(1, bid_micros=2_750_999)) == 2750


def test_cpc_awareness_entry_with_cap_and_targeting() -> None:
    camp = campaign(
        2,
        pricing=Pricing.CPC,
        bid_micros=350_000,
        objective=Objective.AWARENESS,
        pacing=Pacing.EVEN,
        frequency_cap=FrequencyCap(3, 12),
        targeting=targeting(genres=frozenset({"pop"}), audiences=frozenset({4, 2})),
    )
    e = CampaignEntry(camp, [creative(20, 2)])
    assert e.unit_price == 350_000 and e.cpc and e.even and e.awareness
    assert e.genres == frozenset({"pop"}) and e.audiences == (2, 4)
    assert e.cap == 3 and e.exposure_window_s == 12 * 3600 and e.needs_exposures()
    assert e.start == camp.start.timestamp() and e.end == camp.end.timestamp()


def test_uncapped_awareness_looks_back_one_reach_window() -> None:
    e = CampaignEntry(campaign(3, objective=Objective.AWARENESS), [creative(30, 3)])
    assert e.needs_exposures() and e.exposure_window_s == REACH_WINDOW_S


def test_candidate_carries_the_fitting_creatives() -> None:
    e = CampaignEntry(campaign(4), [creative(40, 4), creative(41, 4)])
    c = Candidate(e, e.creatives[:1])
    assert c.id == 4 and c.entry is e and [cr.id for cr in c.creatives] == [40]
