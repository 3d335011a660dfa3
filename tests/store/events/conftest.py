"""Fixtures: every EventStore backend behind one parametrized fixture (contract tests).

Only DuckDB exists today; a ClickHouse backend joins by adding a param and its factory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backbeat.store.events.duckdb_store import DuckDBEventStore
from backbeat.store.events.protocol import EventStore

BACKENDS: dict[str, Callable[[Path], EventStore]] = {
    "duckdb": lambda tmp: DuckDBEventStore(tmp / "events.duckdb"),
}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    backend = BACKENDS[request.param](tmp_path)
    try:
        yield backend
    finally:
        backend.close()
