"""The import driver end to end, on a real SQLite database in a temporary directory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from backbeat.errors import ValidationFailed
from backbeat.importers.driver import import_file
from backbeat.importers.errors import ImportFailed
from backbeat.importers.sqlite_sink import SqliteImportSink

from .conftest import meta_csv, write


def day_rows(day: str, impressions: int = 1000) -> list[str]:
    return [
        f"{day},{day},Spring Single,Fans,Teaser,{impressions},800,12.50,20,45",
        f"{day},{day},Spring Single,Fans,Lyric video,{impressions + 500},1100,18.75,31,60",
    ]


def test_same_file_twice_is_already_imported(fixtures: Path, sink: SqliteImportSink) -> None:
    first = import_file(fixtures / "meta_en.csv", sink)
    stored = sink.rows()
    again = import_file(fixtures / "meta_en.csv", sink)
    assert again.already_imported
    assert (again.import_id, again.rows_imported, again.platform) == (None, 0, "meta")
    assert again.checksum == first.checksum
    assert sink.rows() == stored
    assert len(sink.imports()) == 1


def test_overlapping_export_replaces_the_overlap(tmp_path: Path, sink: SqliteImportSink) -> None:
    march_1_2 = meta_csv(tmp_path / "a.csv", day_rows("2024-03-01") + day_rows("2024-03-02"))
    march_2_3 = meta_csv(
        tmp_path / "b.csv", day_rows("2024-03-02", impressions=2000) + day_rows("2024-03-03")
    )
    first = import_file(march_1_2, sink, account="label-1")
    second = import_file(march_2_3, sink, account="label-1")
    assert (first.rows_replaced, second.rows_replaced) == (0, 2)
    stored = sorted((r.start.day, r.impressions) for r in sink.rows())
    assert stored == [(1, 1000), (1, 1500), (2, 2000), (2, 2500), (3, 1000), (3, 1500)]
    assert second.accounts == ("label-1",)


def test_another_account_is_not_replaced(tmp_path: Path, sink: SqliteImportSink) -> None:
    path_a = meta_csv(tmp_path / "a.csv", day_rows("2024-03-01"))
    path_b = meta_csv(tmp_path / "b.csv", day_rows("2024-03-01", impressions=3000))
    import_file(path_a, sink, account="label-1")
    report = import_file(path_b, sink, account="label-2")
    assert report.rows_replaced == 0
    assert sorted({r.account for r in sink.rows()}) == ["label-1", "label-2"]  # type: ignore[type-var]


def test_an_error_late_in_the_file_stores_nothing(tmp_path: Path, sink: SqliteImportSink) -> None:
    good = [f"2024-03-01,2024-03-01,Camp {i},Fans,Ad,1000,800,1.00,5,9" for i in range(2500)]
    path = meta_csv(
        tmp_path / "late.csv", [*good, "2024-03-01,2024-03-01,Last,Fans,Ad,10,8,1.00,50,60"]
    )
    with pytest.raises(ImportFailed) as info:
        import_file(path, sink, batch_size=1000)  # two batches were written before the error
    (problem,) = info.value.problems
    assert (problem.row, problem.column) == (2502, "Link clicks")
    assert "50 clicks exceed 10 impressions" in problem.message
    assert sink.count() == 0
    assert sink.imports() == []
    assert sink.active is None


def test_negative_numbers_are_errors_naming_row_and_column(
    tmp_path: Path, sink: SqliteImportSink
) -> None:
    rows = day_rows("2024-03-01")
    rows[1] = rows[1].replace(",1500,", ",-1500,")
    with pytest.raises(ImportFailed) as info:
        import_file(meta_csv(tmp_path / "neg.csv", rows), sink)
    assert info.value.status == 422
    assert isinstance(info.value, ValidationFailed)
    assert [f.field for f in info.value.fields] == ["row 3.Impressions"]
    assert "negative" in info.value.fields[0].reason
    assert sink.count() == 0


def test_missing_required_column(tmp_path: Path, sink: SqliteImportSink) -> None:
    path = write(tmp_path / "m.csv", "Reporting starts,Reporting ends,Campaign name,Impressions\n")
    with pytest.raises(ImportFailed, match="closest is Meta Ads Manager, missing: Amount spent"):
        import_file(path, sink)


def test_wrong_platform(fixtures: Path, sink: SqliteImportSink) -> None:
    with pytest.raises(ImportFailed) as info:
        import_file(fixtures / "meta_en.csv", sink, platform="spotify")
    message = info.value.problems[0].message
    assert "not a Spotify Ad Studio export: missing required columns Campaign name" not in message
    assert message.startswith("not a Spotify Ad Studio export: missing required columns Spend")
    assert "looks like a Meta Ads Manager export" in message
    assert sink.count() == 0


def test_unknown_platform_name(fixtures: Path, sink: SqliteImportSink) -> None:
    with pytest.raises(ValidationFailed, match="unknown platform"):
        import_file(fixtures / "meta_en.csv", sink, platform="myspace")


def test_problems_are_capped(tmp_path: Path, sink: SqliteImportSink) -> None:
    bad = ["2024-03-01,2024-03-01,C,F,A,-1,1,1.00,0,0"] * 30
    with pytest.raises(ImportFailed) as info:
        import_file(meta_csv(tmp_path / "bad.csv", bad), sink, max_problems=5)
    assert [p.row for p in info.value.problems] == [2, 3, 4, 5, 6]
    assert "and 0 more" not in str(info.value)


def test_warnings_are_capped_and_counted(tmp_path: Path, sink: SqliteImportSink) -> None:
    # all clicks below link clicks: a warning per row
    rows = [f"2024-03-0{d},2024-03-0{d},C,F,A,1000,800,1.00,20,10" for d in range(1, 5)]
    report = import_file(meta_csv(tmp_path / "w.csv", rows), sink, max_warnings=2)
    assert report.rows_imported == 4
    assert [(w.row, w.column) for w in report.warnings] == [
        (2, "Clicks (all)"),
        (3, "Clicks (all)"),
    ]
    assert report.warnings_omitted == 2


def test_progress_reports_bytes_read(fixtures: Path, sink: SqliteImportSink) -> None:
    seen: list[tuple[int, int]] = []
    import_file(
        fixtures / "google_ads.csv", sink, progress=lambda done, total: seen.append((done, total))
    )
    size = (fixtures / "google_ads.csv").stat().st_size
    assert seen[-1] == (size, size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_file_changing_during_the_import_is_refused(
    tmp_path: Path, sink: SqliteImportSink
) -> None:
    path = meta_csv(tmp_path / "grow.csv", day_rows("2024-03-01") * 5_000)

    appended: list[int] = []

    def append_once(done: int, total: int) -> None:
        if done > 200_000 and not appended:  # mid-stream: someone is still writing the file
            appended.append(done)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(day_rows("2024-03-02")[0] + "\n")

    with pytest.raises(ImportFailed, match="changed while"):
        import_file(path, sink, progress=append_once)
    assert appended
    assert sink.count() == 0


def test_file_without_data_rows(tmp_path: Path, sink: SqliteImportSink) -> None:
    with pytest.raises(ImportFailed, match="no data rows"):
        import_file(meta_csv(tmp_path / "empty.csv", []), sink)


def test_missing_file_and_reversed_period(tmp_path: Path, sink: SqliteImportSink) -> None:
    with pytest.raises(ImportFailed, match="no such file"):
        import_file(tmp_path / "nope.csv", sink)
    path = meta_csv(tmp_path / "a.csv", day_rows("2024-03-01"))
    with pytest.raises(ValidationFailed, match="ends before"):
        import_file(path, sink, period=(date(2024, 3, 2), date(2024, 3, 1)))


def test_options_fill_in_what_the_file_does_not_say(tmp_path: Path, sink: SqliteImportSink) -> None:
    path = write(
        tmp_path / "g.csv",
        "Day,Campaign,Impr.,Clicks,Cost\n03/04/2024,Brand,100,3,1.00\n03/05/2024,Brand,90,2,1.00\n",
    )
    with pytest.raises(ImportFailed, match="currency"):
        import_file(path, sink)
    with pytest.raises(ImportFailed, match="ambiguous"):
        import_file(path, sink, currency="CAD")
    report = import_file(path, sink, currency="CAD", date_order="dmy")
    assert report.currencies == ("CAD",)
    assert report.date_range == (date(2024, 4, 3), date(2024, 5, 3))


def test_malformed_rows_stop_the_import(tmp_path: Path, sink: SqliteImportSink) -> None:
    rows = [*day_rows("2024-03-01"), "2024-03-02,2024-03-02,Spring Single,Fans"]
    with pytest.raises(ImportFailed) as info:
        import_file(meta_csv(tmp_path / "ragged.csv", rows), sink)
    (problem,) = info.value.problems
    assert problem.row == 4
    assert "has 4 cells but the header has 10" in problem.message
    assert sink.count() == 0


def test_text_that_is_not_utf8_is_named(tmp_path: Path, sink: SqliteImportSink) -> None:
    path = meta_csv(tmp_path / "cp1252.csv", day_rows("2024-03-01"))
    path.write_bytes(path.read_bytes().replace(b"Lyric video", b"Caf\xe9 video"))
    with pytest.raises(ImportFailed) as info:
        import_file(path, sink)
    (problem,) = info.value.problems
    assert (problem.row, problem.column) == (3, "Ad name")
    assert "0xe9" in problem.message


def test_bad_arguments_are_validation_errors(tmp_path: Path, sink: SqliteImportSink) -> None:
    path = meta_csv(tmp_path / "a.csv", day_rows("2024-03-01"))
    with pytest.raises(ValidationFailed) as info:
        import_file(
            path,
            sink,
            currency="euro",
            date_order="ymd",
            totals_mismatch="ignore",  # type: ignore[arg-type]
            period=(date(2024, 3, 2), date(2024, 3, 1)),
        )
    assert {f.field for f in info.value.fields} == {
        "currency",
        "date_order",
        "totals_mismatch",
        "period",
    }
    assert sink.count() == 0


def test_currency_argument_is_normalised(tmp_path: Path, sink: SqliteImportSink) -> None:
    path = write(tmp_path / "g.csv", "Day,Campaign,Impr.,Cost\n2024-03-01,Brand,100,1.00\n")
    assert import_file(path, sink, currency="cad").currencies == ("CAD",)
