"""Process-wide tuning a serving process applies once its state is loaded."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.domain.events import EventType
from backbeat.serving.localtime import local_day
from backbeat.store.catalog import SqlCatalog
from backbeat.store.events import open_event_store
from backbeat.web.app import create_app
from tests.store.events.builders import make_event
from tests.web.network import build_network


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


@pytest.mark.parametrize(
    ("zone_name", "midnight_utc"),
    [
        ("Asia/Tehran", datetime(2026, 11, 29, 20, 30, tzinfo=UTC)),  # +03:30
        ("Asia/Kathmandu", datetime(2026, 11, 29, 18, 15, tzinfo=UTC)),  # +05:45
        ("Asia/Dubai", datetime(2026, 11, 29, 20, 0, tzinfo=UTC)),  # +04:00, on the hour
    ],
)
def test_a_restart_restores_todays_spend_from_local_midnight(
    settings: Settings, catalog: SqlCatalog, zone_name: str, midnight_utc: datetime
) -> None:
    """The rollup's buckets are UTC hours; where local midnight falls inside one, the spend
    of that hour is split at midnight (it all went to "earlier" before: the daily budget
    was spent, and billed, a second time after a restart)."""
    net = build_network(catalog, timezone=zone_name, budget_daily_micros=50_000)
    cid = net.campaign.id or 0
    store = open_event_store(settings)
    try:
        store.append_batch([
            make_event(ts=midnight_utc - timedelta(minutes=10), campaign_id=cid,
                       type=EventType.IMPRESSION, valid=True, price_micros=1_000, seed=1),
            make_event(ts=midnight_utc + timedelta(minutes=5), campaign_id=cid,
                       type=EventType.IMPRESSION, valid=True, price_micros=20_000, seed=2),
            make_event(ts=midnight_utc + timedelta(minutes=70), campaign_id=cid,
                       type=EventType.IMPRESSION, valid=True, price_micros=300_000, seed=3),
        ])  # fmt: skip
    finally:
        store.close()
    now = midnight_utc + timedelta(minutes=80)
    app = create_app(settings, catalog=catalog, clock=lambda: now)
    with TestClient(app):
        rt = app.state.runtime
        today = local_day(zone_name, now)
        assert today == "2026-11-30"
        spend = rt.counters.spend(cid, today)
    assert (spend.total_micros, spend.today_micros) == (321_000, 320_000)
