"""Event builders for the event-store tests: valid events with time-ordered (UUIDv7-shaped) ids."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from backbeat.domain.events import Attribution, DropReason, Event, EventType

BASE_TS = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def event_id(ms: int, rng: random.Random) -> str:
    """A UUIDv7-shaped id: 48-bit millisecond time first, so ids sort by time."""
    t = f"{ms:012x}"
    return (
        f"{t[:8]}-{t[8:]}-7{rng.getrandbits(12):03x}-"
        f"{8 | rng.getrandbits(2):x}{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
    )


def make_event(**overrides: Any) -> Event:
    """One fully populated event (every optional field set); override any field."""
    rng = random.Random(overrides.pop("seed", 0))
    ts = overrides.get("ts", BASE_TS)
    stamp = ts if isinstance(ts, datetime) else BASE_TS
    values: dict[str, Any] = {
        "id": event_id(int(stamp.timestamp() * 1000), rng),
        "ts": ts,
        "type": EventType.CLICK,
        "valid": False,
        "decision_id": "dec-0001",
        "campaign_id": 41,
        "creative_id": 412,
        "advertiser_id": 7,
        "site_id": 3,
        "publisher_id": 2,
        "placement_id": 31,
        "visitor": "v:5f2a",
        "country": "DE",
        "device": "mobile",
        "format": "display",
        "size": "300x250",
        "genre": "Hip Hop",
        "genre_match": True,
        "objective": "traffic",
        "price_micros": 1_250_000,
        "drop_reason": DropReason.DUPLICATE_CLICK,
        "attribution": Attribution.VIEW_THROUGH,
        "value_micros": 9_990_000,
    }
    values.update(overrides)
    return Event(**values)


def make_events(
    n: int, seed: int = 1, start: datetime = BASE_TS, step_ms: int = 450
) -> list[Event]:
    """`n` varied events spread over time (several hours for large n), ids ascending."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ts = start + timedelta(milliseconds=i * step_ms)
        valid = rng.random() < 0.85
        out.append(
            Event(
                id=event_id(int(ts.timestamp() * 1000), rng),
                ts=ts,
                type=rng.choice(list(EventType)),
                valid=valid,
                decision_id=f"dec-{seed}-{i}",
                campaign_id=rng.randint(1, 4),
                creative_id=rng.randint(1, 6),
                advertiser_id=rng.randint(1, 2),
                site_id=rng.randint(1, 3),
                publisher_id=rng.randint(1, 2),
                placement_id=rng.randint(1, 5),
                visitor=f"v{rng.randint(1, 300)}",
                country=rng.choice(["US", "DE", "BR"]),
                device=rng.choice(["desktop", "mobile"]),
                format="display",
                size=rng.choice(["300x250", "728x90"]),
                genre=rng.choice(["Rock", "Jazz"]),
                genre_match=rng.random() < 0.5,
                objective="awareness",
                price_micros=rng.randint(0, 4000),
                drop_reason=None if valid else rng.choice(list(DropReason)),
                attribution=rng.choice([None, *Attribution]),
                value_micros=rng.choice([0, 0, 5_000_000]),
            )
        )
    return out
