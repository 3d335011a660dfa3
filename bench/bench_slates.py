"""CPU time to prepare one block's slates, as every serving process does ahead of a block.

    .venv/bin/python bench/bench_slates.py [--blocks 7]

Opens the runtime on a copy of the seeded catalog (10,000 campaigns; run bench_http.py once
first), asks for the slate of every placement in twelve countries (so the cache knows the
(shape, country) pairs a busy network uses), then prebuilds `--blocks` consecutive blocks
and prints the process CPU time of each prebuild: minimum and median, since this machine is
shared and noisy. A serving worker pays this once per block (SLATE_BLOCK_S).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import bench_http

from backbeat.config import load_settings
from backbeat.web.runtime import SLATE_BLOCK_S, open_runtime

COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "BR", "MX", "SE", "NL", "JP", "ES")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=7)
    bench_http.add_seed_cache(ap)
    args = ap.parse_args()
    seed = bench_http.cached_seed(args.seed_cache)
    work = Path(tempfile.mkdtemp(prefix="backbeat-slates-"))
    shutil.copyfile(seed / "catalog.db", work / "catalog.db")
    rt = open_runtime(load_settings(data_dir=work, secret_key="s" * 48))
    try:
        decider = rt.decider
        cache, index = decider.slates, decider.index
        block = int(time.time() // SLATE_BLOCK_S)
        cache.prebuild(index, block)
        for pe in index.placements.values():
            for country in COUNTRIES:
                cache.get(index, pe, country, block)
        seconds = []
        built = 0
        for b in range(block + 1, block + 1 + args.blocks):
            t0 = time.process_time()
            built = cache.prebuild(index, b)
            seconds.append(time.process_time() - t0)
        print(
            f"{built} slates per block; prebuild CPU: min {min(seconds):.3f} s, "
            f"median {statistics.median(seconds):.3f} s over {len(seconds)} blocks"
        )
    finally:
        rt.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
