"""Any CSV through a mapping file. Expected totals are summed by hand from the fixture."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from backbeat.errors import ValidationFailed
from backbeat.importers.driver import import_file
from backbeat.importers.errors import ImportFailed
from backbeat.importers.generic import load_mapping
from backbeat.importers.parsing import NumberStyle
from backbeat.importers.sqlite_sink import SqliteImportSink

from .conftest import write


def test_generic_csv_with_toml_mapping(fixtures: Path, sink: SqliteImportSink) -> None:
    report = import_file(
        fixtures / "generic_snap.csv", sink, mapping=fixtures / "generic_snap.toml"
    )
    assert (report.platform, report.rows_imported, report.totals_rows_skipped) == ("snapchat", 3, 1)
    assert report.date_range == (date(2024, 3, 1), date(2024, 3, 3))
    assert report.totals.impressions == 55485  # 18.402 + 17.950 + 19.133
    assert report.totals.clicks == 639  # 211 + 198 + 230
    assert report.totals.spend_micros == {"EUR": 277_430_000}  # 92,01 + 89,75 + 95,67
    assert report.warnings == ()  # the "Gesamt" row matches
    assert sink.rows()[0].campaign == "Neue Single – Story Ads"


def test_json_mapping_and_a_dict_work_the_same(
    fixtures: Path, tmp_path: Path, sink: SqliteImportSink
) -> None:
    spec = {
        "platform": "snapchat",
        "currency": "EUR",
        "date_order": "dmy",
        "columns": {
            "Datum": "day",
            "Kampagnen-Titel": "campaign",
            "Bezahlte Impressionen": "impressions",
            "Swipe-Ups": "clicks",
            "Ausgaben": "spend",
        },
    }
    json_path = tmp_path / "map.json"
    json_path.write_text(json.dumps(spec), encoding="utf-8")
    mapping = load_mapping(json_path)
    assert mapping == load_mapping(spec)
    assert mapping.number_style is None  # detected from the file: "92,01"
    report = import_file(fixtures / "generic_snap.csv", sink, mapping=mapping)
    assert report.totals.spend_micros == {"EUR": 277_430_000}


def test_mapping_options() -> None:
    mapping = load_mapping(
        {
            "decimal": ",",
            "account": "Label X",
            "columns": {"Day": "day", "Name": "campaign", "Imps": "impressions", "Cost": "spend"},
        }
    )
    assert (mapping.platform, mapping.number_style, mapping.account) == (
        "generic",
        NumberStyle.COMMA,
        "Label X",
    )


def test_mapping_problems_are_all_reported() -> None:
    with pytest.raises(ValidationFailed) as info:
        load_mapping(
            {
                "platform": "Snap Chat",
                "currency": "EURO",
                "decimal": ";",
                "date_format": "dd.mm.yyyy",
                "colour": "blue",
                "columns": {"A": "campaign", "B": "likes", "C": "campaign"},
            }
        )
    fields = {f.field for f in info.value.fields}
    assert fields == {
        "mapping.platform",
        "mapping.currency",
        "mapping.decimal",
        "mapping.date_format",
        "mapping.colour",
        "mapping.columns.B",
        "mapping.columns.C",
        "mapping.columns",  # impressions and spend are not mapped
    }
    assert info.value.status == 422


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("m.yaml", "columns: {}", "toml or .json"),
        ("m.toml", "columns = [", "not valid"),
        ("m.json", "[1, 2]", "must be an object"),
    ],
)
def test_bad_mapping_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed, match=message):
        load_mapping(path)


def test_file_not_matching_its_mapping(
    fixtures: Path, tmp_path: Path, sink: SqliteImportSink
) -> None:
    path = write(
        tmp_path / "other.csv", "Datum;Titel;Bezahlte Impressionen;Ausgaben\n01.03.2024;A;1;1\n"
    )
    with pytest.raises(ImportFailed, match="missing required columns Kampagnen-Titel"):
        import_file(path, sink, mapping=fixtures / "generic_snap.toml")
