"""backbeat.heap: a pinned dict stays tracked, so fresh tuples never put it among the
young objects (which an ordinary dict of untracked tuples suffers after a full collection)."""

from __future__ import annotations

import gc

from backbeat.heap import PIN, pinned_dict, repin


def fill(d: dict[object, object], n: int) -> None:
    for i in range(n):
        d[("k", str(i))] = (float(i), float(i + 1))


def young_ids() -> set[int]:
    return {id(o) for o in gc.get_objects(0)}


def test_an_ordinary_dict_of_tuples_comes_back_among_the_young_objects() -> None:
    plain: dict[object, object] = {}
    fill(plain, 100)
    gc.collect()  # untracks the tuples, then the dict that holds only them
    assert not gc.is_tracked(plain)
    plain[("k", str(7))] = (1.0, float(len(plain)))  # a fresh tuple
    assert gc.is_tracked(plain) and id(plain) in young_ids()  # walked by young collections


def test_a_pinned_dict_stays_tracked_and_out_of_the_young_generation_once_frozen() -> None:
    pinned = pinned_dict()
    fill(pinned, 100)
    gc.collect()
    gc.freeze()
    try:
        assert gc.is_tracked(pinned)
        pinned[("k", str(7))] = (1.0, float(len(pinned)))
        assert id(pinned) not in young_ids()
    finally:
        gc.unfreeze()


def test_the_pin_is_one_entry_that_clearing_can_restore() -> None:
    d = pinned_dict()
    assert list(d) == [PIN] and PIN != ("k", "0")
    d.clear()
    repin(d)
    assert list(d) == [PIN] and gc.is_tracked(d)
