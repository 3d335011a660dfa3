"""docs/deployment.md's commands and files, run as written (paths put where this checkout is).

The nginx configuration has its own test (tests/web/test_behind_proxy.py). Here: the
systemd unit passes ``systemd-analyze verify`` and names real settings and options, the
catalog backup command copies a running server's catalog, and the command that shrinks
the event store keeps every event. No init system runs in the test machine, so the unit
is verified, not started."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from backbeat.config import ENV_PREFIX, Settings, load_settings
from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.schema import ROLLUPS
from tests.live import LiveServer, start_server
from tests.store.events.builders import make_events

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "deployment.md").read_text()
INSTALL_DIR = "/opt/backbeat"  # where the guide installs Backbeat


def _block(lang: str, containing: str) -> str:
    blocks: list[str] = [
        b for b in re.findall(rf"```{lang}\n(.*?)```", DOC, re.S) if containing in b
    ]
    assert len(blocks) == 1, f"expected one {lang} block with {containing!r} in deployment.md"
    return blocks[0]


def _unit() -> str:
    return _block("ini", "[Service]")


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (.ci/run installs systemd)")
    unit = _unit().replace(INSTALL_DIR, str(ROOT))
    unit = re.sub(r"^User=.*$", f"User={getpass.getuser()}", unit, flags=re.M)
    path = tmp_path / "backbeat.service"
    path.write_text(unit)
    done = subprocess.run(
        [analyze, "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Unknown keys and bad values are warnings that still exit 0.
    assert "backbeat.service" not in done.stderr, done.stderr


def test_the_units_settings_and_options_exist() -> None:
    unit = _unit()
    env = dict(re.findall(r"^Environment=(BACKBEAT_\w+)=(.*)$", unit, re.M))
    assert env, "the unit sets no BACKBEAT_ variable"
    fields = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, f"not settings: {sorted(set(env) - fields)}"
    overrides = {k.removeprefix(ENV_PREFIX).lower(): v for k, v in env.items()}
    settings = load_settings(**overrides)  # every value is one the settings accept
    assert settings.base_url == env["BACKBEAT_BASE_URL"]

    (command,) = re.findall(r"^ExecStart=(.*)$", unit, re.M)
    args = command.split()
    assert args[0] == f"{INSTALL_DIR}/.venv/bin/backbeat" and args[1] == "serve"
    help_text = subprocess.run(
        [sys.executable, "-m", "backbeat.cli", "serve", "--help"],
        capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"},
    ).stdout
    for option in (a for a in args[2:] if a.startswith("--")):
        assert option in help_text, f"serve has no {option}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("deploy") / "var")
    yield live
    live.stop()


def test_the_catalog_backup_command_copies_a_running_catalog(
    server: LiveServer, tmp_path: Path
) -> None:
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 shell is not installed (.ci/run installs it)")
    (command,) = re.findall(r'`(sqlite3 catalog\.db "\.backup [^"]+")`', DOC)
    backups = tmp_path / "backups"
    backups.mkdir()
    command = command.replace("/backups/", f"{backups}/")
    done = subprocess.run(
        command, shell=True, cwd=server.data_dir, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(server.data_dir / "catalog.db") as live, sqlite3.connect(
        backups / "catalog.db"
    ) as copy:
        tables = [r[0] for r in live.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert "campaigns" in tables and "users" in tables
        for table in tables:
            count = f'SELECT count(*) FROM "{table}"'
            assert copy.execute(count).fetchone() == live.execute(count).fetchone(), table
        admins = "SELECT count(*) FROM users"
        assert copy.execute(admins).fetchone()[0] >= 1


def test_the_event_store_shrinking_command_keeps_every_event(tmp_path: Path) -> None:
    script = _block("sh", "COPY FROM DATABASE")
    lines = [ln for ln in script.splitlines() if ln.strip() and not ln.startswith("cd ")]
    python = f"{INSTALL_DIR}/.venv/bin/python"
    assert python in script
    events = make_events(2_000, seed=3, step_ms=5_000)
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    store.append_batch(events)
    before = {r.table: store.query(f"SELECT * FROM {r.table} ORDER BY ALL") for r in ROLLUPS}
    store.close()

    for line in lines:
        done = subprocess.run(
            line.replace(python, sys.executable), shell=True, cwd=tmp_path,
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, line + "\n" + done.stderr

    assert (tmp_path / "events.old.duckdb").exists()
    shrunk = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        assert shrunk.count() == 2_000
        assert shrunk.ids() == {e.id for e in events}
        for r in ROLLUPS:
            assert shrunk.query(f"SELECT * FROM {r.table} ORDER BY ALL") == before[r.table]
        assert shrunk.append_batch(events[:10]) == 0  # still deduplicates
    finally:
        shrunk.close()
