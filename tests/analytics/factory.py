"""Events for the analytics tests, stored through the real DuckDB event store."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from backbeat.domain.events import Attribution, DropReason, Event, EventType

_seq = itertools.count(1)


def ev(ts: datetime, type: EventType = EventType.IMPRESSION, **overrides: Any) -> Event:
    """One valid event at `ts` (aware, or naive UTC) with sensible defaults."""
    n = next(_seq)
    values: dict[str, Any] = {
        "id": f"{int(ts.timestamp() * 1000):013d}-{n:09d}",
        "ts": ts,
        "type": type,
        "valid": True,
        "decision_id": f"dec-{n}",
        "campaign_id": 1,
        "creative_id": 11,
        "advertiser_id": 1,
        "site_id": 5,
        "publisher_id": 3,
        "placement_id": 51,
        "visitor": f"h{n}",
        "country": "US",
        "device": "mobile",
        "format": "display",
        "size": "300x250",
        "genre": "rock",
        "genre_match": True,
        "objective": "awareness",
        "price_micros": 0,
        "drop_reason": None,
        "attribution": None,
        "value_micros": 0,
    }
    values.update(overrides)
    if not values["valid"] and values["drop_reason"] is None:
        values["drop_reason"] = DropReason.BOT
    return Event(**values)


def many(count: int, ts: datetime, type: EventType = EventType.IMPRESSION, **kw: Any) -> list[Event]:
    """`count` events of one kind, a second apart from `ts`."""
    return [ev(ts + timedelta(seconds=i), type, **kw) for i in range(count)]


def random_events(n: int, start: datetime, days: int, seed: int = 7) -> list[Event]:
    """Varied events over `days` days: several campaigns, sites, countries, kinds, validity."""
    rng = random.Random(seed)
    out = []
    span = days * 86_400
    kinds = [EventType.DECISION, EventType.IMPRESSION, EventType.IMPRESSION,
             EventType.VIEWABLE, EventType.CLICK, EventType.CONVERSION]
    for _ in range(n):
        ts = start + timedelta(seconds=rng.randrange(span))
        kind = rng.choice(kinds)
        valid = rng.random() < 0.9 or kind is EventType.DECISION
        campaign = rng.randint(1, 4)
        out.append(ev(
            ts, kind, valid=valid, campaign_id=campaign, creative_id=campaign * 10 + rng.randint(1, 2),
            advertiser_id=1 + campaign % 2, site_id=rng.randint(1, 3), publisher_id=rng.randint(1, 2),
            placement_id=rng.randint(1, 5), visitor=f"h{rng.randint(1, 60)}",
            country=rng.choice(["US", "DE", "BR"]), device=rng.choice(["desktop", "mobile"]),
            genre=rng.choice(["rock", "jazz"]), genre_match=rng.random() < 0.5,
            objective=rng.choice(["awareness", "traffic"]),
            price_micros=rng.choice([0, 2_500, 3_000, 400_000]),
            drop_reason=None if valid else rng.choice(list(DropReason)),
            attribution=rng.choice(list(Attribution)) if kind is EventType.CONVERSION else None,
        ))
    return out


UTC_DAY = datetime(2026, 3, 2, tzinfo=UTC)
