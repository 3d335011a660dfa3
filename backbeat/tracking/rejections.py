"""A tally of refused tracking links, by reason (bad signature, expired, malformed, …).

Refused links are not events: nothing about them is trusted or stored. They are still
worth watching — a burst of bad signatures is someone forging links, a rise in expired
ones is a cache serving stale ad markup — so the tracking routes verify through
:meth:`Rejections.verify`, and an operator page or metrics endpoint reads
:meth:`Rejections.snapshot`. The counts are per process and since start.
"""

from __future__ import annotations

import threading
from collections import Counter

from backbeat.domain.events import EventType
from backbeat.tracking.errors import RejectReason, TokenRejected
from backbeat.tracking.signing import TrackingPayload, verify, verify_kind


class Rejections:
    """Thread-safe counts of refusals per :class:`RejectReason`."""

    def __init__(self) -> None:
        self._counts: Counter[RejectReason] = Counter()
        self._lock = threading.Lock()

    def add(self, reason: RejectReason) -> None:
        with self._lock:
            self._counts[reason] += 1

    def verify(self, token: str, secret: bytes, now: float) -> TrackingPayload:
        """:func:`~backbeat.tracking.signing.verify`, counting any refusal before re-raising."""
        try:
            return verify(token, secret, now)
        except TokenRejected as exc:
            self.add(exc.reason)
            raise

    def verify_kind(self, token: str, secret: bytes, now: float, kind: EventType) -> None:
        """:func:`~backbeat.tracking.signing.verify_kind`, counting any refusal (a link of
        another kind included) before re-raising."""
        try:
            verify_kind(token, secret, now, kind)
        except TokenRejected as exc:
            self.add(exc.reason)
            raise

    def snapshot(self) -> dict[str, int]:
        """Counts by reason value, every reason present (zeros included)."""
        with self._lock:
            return {r.value: self._counts[r] for r in RejectReason}

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())
