"""Entry point for ASGI servers: `uvicorn --factory backbeat.web.main:app_factory`."""

from __future__ import annotations

from starlette.applications import Starlette

from backbeat.config import load_settings
from backbeat.web.app import create_app


def app_factory() -> Starlette:
    return create_app(load_settings())
