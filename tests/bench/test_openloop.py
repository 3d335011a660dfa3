"""bench/openloop.c, the open-loop generator the half-load benchmarks use, against a real
HTTP server on 127.0.0.1: every request due is sent or counted as failed, statuses are
read, and latency runs from the time a request was due (no coordinated omission)."""

from __future__ import annotations

import asyncio
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import httpload  # type: ignore[import-not-found]  # bench/ is found only via sys.path

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="needs a C compiler"
)


class SlowServer:
    """HTTP/1.1 keep-alive server answering each request `delay_s` later: 204, or 404 for
    /missing."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.port = 0
        self.requests = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                await asyncio.sleep(self.delay_s)
                status = b"404 Not Found" if b" /missing " in head else b"204 No Content"
                body = b"" if status.startswith(b"204") else b"nope"
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Length: "
                    + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def __enter__(self) -> SlowServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def fast() -> Iterator[SlowServer]:
    with SlowServer(0.0) as s:
        yield s


def request(i: int) -> bytes:
    raw: bytes = httpload.http_request("GET", "/missing" if i % 10 == 0 else f"/ok/{i}", {})
    return raw


def test_sends_every_request_at_the_rate_and_reads_the_statuses(fast: SlowServer) -> None:
    res = httpload.open_loop_native(
        "127.0.0.1", fast.port, request, rate=500, duration_s=1.0, connections=4
    )
    assert res.generator == "c"
    assert res.sent == res.completed == 500 == fast.requests
    assert res.failures == 0
    assert dict(res.statuses) == {204: 450, 404: 50}
    assert len(res.latencies_us) == len(res.service_us) == 500
    assert 0 < res.percentile(50) < 50_000  # a local, idle server answers in well under 50 ms
    assert res.cpu_s > 0


def test_latency_counts_the_queue_when_the_server_falls_behind() -> None:
    # One connection to a server that takes 20 ms a request, 100 requests due per second:
    # only ~50 a second can be served, so later requests wait longer and longer to be sent.
    with SlowServer(0.02) as slow:
        res = httpload.open_loop_native(
            "127.0.0.1", slow.port, request, rate=100, duration_s=1.0, connections=1,
            grace_s=5.0,
        )
    assert res.completed == 100
    assert min(res.service_us) >= 19_000  # each request itself took the server's 20 ms
    # The last request was due at ~0.99 s and answered after ~100 x 20 ms: a second late.
    assert max(res.latencies_us) > 900_000
    assert res.percentile(99, service=True) < 200_000  # ... which the service time hides


def test_requests_still_open_at_the_cut_off_are_failures() -> None:
    with SlowServer(0.05) as slow:
        res = httpload.open_loop_native(
            "127.0.0.1", slow.port, request, rate=100, duration_s=0.5, connections=1,
            grace_s=0.2,
        )
    assert res.completed < 50
    assert res.failures == 50 - res.completed


def test_only_loopback_targets() -> None:
    with pytest.raises(httpload.LoadError, match="loopback"):
        httpload.open_loop_native("10.0.0.1", 80, request, rate=1, duration_s=1)
