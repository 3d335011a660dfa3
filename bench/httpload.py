"""A small HTTP/1.1 load client on raw asyncio streams, for what wrk cannot do.

* :func:`fetch_all` sends a list of requests over a few keep-alive connections (closed
  loop) and returns every response in order: used to collect impression links from
  ``/serve`` together with the User-Agent each ad was served to.
* :func:`open_loop` sends requests at a fixed arrival rate for a bounded time, whatever
  the server's speed, over a bounded pool of keep-alive connections. Each latency is
  measured from the request's *scheduled* time, so when the server falls behind the
  queueing shows in the figures instead of silently lowering the rate (no coordinated
  omission). wrk v4 cannot hold a rate, hence this.
* :func:`open_loop_native` is the same open loop run by ``openloop.c`` (compiled on first
  use with the system C compiler): the same schedule, queueing and latency definition,
  with less latency of its own (its floor against nginx is tighter); both report the CPU
  they used, which was about the same here.

Only loopback targets are accepted. Responses must carry Content-Length (Starlette,
uvicorn, granian and nginx's static files all do). Runs on uvloop (a dependency of
uvicorn[standard]).
"""

from __future__ import annotations

import array
import asyncio
import ipaddress
import math
import os
import shutil
import struct
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


class LoadError(RuntimeError):
    pass


def check_loopback(host: str) -> None:
    """Load is only ever sent to this machine."""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise LoadError(f"refusing to send load to {host}: loopback addresses only")


