"""The counting pipeline: each step by the DropReason it gives, its order, and its effects.

Runs against MemoryCounters and the real Redis alike (the `counters` fixture)."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from backbeat.config import Settings
from backbeat.domain.audience import Engagement
from backbeat.domain.events import DropReason, EventType
from backbeat.store.counters.memory import MemoryCounters
from backbeat.store.counters.protocol import Counters
from backbeat.tracking.attribution import MemoryTouchLog
from backbeat.tracking.errors import RejectReason, WrongKind
from backbeat.tracking.pipeline import (
    PIPELINE,
    EventContext,
    Outcome,
    Verdict,
    audience_campaign,
    audience_key,
    evaluate,
    impression_claim,
)
from backbeat.tracking.visitor import ANONYMOUS, Visitor
from tests.store.counters.conftest import FakeClock
from tests.tracking.conftest import CHROME, GOOGLEBOT, HEADLESS, NOW, make_payload

VISITOR = Visitor("hVISITORVISITORVISITORV", "kABUSEKEYABUSEKEYABUSEK")
OTHER_DECISION = "019ac9f0-3a40-7c3e-9a1b-000000000002"


def ctx(kind: EventType = EventType.IMPRESSION, **kw: Any) -> EventContext:
    payload_kw = {k: kw.pop(k) for k in list(kw) if k in ("decision_id", "campaign_id",
                                                          "site_domain", "freq_window_s")}
    base = EventContext(
        payload=make_payload(kind=kind, **payload_kw),
        visitor=VISITOR,
        now=NOW,
        user_agent=CHROME,
        page_host="beats.example.com",
    )
    return replace(base, **kw)


def run(kind: EventType, c: Counters, s: Settings, **kw: Any) -> Outcome:
    return evaluate(kind, ctx(kind, **kw), c, s)


def invalid(reason: DropReason, step: str) -> Outcome:
    return Outcome(Verdict.INVALID, reason, step)


def test_steps_run_in_the_documented_order() -> None:
    assert [s.name for s in PIPELINE] == [
        "prefetch", "bot", "domain", "rate", "impression_seen", "duplicate_impression",
        "duplicate_viewable", "duplicate_click", "double_click",
    ]


def test_a_fresh_impression_is_valid(counters: Counters, settings: Settings) -> None:
    out = run(EventType.IMPRESSION, counters, settings)
    assert out.valid and out.stored
    assert out == Outcome(Verdict.VALID)


# PREFETCH ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [{"Sec-Purpose": "prefetch"}, {"Sec-Purpose": "prefetch;prerender"},
     {"Sec-Purpose": "prefetch;anonymous-client-ip"}, {"Purpose": "prefetch"},
     {"X-Moz": "prefetch"}, {"X-Purpose": "preview"}],
)
def test_prefetch_is_ignored_not_stored(
    headers: dict[str, str], counters: Counters, settings: Settings
) -> None:
    c = EventContext.build(method="GET", headers={"User-Agent": CHROME, **headers},
                           payload=make_payload(), visitor=VISITOR, now=NOW)
    out = evaluate(EventType.IMPRESSION, c, counters, settings)
    assert out == Outcome(Verdict.IGNORED, DropReason.PREFETCH, "prefetch")
    assert not out.stored
    # Nothing was consumed: the real load afterwards is the valid impression.
    assert run(EventType.IMPRESSION, counters, settings).valid


def test_head_requests_are_ignored(counters: Counters, settings: Settings) -> None:
    for kind in (EventType.IMPRESSION, EventType.CLICK):
        out = run(kind, counters, settings, method="HEAD")
        assert out.verdict is Verdict.IGNORED
        assert out.reason is DropReason.PREFETCH


# BOT -----------------------------------------------------------------------------------
@pytest.mark.parametrize("ua", [GOOGLEBOT, HEADLESS, "curl/8.5.0", ""])
def test_bot_user_agents_give_bot(ua: str, counters: Counters, settings: Settings) -> None:
    out = run(EventType.IMPRESSION, counters, settings, user_agent=ua)
    assert out == invalid(DropReason.BOT, "bot")
    assert out.stored


# DOMAIN_MISMATCH -----------------------------------------------------------------------
def test_page_on_another_domain_gives_domain_mismatch(
    counters: Counters, settings: Settings
) -> None:
    out = run(EventType.IMPRESSION, counters, settings, page_host="stolen-tag.example.net")
    assert out == invalid(DropReason.DOMAIN_MISMATCH, "domain")
    # Lookalikes are not subdomains.
    out = run(EventType.IMPRESSION, counters, settings, page_host="evilbeats.example.com")
    assert out.reason is DropReason.DOMAIN_MISMATCH


@pytest.mark.parametrize(
    ("page_host", "site_domain"),
    [("www.beats.example.com", "beats.example.com"),
     ("beats.example.com", "beats.example.com"),
     (None, "beats.example.com"),  # the page is unknown: cannot judge
     ("ads.backbeat.example", "beats.example.com"),  # our own ad iframe as Referer
     ("anything.example.org", "")],  # no site domain in the link
)
def test_domain_step_passes_what_it_cannot_fault(
    page_host: str | None, site_domain: str, counters: Counters, settings: Settings
) -> None:
    out = run(EventType.IMPRESSION, counters, settings, page_host=page_host,
              site_domain=site_domain)
    assert out.valid


# RATE ----------------------------------------------------------------------------------
def test_too_many_events_per_minute_give_rate(counters: Counters, settings: Settings) -> None:
    assert settings.max_events_per_visitor_minute == 5
    decisions = [f"019ac9f0-3a40-7c3e-9a1b-{i:012x}" for i in range(7)]
    outs = [run(EventType.IMPRESSION, counters, settings, decision_id=d, now=NOW + i)
            for i, d in enumerate(decisions)]
    assert [o.valid for o in outs] == [True] * 5 + [False] * 2
    assert outs[5] == invalid(DropReason.RATE, "rate")
    # The next minute starts afresh; the rate-dropped decision was not used up.
    assert run(EventType.IMPRESSION, counters, settings, decision_id=decisions[5],
               now=NOW + 60).valid


def test_rate_is_per_visitor_key(counters: Counters, settings: Settings) -> None:
    for i in range(5):
        run(EventType.IMPRESSION, counters, settings,
            decision_id=f"019ac9f0-3a40-7c3e-9a1b-{i:012x}")
    other = Visitor("hOTHER", "kOTHER")
    assert run(EventType.IMPRESSION, counters, settings, visitor=other,
               decision_id="019ac9f0-3a40-7c3e-9a1b-0000000000ff").valid


# DUPLICATE (impression) ------------------------------------------------------------------
def test_second_impression_of_a_decision_gives_duplicate(
    counters: Counters, settings: Settings
) -> None:
    assert run(EventType.IMPRESSION, counters, settings).valid
    out = run(EventType.IMPRESSION, counters, settings, now=NOW + 5)
    assert out == invalid(DropReason.DUPLICATE, "duplicate_impression")


def test_concurrent_impressions_of_one_decision_have_one_valid(
    counters: Counters, settings: Settings
) -> None:
    roomy = settings.model_copy(update={"max_events_per_visitor_minute": 1000})
    barrier = threading.Barrier(12)
    outs: list[Outcome] = []

    def work() -> None:
        barrier.wait()
        outs.append(run(EventType.IMPRESSION, counters, roomy))

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(o.valid for o in outs) == 1
    assert sum(o.reason is DropReason.DUPLICATE for o in outs) == 11


# NO_IMPRESSION ---------------------------------------------------------------------------
def test_click_without_impression_gives_no_impression(
    counters: Counters, settings: Settings
) -> None:
    out = run(EventType.CLICK, counters, settings)
    assert out == invalid(DropReason.NO_IMPRESSION, "impression_seen")


def test_viewable_without_impression_gives_no_impression(
    counters: Counters, settings: Settings
) -> None:
    out = run(EventType.VIEWABLE, counters, settings)
    assert out == invalid(DropReason.NO_IMPRESSION, "impression_seen")


def test_an_early_click_does_not_poison_the_late_impression(
    counters: Counters, settings: Settings
) -> None:
    assert run(EventType.CLICK, counters, settings).reason is DropReason.NO_IMPRESSION
    assert run(EventType.IMPRESSION, counters, settings, now=NOW + 1).valid
    assert run(EventType.CLICK, counters, settings, now=NOW + 2).valid


def test_invalid_impression_does_not_enable_clicks(
    counters: Counters, settings: Settings
) -> None:
    assert run(EventType.IMPRESSION, counters, settings, user_agent=GOOGLEBOT).reason is (
        DropReason.BOT
    )
    assert run(EventType.CLICK, counters, settings).reason is DropReason.NO_IMPRESSION


def test_impression_of_another_decision_does_not_count(
    counters: Counters, settings: Settings
) -> None:
    run(EventType.IMPRESSION, counters, settings, decision_id=OTHER_DECISION)
    assert run(EventType.CLICK, counters, settings).reason is DropReason.NO_IMPRESSION


# viewable DUPLICATE ----------------------------------------------------------------------
def test_viewable_after_impression_then_duplicate(
    counters: Counters, settings: Settings
) -> None:
    run(EventType.IMPRESSION, counters, settings)
    assert run(EventType.VIEWABLE, counters, settings, now=NOW + 2).valid
    out = run(EventType.VIEWABLE, counters, settings, now=NOW + 3)
    assert out == invalid(DropReason.DUPLICATE, "duplicate_viewable")


# DUPLICATE_CLICK -------------------------------------------------------------------------
def test_second_click_on_a_decision_gives_duplicate_click(
    counters: Counters, settings: Settings
) -> None:
    run(EventType.IMPRESSION, counters, settings)
    assert run(EventType.CLICK, counters, settings, now=NOW + 5).valid
    out = run(EventType.CLICK, counters, settings, now=NOW + 7)
    assert out == invalid(DropReason.DUPLICATE_CLICK, "duplicate_click")


def test_click_on_the_same_campaign_within_the_window_gives_duplicate_click(
    counters: Counters, settings: Settings
) -> None:
    for d in (None, OTHER_DECISION):
        kw = {"decision_id": d} if d else {}
        run(EventType.IMPRESSION, counters, settings, **kw)
    assert run(EventType.CLICK, counters, settings, now=NOW + 5).valid
    out = run(EventType.CLICK, counters, settings, decision_id=OTHER_DECISION, now=NOW + 9)
    assert out == invalid(DropReason.DUPLICATE_CLICK, "double_click")


def test_double_click_window_expires(settings: Settings) -> None:
    clock = FakeClock()
    c = MemoryCounters(clock=clock)
    run(EventType.IMPRESSION, c, settings)
    run(EventType.IMPRESSION, c, settings, decision_id=OTHER_DECISION)
    assert run(EventType.CLICK, c, settings).valid
    clock.advance(settings.click_dedupe_seconds + 1)
    later = NOW + settings.click_dedupe_seconds + 1
    assert run(EventType.CLICK, c, settings, decision_id=OTHER_DECISION, now=later).valid


def test_concurrent_clicks_on_one_decision_have_one_valid(
    counters: Counters, settings: Settings
) -> None:
    roomy = settings.model_copy(update={"max_events_per_visitor_minute": 1000})
    run(EventType.IMPRESSION, counters, roomy)
    barrier = threading.Barrier(10)
    outs: list[Outcome] = []

    def work() -> None:
        barrier.wait()
        outs.append(run(EventType.CLICK, counters, roomy, now=NOW + 3))

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(o.valid for o in outs) == 1
    assert all(o.reason is DropReason.DUPLICATE_CLICK for o in outs if not o.valid)


# refusal ---------------------------------------------------------------------------------
def test_a_link_used_for_another_kind_is_refused(counters: Counters, settings: Settings) -> None:
    with pytest.raises(WrongKind) as err:
        evaluate(EventType.CLICK, ctx(EventType.IMPRESSION), counters, settings)
    assert err.value.reason is RejectReason.WRONG_KIND
    assert err.value.status == 403


# effects of valid events -----------------------------------------------------------------
def test_valid_impression_records_exposure_and_viewed_engagement(
    counters: Counters, settings: Settings
) -> None:
    run(EventType.IMPRESSION, counters, settings)
    assert counters.exposures(VISITOR.id, [101], NOW + 1, 86_400) == {101: 1}
    viewed = audience_key(Engagement.VIEWED, 101)
    assert counters.engagement_count(viewed, VISITOR.id, NOW + 1, 86_400) == 1
    # A duplicate adds nothing.
    run(EventType.IMPRESSION, counters, settings, now=NOW + 2)
    assert counters.exposures(VISITOR.id, [101], NOW + 3, 86_400) == {101: 1}


def test_uncapped_campaign_records_no_exposure(counters: Counters, settings: Settings) -> None:
    run(EventType.IMPRESSION, counters, settings, freq_window_s=0)
    assert counters.exposures(VISITOR.id, [101], NOW + 1, 86_400) == {101: 0}


def test_valid_click_records_clicked_engagement_and_touch(
    counters: Counters, settings: Settings
) -> None:
    touches = MemoryTouchLog()
    evaluate(EventType.IMPRESSION, ctx(), counters, settings, touches=touches)
    evaluate(EventType.CLICK, ctx(EventType.CLICK, now=NOW + 4), counters, settings,
             touches=touches)
    clicked = audience_key(Engagement.CLICKED, 101)
    assert counters.engagement_count(clicked, VISITOR.id, NOW + 5, 3600) == 1
    recent = touches.recent(505, VISITOR.id)
    assert [t.at for t in recent.clicks] == [NOW + 4]
    assert [t.at for t in recent.impressions] == [NOW]
    assert recent.clicks[0].decision_id == make_payload().decision_id


def test_anonymous_visitors_count_but_build_no_profile(
    counters: Counters, settings: Settings
) -> None:
    anon = Visitor(ANONYMOUS, "kANON")
    touches = MemoryTouchLog()
    assert evaluate(EventType.IMPRESSION, ctx(visitor=anon), counters, settings,
                    touches=touches).valid
    assert evaluate(EventType.CLICK, ctx(EventType.CLICK, visitor=anon, now=NOW + 3),
                    counters, settings, touches=touches).valid
    assert counters.exposures(ANONYMOUS, [101], NOW + 5, 86_400) == {101: 0}
    for engagement in (Engagement.VIEWED, Engagement.CLICKED):
        key = audience_key(engagement, 101)
        assert counters.engagement_count(key, ANONYMOUS, NOW + 5, 86_400) == 0
    assert len(touches) == 0


def test_seen_marker_is_the_decisions_impression_claim(
    counters: Counters, settings: Settings
) -> None:
    decision = make_payload().decision_id
    assert not counters.claimed(impression_claim(decision))
    run(EventType.IMPRESSION, counters, settings)
    assert counters.claimed(impression_claim(decision))
    assert not counters.claimed(impression_claim(OTHER_DECISION))


def test_an_invalid_impression_does_not_mark_its_decision_seen(
    counters: Counters, settings: Settings
) -> None:
    bot = evaluate(EventType.IMPRESSION, ctx(user_agent=GOOGLEBOT), counters, settings)
    assert bot.reason is DropReason.BOT
    assert not counters.claimed(impression_claim(make_payload().decision_id))
    click = evaluate(EventType.CLICK, ctx(EventType.CLICK, now=NOW + 3), counters, settings)
    assert click.reason is DropReason.NO_IMPRESSION


# context building ------------------------------------------------------------------------
def test_build_reads_the_request() -> None:
    c = EventContext.build(
        method="get",
        headers={"user-agent": CHROME, "referer": "https://www.beats.example.com/a?b=c"},
        payload=make_payload(), visitor=VISITOR, now=NOW,
    )
    assert c.method == "GET"
    assert c.user_agent == CHROME
    assert c.page_host == "www.beats.example.com"
    assert c.purpose == ""
    explicit = EventContext.build(
        method="GET", headers={"Referer": "https://ads.backbeat.example/frame"},
        payload=make_payload(), visitor=VISITOR, now=NOW,
        page_url="https://beats.example.com/artist/1",
    )
    assert explicit.page_host == "beats.example.com"  # the tag's page URL beats the Referer


def test_an_audience_key_names_its_campaign() -> None:
    for engagement in Engagement:
        assert audience_campaign(audience_key(engagement, 4321)) == 4321
