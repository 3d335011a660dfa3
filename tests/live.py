"""A real Backbeat server in a subprocess, set up exactly as `make run` does it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    env: dict[str, str]
    admin_email: str = ""
    admin_password: str = ""
    token: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backbeat.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(data_dir: Path, extra_env: dict[str, str] | None = None) -> LiveServer:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BACKBEAT_DATA_DIR": str(data_dir),
        "BACKBEAT_BASE_URL": url,
        **(extra_env or {}),
    }
    server = LiveServer(url=url, data_dir=data_dir, env=env)
    init = server.cli("init")
    found = dict(re.findall(r"(admin login|admin password|API token):\s+(\S+)", init.stdout))
    server.admin_email = found.get("admin login", "")
    server.admin_password = found.get("admin password", "")
    server.token = found.get("API token", "")
    log = (data_dir / "server.log").open("wb")
    server.process = subprocess.Popen(
        [sys.executable, "-m", "backbeat.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.process.poll() is not None:
            break
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("server did not start: " + (data_dir / "server.log").read_text()[-3000:])


def child_pids(pid: int) -> set[int]:
    """The child processes of `pid`, from every one of its threads' ``children`` list (a
    thread that ends while they are read is skipped)."""
    pids: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return pids
