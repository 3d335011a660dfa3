from __future__ import annotations

import codecs
import hashlib
import itertools
from pathlib import Path

import pytest

from backbeat.importers.errors import ImportFailed
from backbeat.importers.reader import (
    check_text,
    detect_encoding,
    file_checksum,
    find_header,
    open_export,
)

from .conftest import write

KNOWN = {"campaign", "impressions", "cost", "day", "clicks"}


def known(header: str) -> bool:
    return header.casefold() in KNOWN


TEXT = (
    "Campaign,Day,Impressions,Cost\nTeaser,2024-03-01,100,1.50\nLyric video,2024-03-02,200,3.00\n"
)


def rows_of(path: Path) -> list[tuple[int, list[str]]]:
    with open_export(path, known) as export:
        return list(export.records())


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
        ("utf-16-le", b"", "utf-16-le"),
        ("utf-16-be", b"", "utf-16-be"),
    ],
)
def test_encodings(tmp_path: Path, encoding: str, prefix: bytes, expected: str) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(prefix + TEXT.encode(encoding))
    with open_export(path, known) as export:
        assert export.encoding == expected
        assert export.header == ["Campaign", "Day", "Impressions", "Cost"]
        records = list(export.records())
    assert records == [
        (2, ["Teaser", "2024-03-01", "100", "1.50"]),
        (3, ["Lyric video", "2024-03-02", "200", "3.00"]),
    ]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    path = write(tmp_path / "d.csv", TEXT.replace(",", delimiter))
    with open_export(path, known) as export:
        assert export.delimiter == delimiter
        assert [cells for _, cells in export.records()][1][0] == "Lyric video"


def test_preamble_lines_and_row_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "Campaign report\nMarch 1, 2024 - March 2, 2024\n" + TEXT)
    with open_export(path, known) as export:
        assert export.preamble == ["Campaign report", "March 1, 2024 - March 2, 2024"]
        assert export.header_row == 3
        assert [row for row, _ in export.records()] == [4, 5]


def test_quoted_newlines_count_as_one_row(tmp_path: Path) -> None:
    text = 'Campaign,Day,Impressions,Cost\n"Two\nlines",2024-03-01,1,1\nNext,2024-03-01,2,2\n'
    rows = rows_of(write(tmp_path / "q.csv", text))
    assert rows == [
        (2, ["Two\nlines", "2024-03-01", "1", "1"]),
        (3, ["Next", "2024-03-01", "2", "2"]),
    ]


def test_checksum_and_progress_cover_the_whole_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", TEXT * 1)
    seen: list[tuple[int, int]] = []
    with open_export(path, known, lambda done, total: seen.append((done, total))) as export:
        list(export.records())
        digest = export.checksum()
    data = path.read_bytes()
    assert digest == hashlib.sha256(data).hexdigest() == file_checksum(path)
    assert seen[-1] == (len(data), len(data))
    assert all(a <= b for (a, _), (b, _) in itertools.pairwise(seen))


def test_find_header_prefers_the_line_with_most_known_names() -> None:
    lines = ["Report,Campaign\n", "Campaign;Day;Impressions\n", "x,y\n"]
    assert find_header(lines, known) == (1, ";", ["Campaign", "Day", "Impressions"])
    assert find_header(["a,b\n", "c,d\n"], known) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"PK\x03\x04rest-of-zip", "Excel workbook"),
        (b"%PDF-1.7 ...", "PDF"),
        (b"just,some,words\nnothing,known,here\n", "no header row"),
        (b"Campaign,Day,Impr\x00essions,Cost\n", "NUL"),
    ],
)
def test_unreadable_files(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(ImportFailed, match=message) as info:
        open_export(path, known)
    assert info.value.status == 422


def test_undecodable_bytes_stream_through_and_are_caught_per_cell(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(TEXT.encode() + b"Caf\xe9,2024-03-03,1,1\n")
    records = rows_of(path)
    assert records[-1][0] == 4
    assert records[-1][1][0] == "Caf\udce9"  # kept as a lone surrogate, refused by check_text
    with pytest.raises(ValueError, match="byte 0xe9 is not valid utf-8"):
        check_text(records[-1][1][0])
    assert check_text("Café") == "Café"


def test_undecodable_header_is_refused_at_the_header_row(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b"Report\nCampaign,Day,Impressions,Co\xfbt\nx,2024-03-01,1,1\n")
    with pytest.raises(ImportFailed, match="0xfb") as info:
        open_export(path, known)
    assert info.value.problems[0].row == 2


def test_malformed_csv_names_the_row(tmp_path: Path) -> None:
    # An unclosed quote swallows the rest of the file into one field, past csv's size limit.
    good = "Teaser,2024-03-01,100,1.50\n" * 40
    rest = "more text\n" * 20_000
    path = write(tmp_path / "q.csv", "Campaign,Day,Impressions,Cost\n" + good + '"Bad,' + rest)
    with open_export(path, known) as export, pytest.raises(ImportFailed) as info:
        list(export.records())
    assert "malformed CSV" in info.value.problems[0].message
    assert info.value.problems[0].row == 42


def test_nul_in_a_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        check_text("Bad\x00name")


def test_detect_encoding_refuses_xls() -> None:
    with pytest.raises(ImportFailed, match="xls"):
        detect_encoding(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def test_truncated_utf16_is_refused(tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_bytes((codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"))[:-1])
    with pytest.raises(ImportFailed, match="truncated"):
        open_export(small, known)
    big = tmp_path / "big.csv"
    body = TEXT + "Teaser,2024-03-01,100,1.50\n" * 5000
    big.write_bytes((codecs.BOM_UTF16_LE + body.encode("utf-16-le"))[:-1])
    with open_export(big, known) as export, pytest.raises(ImportFailed, match="truncated"):
        list(export.records())
