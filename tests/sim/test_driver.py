"""Calling route handlers in-process: real requests, eager start, one group commit per batch."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from backbeat.config import load_settings
from backbeat.sim.driver import make_request, start
from backbeat.store.catalog import open_catalog, upgrade
from backbeat.web import serving_routes, tracking_routes
from backbeat.web.app import create_app
from backbeat.web.runtime import Runtime
from tests.sim.fresh_loop import run_fresh
from tests.web.network import CHROME, PAGE, build_network


def test_request_carries_what_a_router_would_give() -> None:
    app = Starlette()
    req = make_request(
        app, "/i/tok", query={"u": "https://x.example/a b?c=1"},
        headers={"User-Agent": "UA", "sec-gpc": "1"}, client="198.51.100.7",
        path_params={"token": "tok"},
    )
    assert req.app is app
    assert req.url.path == "/i/tok"
    assert req.query_params["u"] == "https://x.example/a b?c=1"
    assert req.headers["user-agent"] == "UA" and req.headers["sec-gpc"] == "1"
    assert req.client is not None and req.client.host == "198.51.100.7"
    assert req.path_params == {"token": "tok"} and req.method == "GET"


def test_start_runs_up_to_the_first_suspension_then_finishes_later() -> None:
    log: list[str] = []

    async def main() -> None:
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def handler(request: Request) -> Response:
            log.append("before")
            await gate
            log.append("after")
            return PlainTextResponse("ok")

        fut = start(handler, make_request(Starlette(), "/"))
        assert log == ["before"] and not fut.done()  # ran eagerly, now parked
        gate.set_result(None)
        resp = await fut
        assert log == ["before", "after"] and resp.body == b"ok"

        async def quick(request: Request) -> Response:
            return PlainTextResponse("now")

        done = start(quick, make_request(Starlette(), "/"))
        assert done.done() and done.result().body == b"now"

        async def broken(request: Request) -> Response:
            await asyncio.sleep(0)
            raise ValueError("boom")

        failing = start(broken, make_request(Starlette(), "/"))
        try:
            await failing
        except ValueError as exc:
            assert str(exc) == "boom"
        else:
            raise AssertionError("the handler's error was lost")

    run_fresh(main)


def test_real_serve_and_beacon_through_the_handlers(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, secret_key="k" * 48)
    upgrade(settings.resolved_catalog_url)
    catalog = open_catalog(settings.resolved_catalog_url)
    net = build_network(catalog)
    now = datetime.now(UTC)
    app = create_app(settings, catalog=catalog, clock=lambda: now, rng=random.Random(1))
    headers = {"user-agent": CHROME, "referer": PAGE}

    async def main() -> list[tuple[object, ...]]:
        async with app.router.lifespan_context(app):
            serve = start(serving_routes.serve, make_request(
                app, "/serve", query={"p": str(net.top.id), "u": PAGE}, headers=headers,
                client="81.2.69.142",
            ))
            body = orjson.loads(serve.result().body)
            (ad,) = body["ads"]
            token = ad["imp"].rsplit("/", 1)[1]
            beacons = [
                start(tracking_routes.impression, make_request(
                    app, "/i/" + token, query={"u": PAGE}, headers=headers, client="81.2.69.142",
                    path_params={"token": token},
                ))
                for _ in range(2)  # the second is a duplicate
            ]
            statuses = [r.status_code for r in await asyncio.gather(*beacons)]
            assert statuses == [204, 204]
            rt: Runtime = app.state.runtime
            assert rt.writer.flush(timeout=10)
            return rt.store.query(
                "SELECT type, valid, drop_reason, country FROM events ORDER BY type, valid DESC"
            )

    rows = run_fresh(main)
    catalog.close()
    assert rows == [
        ("decision", True, None, "GB"),
        ("impression", True, None, "GB"),
        ("impression", False, "duplicate", "GB"),
    ]
