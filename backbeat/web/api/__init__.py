"""The management API (FastAPI) under /api/v1, with OpenAPI docs at /api/docs."""

from __future__ import annotations

from fastapi import FastAPI

from backbeat import __version__
from backbeat.web.api import (
    audiences,
    campaigns,
    creatives,
    imports,
    inventory,
    parties,
    reference,
    reports,
    users,
)
from backbeat.web.api.errors import install_error_handlers


def build_api() -> FastAPI:
    """A FastAPI app meant to be mounted at /api; state (catalog, settings) is set by the caller."""
    api = FastAPI(
        title="Backbeat management API",
        version=__version__,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        description="Campaigns, creatives, inventory and accounts of a Backbeat ad network.",
    )
    install_error_handlers(api)
    for module in (
        parties, campaigns, creatives, inventory, audiences, users, reference, imports, reports
    ):
        api.include_router(module.router, prefix="/v1")
    return api
