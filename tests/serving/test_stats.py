"""CreativeStats: counts under concurrent writers, and seeding from stored rows."""

from __future__ import annotations

import threading

import pytest

from backbeat.errors import ValidationFailed
from backbeat.serving.stats import CreativeStats


def test_counts_start_at_zero_and_add_up() -> None:
    s = CreativeStats()
    assert s.get(1) == (0, 0) and len(s) == 0
    s.record_impression(1)
    s.record_impression(1, 9)
    s.record_click(1)
    assert s.get(1) == (10, 1) and s.impressions(1) == 10 and s.clicks(1) == 1
    with pytest.raises(ValidationFailed):
        s.record_click(1, -1)


def test_concurrent_writers_lose_nothing() -> None:
    s = CreativeStats()

    def work() -> None:
        for i in range(5000):
            s.record_impression(i % 3)
            if i % 10 == 0:
                s.record_click(i % 3)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = s.snapshot()
    assert sum(i for i, _ in snap.values()) == 20_000
    assert sum(c for _, c in snap.values()) == 2000


def test_load_seeds_and_replaces_counts() -> None:
    s = CreativeStats()
    s.record_impression(1, 5)
    s.record_impression(3, 2)
    loaded = s.load([(1, 100, 2), {"creative_id": 2, "impressions": 50, "clicks": 1}, (2, 10, 0)])
    assert loaded == 2
    assert s.get(1) == (100, 2)  # replaced by the stored count
    assert s.get(2) == (60, 1)  # rows of one creative add up
    assert s.get(3) == (2, 0)  # untouched


@pytest.mark.parametrize(
    "row", [(1, -5, 0), (1, 5), ("1", 5, 0), {"creative_id": 1, "impressions": 3}, (1, 2.5, 0)]
)
def test_load_rejects_bad_rows_and_loads_nothing(row: object) -> None:
    s = CreativeStats()
    with pytest.raises(ValidationFailed) as exc:
        s.load([(9, 1, 0), row])  # type: ignore[list-item]
    assert exc.value.fields[0].field == "rows[1]"
    assert s.get(9) == (0, 0)


def test_counts_leave_the_pin_out_and_keep_the_dict_tracked() -> None:
    import gc

    from backbeat.heap import PIN

    stats = CreativeStats()
    stats.record_impression(7, 3)
    stats.record_click(7)
    assert stats.snapshot() == {7: (3, 1)} and len(stats) == 1
    assert PIN not in stats.snapshot()
    gc.collect()
    assert gc.is_tracked(stats._data)  # never untracked, so never re-tracked as young
