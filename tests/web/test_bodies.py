"""Request bodies on the public POST routes: too large is refused before it has all come,
too slow is a 408, and a body the server cannot read (a broken chunked encoding) is a
400 under both servers, never a 500."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Message

from backbeat.errors import PayloadTooLarge
from backbeat.web.bodies import BodyUnreadable, read_body
from tests.live import LiveServer, start_server
from tests.web.test_crash_http import seed


def _request(messages: list[Message], headers: dict[str, str] | None = None) -> Request:
    """A Request whose body arrives as `messages`, then (if they run out) never."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await asyncio.sleep(3600)  # a client that stopped sending
        raise AssertionError("unreachable")

    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "headers": raw}, receive)


def _run(call: Coroutine[Any, Any, bytes]) -> bytes:
    # A thread of its own: a browser test's sync Playwright may hold this one's loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, call).result()


def _chunk(body: bytes, more: bool) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


def test_a_body_within_the_limit_is_read_whole() -> None:
    request = _request([_chunk(b'{"a": ', True), _chunk(b"1}", False)])
    assert _run(read_body(request, 16)) == b'{"a": 1}'


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    read: list[int] = []

    async def receive() -> Message:
        read.append(1)
        return _chunk(b"x", False)

    request = Request(
        {"type": "http", "method": "POST", "headers": [(b"content-length", b"50000000")]},
        receive,
    )
    with pytest.raises(PayloadTooLarge) as err:
        _run(read_body(request, 16 * 1024))
    assert err.value.status == 413 and err.value.fields[0].field == "body"
    assert read == []


def test_a_body_that_outgrows_the_limit_stops_being_read() -> None:
    read: list[int] = []

    async def receive() -> Message:
        read.append(1)
        return _chunk(b"x" * 1000, True)  # a body without end

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with pytest.raises(PayloadTooLarge):
        _run(read_body(request, 2500))
    assert len(read) == 3  # refused at the chunk that passed the limit


def test_a_client_that_stops_sending_gets_a_408() -> None:
    request = _request([_chunk(b"abc", True)])
    start = time.monotonic()
    with pytest.raises(BodyUnreadable) as err:
        _run(read_body(request, 1024, timeout_s=0.2))
    assert time.monotonic() - start < 2
    assert (err.value.status, err.value.code) == (408, "request_timeout")
    assert err.value.fields[0].field == "body"


def test_a_client_gone_mid_body_is_a_400() -> None:
    request = _request([_chunk(b"abc", True), {"type": "http.disconnect"}])
    with pytest.raises(BodyUnreadable) as err:
        _run(read_body(request, 1024))
    assert err.value.status == 400 and "could not be read" in err.value.message


@pytest.fixture(scope="module", params=["one process", "two workers"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("bodies") / "var"
    seed(data_dir)
    extra = {"BACKBEAT_WORKERS": "2"} if request.param == "two workers" else {}
    live = start_server(data_dir, extra)
    yield live
    live.stop()


def _raw(server: LiveServer, data: bytes) -> tuple[int, bytes]:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer:
            part = s.recv(65536)
            if not part:
                break
            answer += part
    status = int(answer.split(b" ", 2)[1])
    return status, answer


@pytest.mark.parametrize("path", ["/conv", "/decide"])
def test_a_broken_chunked_body_is_a_400_under_either_server(server: LiveServer, path: str) -> None:
    auth = f"Authorization: Bearer {server.token}\r\n".encode() if path == "/decide" else b""
    status, answer = _raw(
        server,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
        + auth
        + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    )
    assert status == 400, answer[:300]
    log = (server.data_dir / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-2000:]


def test_a_huge_body_is_refused_without_reading_it(server: LiveServer) -> None:
    declared = 50 * 1024 * 1024
    status, answer = _raw(
        server,
        b"POST /conv HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {declared}\r\nConnection: close\r\n\r\n".encode()
        + b"{" * 1000,  # a start; the rest never comes, and the answer need not wait for it
    )
    assert status == 413, answer[:300]
