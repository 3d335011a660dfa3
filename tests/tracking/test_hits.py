"""Hits: the spool codec, and counting a hit the way the route and the ingest process do."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from backbeat.config import Settings
from backbeat.domain.campaign import Campaign
from backbeat.domain.events import DropReason, EventType
from backbeat.serving.stats import CreativeStats
from backbeat.store.counters.memory import MemoryCounters
from backbeat.tracking.errors import MalformedToken, WrongKind
from backbeat.tracking.hits import Counting, Hit, HitCodec, count_hit
from backbeat.tracking.signing import sign
from tests.serving.factories import campaign as make_campaign
from tests.tracking.conftest import CHROME, GOOGLEBOT, NOW, SECRET, make_payload


def hit(kind: EventType = EventType.IMPRESSION, *, ident: str = "e1", **kw: object) -> Hit:
    payload = make_payload(kind=kind)
    fields: dict[str, object] = {
        "id": ident,
        "at": NOW + 1.5,
        "kind": kind,
        "token": sign(payload, SECRET),
        "method": "POST",
        "bot": False,
        "purpose": "",
        "page_host": "beats.example.com",
        "visitor_id": "hVISITORVISITORVISITORV",
        "visitor_key": "kABUSEKEYABUSEKEYABUSEK",
    }
    fields.update(kw)
    return Hit(**fields)  # type: ignore[arg-type]


def counting(settings: Settings, campaign: Campaign | None = None) -> Counting:
    return Counting(
        counters=MemoryCounters(),
        settings=settings,
        secret=SECRET,
        campaign=lambda cid: campaign,
        stats=CreativeStats(),
    )


def test_the_codec_round_trips_every_field() -> None:
    hits = [
        hit(),
        hit(EventType.CLICK, ident="e2", page_host=None, purpose="prefetch", method="HEAD"),
        hit(bot=True, ident="e3", page_host="caf\u00e9.example"),
    ]
    assert HitCodec.decode(HitCodec.encode(hits)) == hits


def test_an_older_spools_user_agent_is_classified_on_decoding() -> None:
    # before the route took the bot verdict, a hit carried the UA in the same position
    rows = [["e1", NOW, "impression", "tok", "POST", GOOGLEBOT, "", None, "hV", "kA"],
            ["e2", NOW, "impression", "tok", "POST", CHROME, "", None, "hV", "kA"]]
    first, second = HitCodec.decode(orjson.dumps(rows))
    assert first.bot is True and second.bot is False


def test_a_first_impression_is_valid_billed_and_timed_at_the_hit(settings: Settings) -> None:
    c = counting(settings)
    out = count_hit(hit(), c)
    assert out.outcome.valid and out.event is not None
    assert out.event.id == "e1" and out.event.valid and out.event.drop_reason is None
    assert out.event.ts == datetime.fromtimestamp(NOW + 1.5, UTC)
    assert out.event.price_micros == 2_500 and out.billed_micros == 2_500
    assert out.event.visitor == "hVISITORVISITORVISITORV"
    assert c.counters.spend(101, "2025-11-28").total_micros == 2_500
    assert c.stats is not None and c.stats.get(202) == (1, 0)


def test_a_replayed_impression_is_a_stored_duplicate_and_not_billed(settings: Settings) -> None:
    c = counting(settings)
    count_hit(hit(), c)
    again = count_hit(hit(ident="e2"), c)
    assert again.event is not None and not again.event.valid
    assert again.event.drop_reason is DropReason.DUPLICATE
    assert again.event.price_micros == 0
    assert c.counters.spend(101, "2025-11-28").total_micros == 2_500


def test_a_prefetch_is_not_an_event(settings: Settings) -> None:
    out = count_hit(hit(purpose="prefetch"), counting(settings))
    assert out.event is None and not out.outcome.stored
    assert out.outcome.reason is DropReason.PREFETCH


def test_a_bot_is_stored_invalid(settings: Settings) -> None:
    out = count_hit(hit(bot=True), counting(settings))
    assert out.event is not None and out.event.drop_reason is DropReason.BOT


def test_the_ingest_trusts_the_routes_verification(settings: Settings) -> None:
    # The route verified the link when the hit arrived; counting it later neither checks
    # the MAC again (the spool is the server's own) nor expires it: it was acknowledged.
    expired = make_payload(expires=int(NOW) + 2)  # live at the hit, long gone by now
    out = count_hit(hit(at=NOW + 1.5, token=sign(expired, SECRET)), counting(settings))
    assert out.outcome.valid and out.event is not None
    # verified under the secret in force then; the server's secret has rotated since
    rotated = count_hit(hit(token=sign(make_payload(), b"the-old-secret-0123456789abcdef")),
                        counting(settings))
    assert rotated.outcome.valid
    with pytest.raises(MalformedToken):  # a damaged record is refused, not guessed at
        count_hit(hit(token="not a token"), counting(settings))
    with pytest.raises(MalformedToken):
        count_hit(hit(token=sign(make_payload(), SECRET)[:40]), counting(settings))
    with pytest.raises(WrongKind):
        count_hit(hit(EventType.CLICK, token=sign(make_payload(), SECRET)), counting(settings))


def test_billing_stops_at_the_total_budget(settings: Settings) -> None:
    tight = make_campaign(101, budget_total_micros=3_000)
    c = counting(settings, tight)
    first = count_hit(hit(), c)
    payload = make_payload(decision_id="019ac9f0-3a40-7c3e-9a1b-000000000009")
    second = count_hit(hit(ident="e2", token=sign(payload, SECRET)), c)
    assert first.billed_micros == 2_500
    assert second.event is not None and second.event.valid
    assert second.billed_micros == 500  # only what was left of the budget
