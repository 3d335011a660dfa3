"""Calling the real route handlers in-process, fast enough to simulate two weeks in a minute.

The simulation does not write events: it makes requests. Each one is a real Starlette
:class:`~starlette.requests.Request` (method, path, query string, headers, client address,
path parameters, the app) handed to the very handler the router would call: ``serve`` for
``GET /serve``, ``impression``/``viewable``/``click`` for the signed beacon links,
``conversion`` for the ``/conv`` pixel. Everything from there on is the production code:
visitor ids, bot filtering, the decider, signed links, the counting pipeline, billing,
attribution, the async ingest and the spool-backed writer into the event store. What is
skipped is the ASGI transport and route matching, which do not decide anything; going
through them (httpx's ASGITransport) costs about a millisecond a request, which would cap
the demo at a few thousand page views a day (see docs/demo.md for the measurements).

Beacons must be answered only once their event is durable, so a beacon handler suspends
inside the ingest's group commit. :func:`start` runs a handler *eagerly*: synchronously up
to that first suspension (the counting rules, counters and billing run in strict simulated
order), then as a task that finishes when the group is on disk. Awaiting a batch of them
costs one fsync for the whole batch, as a busy server's concurrent beacons would.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

Handler = Callable[[Request], Awaitable[Response]]


def _query(params: Mapping[str, str] | None) -> str:
    """A query string, each value percent-encoded (as a browser encodes a URL parameter)."""
    if not params:
        return ""
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())


def make_request(
    app: ASGIApp,
    path: str,
    *,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    client: str = "",
    path_params: Mapping[str, str] | None = None,
    method: str = "GET",
) -> Request:
    """A request as Starlette's router would build it for `app`."""
    raw_headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": _query(query).encode("latin-1"),
        "headers": raw_headers,
        "client": (client, 50_000) if client else None,
        "server": ("127.0.0.1", 8000),
        "app": app,
        "path_params": dict(path_params or {}),
    }
    return Request(scope)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Response], first: Any) -> Generator[Any, None, Response]:
    """Hand the future `coro` already suspended on to the running task, then keep driving
    `coro` to its end. (Exceptions thrown in are passed on, so cancellation still works.)"""
    pending = first
    while True:
        try:
            sent = yield pending
        except BaseException as exc:  # thrown into the task: pass it to the coroutine
            try:
                pending = coro.throw(exc)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            continue
        try:
            pending = coro.send(sent)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


async def _finish(coro: Coroutine[Any, Any, Response], first: Any) -> Response:
    return await _resume(coro, first)


def start(handler: Handler, request: Request) -> asyncio.Future[Response]:
    """Run `handler(request)` now, up to its first suspension; return its result to be."""
    coro = handler(request)
    assert isinstance(coro, Coroutine)
    try:
        first = coro.send(None)
    except StopIteration as stop:
        done: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        done.set_result(stop.value)
        return done
    return asyncio.ensure_future(_finish(coro, first))
