"""A real Backbeat server process for the browser tests, and the events it stored.

Set up as `make run` does (``backbeat init``, then ``backbeat serve``), on a free port with
its own data directory and ``BACKBEAT_BASE_URL`` set to its own URL. The catalog is
written between the two steps. No HTTP endpoint reports raw events, so the stored events
are read from the DuckDB file after the server has stopped: SIGTERM makes it flush the
writer, and DuckDB lets only one process open the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from backbeat.config import load_settings
from backbeat.store.events import open_event_store
from tests.live import LiveServer, free_port


def init_data_dir(data_dir: Path) -> None:
    """``backbeat init`` into `data_dir`: schema, signing secret, first admin."""
    env = {**os.environ, "BACKBEAT_DATA_DIR": str(data_dir)}
    LiveServer(url="", data_dir=data_dir, env=env).cli("init")


@dataclass(frozen=True)
class StoredEvent:
    type: str
    valid: bool
    drop_reason: str | None
    placement_id: int
    campaign_id: int
    decision_id: str
    ts: datetime


class ServerPool:
    """Hands out fresh servers, booting the next one while the current test runs: a server
    takes seconds to import and start, far longer than most browser tests."""

    def __init__(self, template: Path, root: Path) -> None:
        self.template = template
        self.root = root
        self._made = 0
        self._spare: AdServer | None = None

    def _launch(self) -> AdServer:
        self._made += 1
        return AdServer(self.template, self.root / f"server-{self._made}")

    def take(self) -> AdServer:
        server = (self._spare or self._launch()).wait_ready()
        self._spare = self._launch()
        return server

    def close(self) -> None:
        if self._spare is not None:
            self._spare.stop()
            self._spare = None


class AdServer:
    """One `backbeat serve` over a copy of a prepared data directory. Constructing it
    starts the process without waiting; call :meth:`wait_ready` before using it."""

    def __init__(self, template: Path, data_dir: Path) -> None:
        shutil.copytree(template, data_dir)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "BACKBEAT_DATA_DIR": str(data_dir), "BACKBEAT_BASE_URL": self.url}
        self.live = LiveServer(url=self.url, data_dir=data_dir, env=env)
        self._log = data_dir / "server.log"
        self._events: list[StoredEvent] | None = None
        with self._log.open("wb") as log:
            self.live.process = subprocess.Popen(
                [sys.executable, "-m", "backbeat.cli", "serve", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60) -> AdServer:
        """Wait until the server answers /healthz; raise with its log if it never does."""
        process = self.live.process
        assert process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.live.stop()
        raise RuntimeError("backbeat serve did not start:\n" + self.log()[-3000:])

    def log(self) -> str:
        return self._log.read_text(errors="replace")

    def stop(self) -> None:
        self.live.stop()

    def events(self) -> list[StoredEvent]:
        """Stop the server (flushing every acknowledged event) and return what it stored,
        oldest first. Later calls return the same list."""
        if self._events is None:
            self.stop()
            store = open_event_store(load_settings(data_dir=self.live.data_dir))
            try:
                rows = store.query(
                    "SELECT type, valid, drop_reason, placement_id, campaign_id, decision_id,"
                    " ts FROM events ORDER BY ts, id"
                )
            finally:
                store.close()
            self._events = [
                StoredEvent(
                    type=str(r[0]),
                    valid=bool(r[1]),
                    drop_reason=None if r[2] is None else str(r[2]),
                    placement_id=int(r[3]),  # type: ignore[call-overload]
                    campaign_id=int(r[4]),  # type: ignore[call-overload]
                    decision_id=str(r[5]),
                    ts=r[6],  # type: ignore[arg-type]
                )
                for r in rows
            ]
        return self._events
