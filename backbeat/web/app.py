"""The app factory: lean Starlette routes for serving and tracking, the management API at
/api, uploaded creatives at /uploads. Everything is built from Settings; nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from backbeat import __version__
from backbeat.config import Settings, ensure_secret
from backbeat.store.catalog import open_catalog
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.api import build_api


async def _health(request: Request) -> Response:
    catalog: Catalog = request.app.state.catalog
    return JSONResponse({"status": "ok", "version": __version__, "catalog": catalog.version()})


def create_app(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """Build the whole HTTP app. Collaborators can be passed in (tests); otherwise opened here."""
    settings = ensure_secret(settings)
    owned = catalog is None
    the_catalog = catalog if catalog is not None else open_catalog(settings.resolved_catalog_url)
    now = clock or (lambda: datetime.now(UTC))
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)

    api = build_api()
    for state in (api.state,):
        state.catalog = the_catalog
        state.settings = settings
        state.clock = now

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                the_catalog.close()

    app = Starlette(
        routes=[
            Route("/healthz", _health),
            Mount("/api", app=api),
            Mount("/uploads", app=StaticFiles(directory=settings.uploads_dir, check_dir=False)),
        ],
        lifespan=lifespan,
    )
    app.state.catalog = the_catalog
    app.state.settings = settings
    app.state.clock = now
    return app
