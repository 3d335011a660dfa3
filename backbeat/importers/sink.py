"""Where imported rows go: a narrow protocol, so the importers do not depend on a database.

An import is one transaction. The driver calls :meth:`ImportSink.has_checksum` first (a file
already imported is not imported again), then :meth:`ImportSink.begin`, writes rows in
batches, calls :meth:`ImportTransaction.replace_range` for every account the file covers, and
finally :meth:`ImportTransaction.commit` with the date range and row count it only knows once
the whole file has streamed. Any error before commit means :meth:`ImportTransaction.rollback`:
nothing of the file stays stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from backbeat.importers.model import ReportRow


@dataclass(frozen=True)
class ImportStart:
    """What is known when an import begins."""

    import_id: str
    platform: str
    account: str | None  # the account given by the caller; rows may name their own
    checksum: str  # SHA-256 of the file's bytes, hex
    source: str  # the file's name, for people


@dataclass(frozen=True)
class ImportSummary:
    """What is known when the file has been read to the end."""

    start: date
    end: date
    rows: int
    currencies: tuple[str, ...]
    accounts: tuple[str | None, ...]


class ImportTransaction(Protocol):
    """One import in progress. Exactly one of commit or rollback ends it."""

    def write(self, rows: Sequence[ReportRow]) -> None:
        """Add a batch of rows to this import."""
        ...

    def replace_range(self, account: str | None, platform: str, start: date, end: date) -> int:
        """Delete rows of *earlier* imports for this account and platform whose period
        overlaps ``start..end`` (both inclusive); return how many were deleted. Rows written
        by this transaction are kept. ``account`` None matches rows with no account."""
        ...

    def commit(self, summary: ImportSummary) -> None:
        """Record the import and make everything it wrote visible, atomically."""
        ...

    def rollback(self) -> None:
        """Forget everything this import wrote. Safe to call after a failed commit."""
        ...


class ImportSink(Protocol):
    """Storage for imported report rows."""

    def has_checksum(self, checksum: str) -> bool:
        """True if a committed import had exactly these file bytes."""
        ...

    def begin(self, start: ImportStart) -> ImportTransaction:
        """Open the transaction of one import."""
        ...
