"""Keeping large, long-lived dicts out of the cyclic garbage collector's young collections.

CPython untracks a dict whose keys and values are all untracked (in a full collection),
and tracks it again, among the youngest objects, as soon as a tracked object goes in: a
freshly built tuple is one, even a tuple of numbers. From then on each young collection
walks every entry of the dict, until the dict has aged into the oldest generation, where
the next full collection untracks it again. A serving process's counters and creative
stats are such dicts, with hundreds of thousands of entries: each cycle cost young
collections of tens of milliseconds, all holding the GIL (docs/benchmarks.md, session 6).

A dict created with :func:`pinned_dict` holds one extra entry whose value is a list, which
the collector can never untrack; so the dict stays tracked, is frozen with the rest of the
start-up heap by ``gc.freeze()`` (:func:`backbeat.web.runtime.settle_heap`), and is never
walked again. Its owner must skip :data:`PIN` when it iterates, count it out of ``len``,
and empty or sweep the dict in place rather than replace it.
"""

from __future__ import annotations

import math
from typing import Any

PIN = object()
"""The pinned key: equal to nothing but itself."""

_PINNED = [math.inf, math.inf]  # a deadline, at either index, that never passes


def pinned_dict() -> dict[Any, Any]:
    """An empty dict apart from its :data:`PIN` entry."""
    return {PIN: _PINNED}


def repin(d: dict[Any, Any]) -> None:
    """Put the pin back after ``d.clear()``."""
    d[PIN] = _PINNED
