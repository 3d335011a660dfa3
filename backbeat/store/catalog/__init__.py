"""The catalog: campaigns, creatives, inventory, accounts (SQLite default, PostgreSQL at scale).

``open_catalog(url)`` opens it; ``upgrade(url)`` creates or migrates its schema (opening never
does DDL). Everything else speaks the protocols in :mod:`backbeat.store.catalog.protocol`.
"""

from __future__ import annotations

from backbeat.store.catalog import imports as _imports  # noqa: F401 - registers its tables
from backbeat.store.catalog.catalog import SqlCatalog, open_catalog
from backbeat.store.catalog.migrate import current_revision, upgrade

__all__ = ["SqlCatalog", "current_revision", "open_catalog", "upgrade"]
