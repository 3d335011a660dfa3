"""The app factory: lean Starlette routes for serving and tracking, the management API at
/api, uploaded creatives at /uploads. Everything is built from Settings; nothing at import."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from backbeat import __version__
from backbeat.config import Settings, ensure_secret
from backbeat.store.catalog.protocol import Catalog
from backbeat.web import beacons, conversion_routes, dashboard, serving_routes, tracking_routes
from backbeat.web.api import build_api
from backbeat.web.dashboard.base import build_templates
from backbeat.web.runtime import Runtime, open_runtime, settle_heap


async def _health(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    stats = rt.writer.stats()
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "pid": os.getpid(),  # which serving process answered (several workers)
            # "worker": one of several; its events_* count what it spooled for the ingest
            # process, which stores them (events_written stays 0 here)
            "role": "worker" if rt.worker else "single",
            "catalog_version": rt.catalog.version(),
            "index_version": rt.holder.current().version,
            "events_queued": stats.queued,
            "events_written": stats.written,
        }
    )


def routes() -> list[Route | Mount]:
    return [
        Route("/healthz", _health),
        Route("/tag.js", serving_routes.tag_js),
        # GET and HEAD /serve: serving_routes.ServeRoute, in front of the router; this
        # route answers the other methods (405)
        Route("/serve", serving_routes.serve),
        Route("/frame/{placement_id}", serving_routes.frame),
        Route("/decide", serving_routes.decide_s2s, methods=["POST"]),
        # /i/{token} and /v/{token}: beacons.BeaconRoutes, in front of the router
        Route("/c/{token}", tracking_routes.click, methods=["GET", "HEAD"]),
        Route("/conv", conversion_routes.conversion, methods=["GET", "POST"]),
    ]


def create_app(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    clock: Callable[[], datetime] | None = None,
    rng: random.Random | None = None,
    require_domain_match: bool = True,
    runtime: Runtime | None = None,
) -> Starlette:
    """Build the whole HTTP app. Collaborators can be passed in (tests); otherwise opened here.

    The runtime (event store, writer, counters, index) is opened here, unless given (a
    serving worker's), and started in the lifespan, which replays any spool a crash left
    behind before the first request."""
    settings = ensure_secret(settings)
    rt = runtime or open_runtime(
        settings, catalog=catalog, clock=clock, rng=rng, require_domain_match=require_domain_match
    )
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)

    api = build_api()
    api.state.catalog = rt.catalog
    api.state.settings = settings
    api.state.clock = rt.clock
    api.state.runtime = rt
    api.state.session_principal = dashboard.session_principal

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        rt.start()
        rt.ingest.start()
        if rt.hits is not None:
            rt.hits.start()
        settle_heap()
        try:
            yield
        finally:
            await rt.ingest.close()
            if rt.hits is not None:
                await rt.hits.close()
            rt.close()

    app = Starlette(
        routes=[
            *routes(),
            *dashboard.routes(),
            Mount("/api", app=api),
            Mount("/static", app=StaticFiles(packages=[("backbeat.web", "static")])),
            Mount("/uploads", app=StaticFiles(directory=settings.uploads_dir, check_dir=False)),
        ],
        # The beacons, then GET /serve, are answered before the router (see each class).
        middleware=[Middleware(beacons.BeaconRoutes), Middleware(serving_routes.ServeRoute)],
        lifespan=lifespan,
    )
    app.state.runtime = rt
    app.state.templates = build_templates()
    app.state.catalog = rt.catalog
    app.state.settings = settings
    return app
