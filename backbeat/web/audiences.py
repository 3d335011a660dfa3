"""Which audience memberships a serving worker keeps: those some retargeting audience reads.

The ingest process records an engagement ("viewed" or "clicked" a campaign) for every valid
impression and click, and ships each to every worker as an effect. A worker decides ads
from those memberships only for the campaigns a retargeting audience is built on (an
audience's rule names one campaign and one engagement); keeping every visitor's
engagement with every campaign for the 180-day lookback would cost each worker memory in
proportion to all the traffic of half a year, and a replay per impression. So a worker
replays, and warms at start, only the memberships of :func:`audience_keys`.

When the catalog gains an audience, the worker learns its key with the next index and
re-warms that key's memberships from the store (:class:`AudienceKeys`). Effects of that key
dropped before the worker knew it belong to events the ingest process had already counted,
and it stores a counted event within its flush interval, so the re-warm waits `delay_s`
(several flush intervals) before it reads the store. An event counted in that gap can be
read from the store and also arrive as an effect, counting twice towards a "seen at least
N times" rule: the same bound as a worker starting while effects arrive.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from backbeat.serving.index import CandidateIndex
from backbeat.tracking.pipeline import audience_key

log = logging.getLogger(__name__)


def audience_keys(index: CandidateIndex) -> frozenset[str]:
    """The Counters audience keys the index's audiences read."""
    return frozenset(
        audience_key(a.rule.engagement, a.rule.campaign_id) for a in index.audiences.values()
    )


class AudienceKeys:
    """The audience keys of the current index, and a re-warm of each key a new one adds.

    Built from the index the worker starts with; :meth:`update` takes each new index (the
    index holder runs it before the swap, see ``IndexHolder.add_preparer``). `rewarm` loads
    the given keys' memberships from the store, on a timer thread `delay_s` after the
    index gained them (None: no re-warm; the ingest process uses this to publish only the
    memberships workers keep). Thread-safe: the effects thread reads the keys for every
    message."""

    def __init__(
        self,
        index: CandidateIndex,
        rewarm: Callable[[frozenset[str]], object] | None = None,
        *,
        delay_s: float = 0.0,
    ) -> None:
        if delay_s < 0:
            raise ValueError("delay_s must be >= 0")
        self._rewarm = rewarm
        self._delay_s = delay_s
        self._lock = threading.Lock()
        self._keys = audience_keys(index)
        self.timers: list[threading.Timer] = []  # the re-warms scheduled (for tests and close)

    def current(self) -> frozenset[str]:
        """The keys whose memberships to keep now."""
        return self._keys

    def update(self, index: CandidateIndex) -> None:
        """Take a new index's keys; schedule a re-warm of those it adds."""
        keys = audience_keys(index)
        with self._lock:
            added = keys - self._keys
            self._keys = keys
            if added and self._rewarm is not None:
                self._schedule(added)

    def _schedule(self, added: frozenset[str]) -> None:
        rewarm = self._rewarm
        assert rewarm is not None

        def run() -> None:
            try:
                rewarm(added)
            except Exception:  # the worker goes on; the audience fills from new effects
                log.exception("worker: re-warming audiences %s failed", sorted(added))

        timer = threading.Timer(self._delay_s, run)
        timer.daemon = True
        self.timers = [t for t in self.timers if t.is_alive()] + [timer]
        timer.start()

    def close(self) -> None:
        for timer in self.timers:
            timer.cancel()