def http_request(method: str, path: str, headers: dict[str, str], host: str = "127.0.0.1") -> bytes:
    """A bodiless request as bytes, ready to write on a keep-alive connection (a POST gets
    Content-Length: 0, as navigator.sendBeacon without data sends it)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if method == "POST":
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, rest = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value)
        elif lname == b"transfer-encoding":
            raise LoadError("chunked responses are not supported by this client")
    body = await reader.readexactly(length) if length else b""
    return status, body


class _Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def roundtrip(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        try:
            self.writer.write(request)
            return await _read_response(self.reader)
        except (OSError, asyncio.IncompleteReadError, LoadError):
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _fetch_all(
    host: str, port: int, requests: Sequence[bytes], concurrency: int
) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    it = iter(range(len(requests)))

    async def worker() -> None:
        conn = _Conn(host, port)
        try:
            for i in it:
                try:
                    out[i] = await conn.roundtrip(requests[i])
                except (OSError, asyncio.IncompleteReadError, LoadError):
                    out[i] = (0, b"")
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


def fetch_all(
    host: str, port: int, requests: Sequence[bytes], concurrency: int = 16
) -> list[tuple[int, bytes]]:
    """(status, body) of every request, in order; status 0 for a transport failure."""
    check_loopback(host)
    return _run(_fetch_all(host, port, requests, concurrency))


@dataclass
class OpenLoopResult:
    rate: float  # requested arrivals per second
    duration_s: float
    sent: int
    completed: int
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0  # transport errors and requests still open at the cut-off
    latencies_us: list[float] = field(default_factory=list)  # from scheduled time
    service_us: list[float] = field(default_factory=list)  # from the actual send
    generator: str = "python"
    cpu_s: float = math.nan  # CPU the generator itself used (user + system)

    @property
    def achieved_rate(self) -> float:
        return self.completed / self.duration_s if self.duration_s else 0.0

    def percentile(self, p: float, *, service: bool = False) -> float:
        data = sorted(self.service_us if service else self.latencies_us)
        if not data:
            return math.nan
        k = min(len(data) - 1, max(0, math.ceil(p / 100 * len(data)) - 1))
        return data[k]

    def slow_windows(self, slow_ms: float, window_s: float = 0.1) -> list[tuple[int, float]]:
        """(k, worst ms) of each window of `window_s` of completions whose slowest request
        took over `slow_ms`; window k holds about the k-th `window_s` of scheduled sends."""
        per = max(1, int(self.rate * window_s))
        lat = self.latencies_us
        out = []
        for k in range(len(lat) // per):
            worst = max(lat[k * per : (k + 1) * per]) / 1000
            if worst > slow_ms:
                out.append((k, worst))
        return out


async def _open_loop(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    rate: float,
    duration_s: float,
    connections: int,
    grace_s: float,
) -> OpenLoopResult:
    total = int(rate * duration_s)
    queue: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    result = OpenLoopResult(rate=rate, duration_s=duration_s, sent=0, completed=0)

    async def worker() -> None:
        conn = _Conn(host, port)
        try:
            while True:
                i, scheduled = await queue.get()
                if i < 0:
                    return
                sent_at = time.perf_counter()
                try:
                    status, _ = await conn.roundtrip(make_request(i))
                except (OSError, asyncio.IncompleteReadError, LoadError):
                    result.failures += 1
                    continue
                done = time.perf_counter()
                result.completed += 1
                result.statuses[status] += 1
                result.latencies_us.append((done - scheduled) * 1e6)
                result.service_us.append((done - sent_at) * 1e6)
        finally:
            conn.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter() + 0.05
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        queue.put_nowait((i, scheduled))
        result.sent += 1
    for _ in workers:
        queue.put_nowait((-1, 0.0))
    finished, pending = await asyncio.wait(workers, timeout=grace_s)
    for task in pending:
        task.cancel()
    result.failures += result.sent - result.completed - result.failures
    del finished
    return result


def _check_run(host: str, rate: float, duration_s: float) -> None:
    """What both open loops refuse: a target off this machine, or an unbounded run."""
    check_loopback(host)
    if rate <= 0 or duration_s <= 0 or duration_s > 600:
        raise LoadError("rate must be positive and duration between 0 and 600 s")


def open_loop(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    *,
    rate: float,
    duration_s: float,
    connections: int = 64,
    grace_s: float = 5.0,
) -> OpenLoopResult:
    """Send ``rate * duration_s`` requests (request i is ``make_request(i)``) at a fixed
    rate over at most `connections` connections; stop waiting `grace_s` after the last."""
    _check_run(host, rate, duration_s)
    cpu0 = time.process_time()
    result = _run(_open_loop(host, port, make_request, rate, duration_s, connections, grace_s))
    result.cpu_s = time.process_time() - cpu0  # this process: the loop and any sampler thread
    return result


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return uvloop.run(coro)


SOURCE = Path(__file__).with_name("openloop.c")


def native_binary(build_dir: Path | None = None) -> Path:
    """``openloop.c`` compiled (once per source change) into `build_dir`."""
    build_dir = build_dir or Path(tempfile.gettempdir()) / "backbeat-bench-bin"
    build_dir.mkdir(parents=True, exist_ok=True)
    binary = build_dir / "openloop"
    if not binary.exists() or binary.stat().st_mtime < SOURCE.stat().st_mtime:
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            raise LoadError("open_loop_native needs a C compiler (apt-get install gcc)")
        tmp = build_dir / f"openloop.{os.getpid()}"
        subprocess.run([cc, "-O2", "-o", str(tmp), str(SOURCE)], check=True)
        tmp.replace(binary)
    return binary


def open_loop_native(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    *,
    rate: float,
    duration_s: float,
    connections: int = 64,
    grace_s: float = 5.0,
) -> OpenLoopResult:
    """:func:`open_loop`, run by the C generator; also reports the generator's CPU."""
    _check_run(host, rate, duration_s)
    total = int(rate * duration_s)
    with tempfile.TemporaryDirectory(prefix="backbeat-openloop-") as tmp:
        reqs, out = Path(tmp) / "requests.bin", Path(tmp) / "out.bin"
        with reqs.open("wb") as f:
            for i in range(total):
                r = make_request(i)
                f.write(struct.pack("<I", len(r)) + r)
        ip = "127.0.0.1" if host == "localhost" else host
        cmd = [str(native_binary()), ip, str(port), repr(rate), repr(duration_s)]
        cmd += [str(connections), repr(grace_s), str(reqs), str(out)]
        proc = subprocess.run(
            cmd, check=False, capture_output=True, text=True, timeout=duration_s + grace_s + 60
        )
        if proc.returncode != 0:
            raise LoadError(f"openloop failed ({proc.returncode}): {proc.stderr.strip()}")
        summary = proc.stdout.split()
        fields = dict(zip(summary[0:-3:2], map(int, summary[1:-3:2]), strict=True))
        records = array.array("I")
        records.frombytes(out.read_bytes())
    if records.itemsize != 4:
        raise LoadError("this platform's unsigned int is not 32 bits")
    result = OpenLoopResult(
        rate=rate,
        duration_s=duration_s,
        sent=fields["sent"],
        completed=fields["completed"],
        failures=fields["failures"],
        latencies_us=[float(v) for v in records[1::3]],
        service_us=[float(v) for v in records[2::3]],
        generator="c",
        cpu_s=float(summary[-2]) + float(summary[-1]),
    )
    result.statuses.update(records[0::3])
    if len(records) != 3 * result.completed:
        raise LoadError(f"openloop wrote {len(records)} values for {result.completed} responses")
    return result
