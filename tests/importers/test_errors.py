from __future__ import annotations

from backbeat.errors import BackbeatError, ValidationFailed
from backbeat.importers.errors import ImportFailed
from backbeat.importers.model import RowProblem


def test_import_failed_is_a_422_naming_rows_and_columns() -> None:
    problems = [
        RowProblem(r, "Impressions", "negative number '-1' is not allowed") for r in range(2, 10)
    ]
    exc = ImportFailed(problems, "the file was not imported")
    assert isinstance(exc, ValidationFailed) and isinstance(exc, BackbeatError)
    assert (exc.status, exc.code) == (422, "import_failed")
    assert exc.fields[0].field == "row 2.Impressions"
    assert len(exc.fields) == len(exc.problems) == 8
    assert str(exc).startswith("the file was not imported: row 2, column 'Impressions'")
    assert str(exc).endswith("and 3 more")
    body = exc.to_dict()["error"]
    assert isinstance(body, dict) and body["code"] == "import_failed"


def test_file_level_problem() -> None:
    exc = ImportFailed.at(None, None, "the file is empty")
    assert exc.fields[0].field == "file"
    assert str(exc) == "file: the file is empty"
