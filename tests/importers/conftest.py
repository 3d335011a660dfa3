"""Shared fixtures for the importer tests: fixture files and a real SQLite sink in tmp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backbeat.importers.sqlite_sink import SqliteImportSink

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SqliteImportSink]:
    store = SqliteImportSink(tmp_path / "imports.db")
    yield store
    store.close()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a small export for a test, byte for byte (no newline translation)."""
    path.write_bytes(text.encode(encoding))
    return path


META_HEADER = (
    "Reporting starts,Reporting ends,Campaign name,Ad set name,Ad name,Impressions,Reach,"
    "Amount spent (USD),Link clicks,Clicks (all)\n"
)


def meta_csv(path: Path, rows: list[str]) -> Path:
    """A minimal English Meta export with the given data lines."""
    return write(path, META_HEADER + "".join(r + "\n" for r in rows))
