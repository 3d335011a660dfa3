"""Entry points for ASGI servers: `uvicorn --factory backbeat.web.main:app_factory`, and
`worker_app_factory` for the workers of `backbeat serve --workers N`."""

from __future__ import annotations

from starlette.applications import Starlette

from backbeat.config import load_settings
from backbeat.web.app import create_app


def app_factory() -> Starlette:
    return create_app(load_settings())


def worker_app_factory() -> Starlette:
    """One of several serving workers (`backbeat serve --workers N`): the ingest process
    (:mod:`backbeat.web.workers`) must already be listening."""
    from backbeat.web.workers import open_worker_runtime

    settings = load_settings()
    return create_app(settings, runtime=open_worker_runtime(settings))
