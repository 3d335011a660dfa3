"""What every `backbeat` command shares: settings that name a bad variable and exit 2, and a
catalog that is refused when its schema is missing or older than this Backbeat."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

from backbeat.config import Settings, ensure_secret, load_settings
from backbeat.errors import ConfigError

if TYPE_CHECKING:
    from backbeat.store.catalog import SqlCatalog


def err() -> Console:
    return Console(stderr=True)


def cli_settings() -> Settings:
    try:
        return ensure_secret(load_settings())
    except ConfigError as exc:
        err().print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def open_current_catalog(settings: Settings) -> SqlCatalog:
    """The catalog, refusing one whose schema is missing or older than this Backbeat."""
    from backbeat.store.catalog import open_catalog
    from backbeat.store.catalog.migrate import current_revision, head_revision

    url = settings.resolved_catalog_url
    if current_revision(url) != head_revision():
        err().print("[red]the catalog schema is missing or old: run `backbeat db upgrade`[/red]")
        raise typer.Exit(2)
    return open_catalog(url)
