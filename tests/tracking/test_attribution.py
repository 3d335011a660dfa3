"""Attribution: last click within the click window, else a view within the view window."""

from __future__ import annotations

import pytest

from backbeat.domain.events import Attribution
from backbeat.tracking.attribution import (
    DAY_S,
    KEEP_PER_KIND,
    Credit,
    MemoryTouchLog,
    Touch,
    Touches,
    TouchKind,
    attribute,
    attribute_conversion,
)
from backbeat.tracking.visitor import ANONYMOUS

T = 1_764_331_200.0
CLICK_DAYS, VIEW_DAYS = 7, 1


def touch(at: float, campaign: int = 1, decision: str = "d") -> Touch:
    return Touch(at=at, decision_id=decision, campaign_id=campaign, creative_id=campaign * 10)


def credit(at: float, clicks: list[Touch], imps: list[Touch], view_days: int = VIEW_DAYS) -> Credit:
    return attribute(at, Touches(tuple(clicks), tuple(imps)), click_days=CLICK_DAYS,
                     view_days=view_days)


def test_click_within_window_is_click_through() -> None:
    c = credit(T, [touch(T - 3 * DAY_S)], [])
    assert c.attribution is Attribution.CLICK_THROUGH
    assert c.lag_s == 3 * DAY_S


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (0, Attribution.CLICK_THROUGH),  # same instant
        (CLICK_DAYS * DAY_S, Attribution.CLICK_THROUGH),  # exactly at the window's end
        (CLICK_DAYS * DAY_S + 1, Attribution.UNATTRIBUTED),  # one second past it
        (-1, Attribution.UNATTRIBUTED),  # a click after the conversion
    ],
)
def test_click_window_boundaries(age: float, expected: Attribution) -> None:
    assert credit(T, [touch(T - age)], []).attribution is expected


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (VIEW_DAYS * DAY_S, Attribution.VIEW_THROUGH),
        (VIEW_DAYS * DAY_S + 1, Attribution.UNATTRIBUTED),
        (-0.5, Attribution.UNATTRIBUTED),
    ],
)
def test_view_window_boundaries(age: float, expected: Attribution) -> None:
    assert credit(T, [], [touch(T - age)]).attribution is expected


def test_a_click_beats_a_more_recent_impression() -> None:
    c = credit(T, [touch(T - 2 * DAY_S, campaign=1)], [touch(T - 60, campaign=2)])
    assert c.attribution is Attribution.CLICK_THROUGH
    assert c.touch is not None and c.touch.campaign_id == 1


def test_expired_click_falls_back_to_a_recent_view() -> None:
    c = credit(T, [touch(T - 8 * DAY_S, campaign=1)], [touch(T - 3600, campaign=2)])
    assert c.attribution is Attribution.VIEW_THROUGH
    assert c.touch is not None and c.touch.campaign_id == 2


def test_latest_eligible_touch_gets_the_credit() -> None:
    clicks = [touch(T + 100, campaign=3), touch(T - 50, campaign=2), touch(T - 500, campaign=1)]
    c = credit(T, clicks, [])
    assert c.touch is not None and c.touch.campaign_id == 2  # T+100 is after the conversion


def test_zero_view_days_turns_view_through_off() -> None:
    c = credit(T, [], [touch(T - 10)], view_days=0)
    assert c.attribution is Attribution.UNATTRIBUTED
    assert c.touch is None and c.lag_s is None


def test_no_touches_is_unattributed() -> None:
    assert credit(T, [], []).attribution is Attribution.UNATTRIBUTED


# the log ------------------------------------------------------------------------------
def test_log_round_trip_and_lookup() -> None:
    log = MemoryTouchLog()
    log.record(7, "hV", TouchKind.IMPRESSION, touch(T - 7200))
    log.record(7, "hV", TouchKind.CLICK, touch(T - 3600))
    log.record(8, "hV", TouchKind.CLICK, touch(T - 60))  # another advertiser
    c = attribute_conversion(log, 7, "hV", T, click_days=CLICK_DAYS, view_days=VIEW_DAYS)
    assert c.attribution is Attribution.CLICK_THROUGH
    assert c.lag_s == 3600
    none = attribute_conversion(log, 9, "hV", T, click_days=CLICK_DAYS, view_days=VIEW_DAYS)
    assert none.attribution is Attribution.UNATTRIBUTED


def test_late_reported_conversion_finds_the_earlier_click() -> None:
    log = MemoryTouchLog()
    log.record(7, "hV", TouchKind.CLICK, touch(T - 3600, campaign=1))
    log.record(7, "hV", TouchKind.CLICK, touch(T + 3600, campaign=2))  # after the conversion
    c = attribute_conversion(log, 7, "hV", T, click_days=CLICK_DAYS, view_days=VIEW_DAYS)
    assert c.touch is not None and c.touch.campaign_id == 1


def test_log_keeps_only_the_latest_few_per_kind() -> None:
    log = MemoryTouchLog()
    for i in range(KEEP_PER_KIND + 5):
        log.record(7, "hV", TouchKind.CLICK, touch(T + i))
    kept = log.recent(7, "hV").clicks
    assert len(kept) == KEEP_PER_KIND
    assert kept[0].at == T + KEEP_PER_KIND + 4  # newest first
    assert kept[-1].at == T + 5


def test_log_is_bounded_by_pairs_and_by_age() -> None:
    log = MemoryTouchLog(max_pairs=3, retention_s=10 * DAY_S)
    for v in ("a", "b", "c", "d"):
        log.record(1, v, TouchKind.CLICK, touch(T))
    assert len(log) == 3
    assert log.recent(1, "a") == Touches()  # the least recently touched was evicted
    log.record(1, "e", TouchKind.CLICK, touch(T + 11 * DAY_S))
    assert len(log) == 1  # b, c, d are older than the retention behind the newest touch


def test_anonymous_visitors_are_never_logged_or_attributed() -> None:
    log = MemoryTouchLog()
    log.record(7, ANONYMOUS, TouchKind.CLICK, touch(T - 10))
    assert len(log) == 0
    c = attribute_conversion(log, 7, ANONYMOUS, T, click_days=CLICK_DAYS, view_days=VIEW_DAYS)
    assert c.attribution is Attribution.UNATTRIBUTED


def test_out_of_order_touches_are_kept_newest_first() -> None:
    log = MemoryTouchLog()
    for at in (T, T - 50, T + 10, T - 5, T + 10):
        log.record(7, "hV", TouchKind.IMPRESSION, touch(at))
    assert [t.at for t in log.recent(7, "hV").impressions] == [T + 10, T + 10, T, T - 5, T - 50]
    assert log.recent(7, "hV").clicks == ()


def test_the_log_is_invisible_to_the_garbage_collector() -> None:
    """The ingest process keeps up to a million pairs; a full collection must not walk them."""
    import gc

    log = MemoryTouchLog()
    for i in range(2_000):
        log.record(i % 50, f"h{i:021d}", TouchKind.IMPRESSION, touch(T + i, campaign=i))
        log.record(i % 50, f"h{i:021d}", TouchKind.CLICK, touch(T + i + 1))
    # The collector untracks a tuple once everything in it is untracked: nested tuples
    # take a pass or two more. (A busy server collects young objects all the time.)
    for _ in range(4):
        gc.collect()
    pairs = list(log._pairs.items())
    assert len(pairs) == 2_000
    assert not any(gc.is_tracked(k) or gc.is_tracked(v) for k, v in pairs)
    assert log.recent(3, f"h{3:021d}").impressions[0].campaign_id == 3
