"""Start and stop the servers the HTTP benchmark measures, all bound to 127.0.0.1.

* Backbeat under uvicorn (uvloop + httptools, no access log), under granian (optional
  dependency), or exactly as shipped (`backbeat serve`, whose access log is off unless
  asked for; the only way to run several workers).
* The bare Starlette 204 app (bench/bare_app.py) under the same ASGI server.
* nginx serving a static 43-byte GIF from a temporary prefix, in the foreground, with
  one worker process (Backbeat is one process) and no access log (as the Python servers).

Memory is the resident set (VmRSS) of the server's whole process tree: granian and
nginx serve from a child of the process they start.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
NGINX_TEMPLATE = BENCH_DIR / "nginx.conf.template"
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
ASGI_SERVERS = ("uvicorn", "granian")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def tree_rss_kb(pid: int) -> int:
    """VmRSS of `pid` and all its descendants, in KiB (0 for a process that is gone)."""
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by `pid` and its descendants (all threads)."""
    ticks = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def thread_cpu_s(pid: int) -> dict[tuple[int, int], float]:
    """CPU seconds used so far by each thread of `pid` and its descendants, keyed by
    (process id, thread id)."""
    out: dict[tuple[int, int], float] = {}
    for p in process_tree(pid):
        try:
            tids = [int(t.name) for t in Path(f"/proc/{p}/task").iterdir()]
        except OSError:
            continue
        for tid in tids:
            try:
                fields = Path(f"/proc/{p}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[(p, tid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def thread_comm(pid: int, tid: int) -> str:
    """The kernel's name for a thread (``tokio-rt-worker`` for granian's Rust runtime;
    Python threads keep their process's name)."""
    try:
        return Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
    except OSError:
        return "?"


def thread_cpu_used(
    before: dict[tuple[int, int], float], after: dict[tuple[int, int], float]
) -> list[tuple[tuple[int, int], float]]:
    """CPU seconds each thread used between two :func:`thread_cpu_s` readings, busiest
    first."""
    used = {k: v - before.get(k, 0.0) for k, v in after.items()}
    return sorted(used.items(), key=lambda kv: -kv[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    command: list[str]
    rss_peak_kb: int = 0
    env_shown: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kb(self) -> int:
        rss = tree_rss_kb(self.process.pid)
        self.rss_peak_kb = max(self.rss_peak_kb, rss)
        return rss

    def cpu_s(self) -> float:
        return tree_cpu_s(self.process.pid)

    def shell_command(self) -> str:
        env = " ".join(f"{k}={v}" for k, v in self.env_shown.items())
        return (env + " " if env else "") + " ".join(self.command)

    def wait_ready(self, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                status = httpx.get(self.url + path, timeout=2).status_code
                if status < 400:
                    return
                if status < 500:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int | None:
        """Signal the server and wait; escalate to SIGKILL after `timeout`. uvicorn re-raises
        SIGTERM after its graceful shutdown, so -15 is a clean exit too."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _spawn(
    name: str, cmd: list[str], log_path: Path, env: dict[str, str], cwd: Path, shown: dict[str, str]
) -> Server:
    port = int(cmd[cmd.index("--port") + 1]) if "--port" in cmd else 0
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    return Server(name, port, proc, log_path, cmd, env_shown=shown)


def _asgi_command(
    server: str, target: str, port: int, *, factory: bool, workers: int = 1
) -> list[str]:
    if server == "uvicorn":
        cmd = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        cmd += ["--log-level", "warning"]
        if workers > 1:
            cmd += ["--workers", str(workers)]
    elif server == "granian":
        if shutil.which("granian", path=str(Path(sys.executable).parent)) is None:
            raise RuntimeError("granian is not installed: pip install granian")
        cmd = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--no-ws"]
        cmd += ["--http", "1", "--log-level", "warning", target]
    else:
        raise ValueError(f"unknown ASGI server {server!r}")
    if factory:
        cmd.insert(3, "--factory")
    return cmd


def backbeat_env(data_dir: Path, port: int) -> dict[str, str]:
    """The settings the benchmark runs Backbeat with (everything else is the default)."""
    return {
        "BACKBEAT_DATA_DIR": str(data_dir),
        "BACKBEAT_BASE_URL": f"http://127.0.0.1:{port}",
        # Countries come from a CDN header the load generator sets, as behind Cloudflare.
        "BACKBEAT_TRUSTED_COUNTRY_HEADER": "CF-IPCountry",
    }


def start_backbeat(server: str, data_dir: Path, log_dir: Path, workers: int = 1) -> Server:
    """Backbeat on `data_dir` under `server`: uvicorn, granian, or cli (`backbeat serve`,
    which alone runs several workers: `backbeat serve --workers N`)."""
    port = free_port()
    shown = backbeat_env(data_dir, port)
    env = {**os.environ, **shown}
    if server == "cli":
        cmd = [sys.executable, "-m", "backbeat.cli", "serve", "--port", str(port)]
        if workers > 1:
            cmd += ["--workers", str(workers)]
    elif workers > 1:
        raise ValueError("several workers run under `backbeat serve` (--server cli)")
    else:
        cmd = _asgi_command(server, "backbeat.web.main:app_factory", port, factory=True)
    srv = _spawn(f"backbeat/{server}", cmd, log_dir / f"backbeat-{server}.log", env, REPO, shown)
    srv.wait_ready("/healthz")
    return srv


def start_bare(server: str, log_dir: Path, workers: int = 1) -> Server:
    port = free_port()
    cmd = _asgi_command(server, "bare_app:app", port, factory=False, workers=workers)
    log = log_dir / f"bare-{server}.log"
    srv = _spawn(f"bare/{server}", cmd, log, dict(os.environ), BENCH_DIR, {})
    srv.wait_ready("/i/ready")
    return srv


def start_nginx(prefix: Path) -> Server:
    """nginx in the foreground on a temporary prefix, serving /i/pixel.gif. The prefix's
    parent directories must be world-traversable (nginx's workers drop root)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise RuntimeError("nginx is not installed: apt-get install nginx")
    port = free_port()
    (prefix / "www" / "i").mkdir(parents=True, exist_ok=True)
    (prefix / "www" / "i" / "pixel.gif").write_bytes(PIXEL)
    # nginx's workers drop root for an unprivileged user: they must be able to read this.
    for path in (prefix, prefix / "www", prefix / "www" / "i"):
        path.chmod(0o755)
    (prefix / "www" / "i" / "pixel.gif").chmod(0o644)
    for sub in ("logs", "tmp"):
        (prefix / sub).mkdir(exist_ok=True)
    conf = NGINX_TEMPLATE.read_text().replace("@PREFIX@", str(prefix)).replace("@PORT@", str(port))
    (prefix / "nginx.conf").write_text(conf)
    cmd = [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"]
    srv = _spawn("nginx", cmd, prefix / "nginx.log", dict(os.environ), prefix, {})
    srv.port = port
    srv.wait_ready("/i/pixel.gif")
    return srv
