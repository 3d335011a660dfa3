"""Young garbage collections in a process holding many counter series.

    .venv/bin/python bench/bench_gc_counters.py [--series 400000] [--calls 200]

Fills a MemoryCounters the way a serving worker's replays do (exposures and audience
memberships, 500 of each per call), freezes the heap as ``web.runtime.settle_heap`` does,
then replays `--calls` more messages and reports every collection the collector ran
meanwhile: how many of each generation and the slowest. Before ``backbeat.heap``'s pinned
dicts, a fresh series put in a stripe dict the collector had untracked brought the whole
dict back among the young objects (docs/benchmarks.md, session 6).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backbeat.store.counters.memory import MemoryCounters

AT = 1_700_000_000.0


def messages(rng: random.Random, visitors: list[str], n: int, at: float) -> tuple[
    list[tuple[str, int, float, int]], list[tuple[str, str, float, int]]
]:
    ex = [(rng.choice(visitors), rng.randrange(10_000), at + i * 0.001, 86_400) for i in range(n)]
    return ex, [(f"imp:{campaign}", visitor, t, 86_400) for visitor, campaign, t, _ in ex]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--series", type=int, default=400_000, help="exposures (and as many memberships)"
    )
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    rng = random.Random(7)
    visitors = [f"h{i:022d}" for i in range(10_000)]
    counters = MemoryCounters()
    ex, mem = messages(rng, visitors, args.series, AT)
    for i in range(0, len(ex), 500):
        counters.replay(ex[i : i + 500], mem[i : i + 500])
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)
    print(f"series held: {counters.entries():,}")
    times: list[tuple[int, float]] = []
    started = [0.0]

    def timer(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            times.append((info["generation"], (time.perf_counter() - started[0]) * 1000))

    gc.callbacks.append(timer)
    t0 = time.perf_counter()
    for k in range(args.calls):
        counters.replay(*messages(rng, visitors, 500, AT + 500 + k))
    total = (time.perf_counter() - t0) * 1000
    gc.callbacks.remove(timer)
    print(f"{args.calls} replays of 500 exposures and 500 memberships: {total:.0f} ms")
    for gen in (0, 1, 2):
        ms = [t for g, t in times if g == gen]
        if ms:
            print(f"generation {gen}: {len(ms)} collections, slowest {max(ms):.1f} ms, "
                  f"mean {sum(ms) / len(ms):.2f} ms")


if __name__ == "__main__":
    main()
