"""The import's domain error: every problem names the row and the column it was found in."""

from __future__ import annotations

from collections.abc import Sequence

from backbeat.errors import FieldError, ValidationFailed
from backbeat.importers.model import RowProblem

MAX_LISTED = 5  # problems spelled out in the message; all of them stay in `.problems`


def _field(p: RowProblem) -> str:
    if p.row is not None and p.column is not None:
        return f"row {p.row}.{p.column}"
    if p.row is not None:
        return f"row {p.row}"
    return p.column or "file"


class ImportFailed(ValidationFailed):
    """The file cannot be imported (status 422). Nothing of it was stored.

    ``problems`` holds every problem found (up to the driver's cap), each with row and column.
    """

    def __init__(self, problems: Sequence[RowProblem], summary: str | None = None) -> None:
        listed = "; ".join(str(p) for p in problems[:MAX_LISTED])
        more = len(problems) - MAX_LISTED
        if more > 0:
            listed += f"; and {more} more"
        message = f"{summary}: {listed}" if summary else listed
        super().__init__(message, [FieldError(_field(p), p.message) for p in problems])
        self.code = "import_failed"
        self.problems: list[RowProblem] = list(problems)

    @classmethod
    def at(cls, row: int | None, column: str | None, message: str) -> ImportFailed:
        """One problem at one place."""
        return cls([RowProblem(row, column, message)])
