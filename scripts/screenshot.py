"""Make the README's screenshot of a campaign page: ``docs/img/campaign-page.png``.

Runs the dashboard's campaign-page browser test with ``BACKBEAT_SCREENSHOT=1``. The test
then fills a fresh data directory with the full demo network (``backbeat demo``: 14 days,
seed 1, about a minute and a half), starts ``backbeat serve`` on it, signs in as the demo
advertiser (Nova Lux), opens "Night Drive: single launch", waits until its charts are drawn
and its findings shown, and saves the page at 1280 px wide. Needs Debian's Chromium
(``/usr/bin/chromium``); without it this fails rather than skips.

Usage: ``.venv/bin/python scripts/screenshot.py`` from the repository root.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "img" / "campaign-page.png"
TEST = "tests/browser/test_dashboard.py::test_a_campaign_page_draws_its_charts_from_real_data"


def main() -> int:
    """Run the test that takes the screenshot; 0 when a new PNG was written."""
    started = time.time()
    env = {**os.environ, "BACKBEAT_SCREENSHOT": "1", "CI": "true"}  # CI: fail, never skip
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST]
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603 - our argv
    if result.returncode != 0:
        print(f"screenshot: the browser test failed (exit {result.returncode})", file=sys.stderr)
        return result.returncode
    if not OUTPUT.is_file() or OUTPUT.stat().st_mtime < started:
        print(f"screenshot: {OUTPUT} was not written", file=sys.stderr)
        return 1
    print(f"screenshot: wrote {OUTPUT.relative_to(ROOT)} ({OUTPUT.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
