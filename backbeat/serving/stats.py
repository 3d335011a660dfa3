"""Per-creative impression and click counts that tracking writes and ranking reads.

Reads take no lock: each creative's counts are one immutable tuple, replaced whole under the
write lock, so a reader always sees a consistent (impressions, clicks) pair.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from backbeat.errors import ValidationFailed
from backbeat.heap import PIN, pinned_dict

_EMPTY = (0, 0)


class CreativeStats:
    """Thread-safe in-memory counts of valid impressions and clicks per creative id."""

    def __init__(self) -> None:
        # Pinned (backbeat.heap): every recorded count is a fresh tuple, which would track
        # an untracked dict of every creative among the young objects again.
        self._data: dict[Any, tuple[int, int]] = pinned_dict()
        self._lock = threading.Lock()

    def get(self, creative_id: int) -> tuple[int, int]:
        """(impressions, clicks) of the creative; (0, 0) when unseen."""
        return self._data.get(creative_id, _EMPTY)

    def impressions(self, creative_id: int) -> int:
        return self._data.get(creative_id, _EMPTY)[0]

    def clicks(self, creative_id: int) -> int:
        return self._data.get(creative_id, _EMPTY)[1]

    def record_impression(self, creative_id: int, n: int = 1) -> None:
        self._add(creative_id, n, 0)

    def record_click(self, creative_id: int, n: int = 1) -> None:
        self._add(creative_id, 0, n)

    def _add(self, creative_id: int, imps: int, clicks: int) -> None:
        if imps < 0 or clicks < 0:
            raise ValidationFailed.one("n", "counts only grow; give a non-negative number")
        with self._lock:
            old = self._data.get(creative_id, _EMPTY)
            self._data[creative_id] = (old[0] + imps, old[1] + clicks)

    def load(self, rows: Iterable[tuple[int, int, int] | Mapping[str, int]]) -> int:
        """Seed counts from the event store: rows of (creative_id, impressions, clicks) or
        mappings with those keys. Loaded counts replace what was held for those creatives.
        Rows for one creative add up. Returns how many creatives were loaded; a bad row
        raises ValidationFailed naming it (and nothing is loaded)."""
        parsed: dict[int, tuple[int, int]] = {}
        for n, row in enumerate(rows):
            if isinstance(row, Mapping):
                values = (row.get("creative_id"), row.get("impressions"), row.get("clicks"))
            else:
                values = tuple(row)  # type: ignore[assignment]
            if len(values) != 3 or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values
            ):
                raise ValidationFailed.one(
                    f"rows[{n}]", "needs creative_id, impressions, clicks as integers >= 0"
                )
            cid, imps, clicks = values
            assert isinstance(cid, int) and isinstance(imps, int) and isinstance(clicks, int)
            old = parsed.get(cid, _EMPTY)
            parsed[cid] = (old[0] + imps, old[1] + clicks)
        with self._lock:
            self._data.update(parsed)
        return len(parsed)

    def snapshot(self) -> dict[int, tuple[int, int]]:
        """A copy of every count, for reports and tests."""
        with self._lock:
            out = dict(self._data)
        del out[PIN]
        return out

    def __len__(self) -> int:
        return len(self._data) - 1  # the pin
