"""Process-wide tuning a serving process applies once its state is loaded."""

from __future__ import annotations

import subprocess
import sys


def test_settle_heap_freezes_the_heap_and_shortens_the_gil_switch() -> None:
    # In a process of its own: both settings are process-wide.
    code = (
        "import gc, sys\n"
        "from backbeat.web.runtime import GIL_SWITCH_S, settle_heap\n"
        "before = sys.getswitchinterval()\n"
        "settle_heap()\n"
        "print(before, sys.getswitchinterval(), GIL_SWITCH_S, gc.get_threshold(),"
        " gc.get_freeze_count() > 0)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split(maxsplit=2)
    assert float(out[0]) == 0.005  # CPython's default
    assert float(out[1]) == 0.0005
    assert out[2].strip() == "0.0005 (10000, 20, 100) True"
