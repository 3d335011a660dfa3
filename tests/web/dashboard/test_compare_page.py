"""The cross-platform page: upload a platform export through the real importer and SQL sink
and see it compared (CTR on link clicks with its range, CPM, CPC, each platform against its
own benchmark, the link-clicks note); a bad file shows every problem by row and column and
stores nothing; CSRF, roles, tenants and the size cap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.importers.compare import LINK_CLICKS_NOTE
from backbeat.web.dashboard import compare as compare_page
from tests.web.conftest import World
from tests.web.dashboard.pages import element, login
from tests.web.dashboard.report_world import row, table

FIXTURES = Path(__file__).parents[2] / "importers" / "fixtures"
META_HEADER = (
    "Reporting starts,Reporting ends,Campaign name,Impressions,Amount spent (USD),Link clicks\n"
)


def upload(
    client: TestClient,
    csrf: str | None,
    name: str,
    body: bytes | None = None,
    mapping: bytes | None = None,
    **fields: str,
) -> Any:
    files: dict[str, Any] = {
        "file": (name, body if body is not None else (FIXTURES / name).read_bytes(), "text/csv")
    }
    if mapping is not None:
        files["mapping"] = ("mapping.toml", mapping, "application/toml")
    data = {**fields, **({"csrf": csrf} if csrf is not None else {})}
    return client.post("/compare", data=data, files=files)


def comparison(client: TestClient) -> Any:
    resp = client.get("/compare?format=json")
    assert resp.status_code == 200
    return resp.json()


def test_upload_a_meta_export_and_see_it_compared(
    client: TestClient, world: World, settings: Settings
) -> None:
    csrf = login(client, settings, "a@example.com")
    first = client.get("/compare")
    assert first.status_code == 200 and 'id="no-imports"' in first.text
    assert element(first.text, "upload-form")["enctype"] == "multipart/form-data"

    resp = upload(client, csrf, "meta_en.csv")
    assert resp.status_code == 201, resp.text[:2000]
    html = resp.text
    assert "Imported " in html and "from meta_en.csv (Meta" in html
    meta = row(html, "platforms-table", "Meta")
    # 49,614 impressions and 660 link clicks: CTR 1.3303%; $212.90 spent
    assert meta[1:3] == ["49,614", "660"]
    assert meta[3].startswith("1.33%, 95% range 95% CI ")
    assert meta[4] == "1,288 CTR (all) 2.60%"
    assert meta[5:8] == ["$212.90", "4.29 USD", "0.32 USD"]
    assert meta[8].startswith("above benchmark") and "(compared on all clicks)" in meta[8]
    assert len(table(html, "campaigns-table")) > 2  # its campaigns, one row each
    notes = html[html.index('id="compare-notes"') :]
    assert LINK_CLICKS_NOTE.replace("'", "&#39;")[:60] in notes

    body = comparison(client)
    (line,) = body["comparison"]["platforms"]
    assert (line["platform"], line["impressions"], line["clicks"]) == ("meta", 49_614, 660)
    assert line["ctr"]["percent"] == "1.3303"
    assert body["imports"][0]["source"] == "meta_en.csv"
    assert row(client.get("/compare").text, "imports-table", "meta_en.csv")[1] == "meta"

    again = upload(client, csrf, "meta_en.csv")
    assert again.status_code == 200 and "was imported before: nothing changed" in again.text


def test_every_platform_against_its_own_benchmark(
    client: TestClient, world: World, settings: Settings
) -> None:
    csrf = login(client, settings, "a@example.com")
    assert upload(client, csrf, "tiktok.csv").status_code == 201
    assert upload(client, csrf, "spotify.csv", platform="spotify").status_code == 201
    mapping = (FIXTURES / "generic_snap.toml").read_bytes()
    snap = upload(client, csrf, "generic_snap.csv", mapping=mapping, platform="generic")
    assert snap.status_code == 201, snap.text[:2000]
    html = snap.text
    tiktok = row(html, "platforms-table", "TikTok")
    assert tiktok[1:3] == ["117,007", "776"] and tiktok[3].startswith("0.66%")
    assert tiktok[9].startswith("below benchmark")  # TikTok's own $10 CPM
    spotify = row(html, "platforms-table", "Spotify")
    assert spotify[5:8] == ["1,011.62 GBP", "15.23 GBP", "4.82 GBP"]
    assert row(html, "platforms-table", "snapchat")[8].startswith("no benchmark")
    platforms = [p["platform"] for p in comparison(client)["comparison"]["platforms"]]
    assert platforms == ["snapchat", "spotify", "tiktok"]


@pytest.mark.parametrize(
    ("rows", "where"),
    [
        (["2024-03-01,2024-03-01,A,100,1.00,5", "2024-03-02,2024-03-02,A,-7,1.00,5"],
         "Row 3, column “Impressions”"),
        (["2024-03-01,2024-03-01,A,100,1.00,5", "2024-03-02,2024-03-02,A,10,1.00,11"],
         "Row 3, column “Link clicks”"),
    ],
)  # fmt: skip
def test_a_bad_file_names_row_and_column_and_stores_nothing(
    client: TestClient, world: World, settings: Settings, rows: list[str], where: str
) -> None:
    csrf = login(client, settings, "a@example.com")
    data = (META_HEADER + "".join(r + "\n" for r in rows)).encode()
    resp = upload(client, csrf, "bad.csv", body=data)
    assert resp.status_code == 422
    problems = resp.text[resp.text.index('id="import-problems"') :]
    assert f"<li>{where}: " in problems
    assert "The file was not imported, and nothing of it was stored." in resp.text
    body = comparison(client)
    assert body["comparison"]["platforms"] == [] and body["imports"] == []


def test_form_mistakes_are_shown_next_to_their_fields(
    client: TestClient, world: World, settings: Settings
) -> None:
    csrf = login(client, settings, "a@example.com")
    no_mapping = upload(client, csrf, "generic_snap.csv", platform="generic")
    assert no_mapping.status_code == 422
    assert element(no_mapping.text, "mapping")["aria-invalid"] == "true"
    assert "choose the mapping file (TOML)" in no_mapping.text
    no_file = client.post("/compare", data={"csrf": csrf, "platform": "meta"},
                          files={"file": ("", b"", "application/octet-stream")})  # fmt: skip
    assert no_file.status_code == 422
    assert element(no_file.text, "file")["aria-invalid"] == "true"
    half = upload(client, csrf, "meta_en.csv", period_start="2024-03-01")
    assert half.status_code == 422
    assert element(half.text, "period-end")["aria-invalid"] == "true"
    assert 'value="2024-03-01"' in half.text  # the form keeps what was typed
    wrong = upload(client, csrf, "tiktok.csv", platform="meta")
    assert wrong.status_code == 422 and "it looks like a TikTok Ads Manager export" in wrong.text
    assert comparison(client)["imports"] == []


def test_csrf_roles_and_tenants(client: TestClient, world: World, settings: Settings) -> None:
    csrf = login(client, settings, "a@example.com")
    for token in (None, "forged"):
        refused = upload(client, token, "meta_en.csv")
        assert refused.status_code == 403 and "Form expired" in refused.text
    assert comparison(client)["imports"] == []
    assert upload(client, csrf, "meta_en.csv").status_code == 201

    login(client, settings, "b@example.com")  # another advertiser sees none of it
    assert comparison(client)["comparison"]["platforms"] == []
    for email in ("p@example.com", "admin@example.com"):
        other = login(client, settings, email)
        assert client.get("/compare").status_code == 403
        assert upload(client, other, "meta_en.csv").status_code == 403


def test_uploads_over_the_cap_are_refused_before_reading(
    client: TestClient, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    csrf = login(client, settings, "a@example.com")
    monkeypatch.setattr(compare_page, "MAX_UPLOAD_BYTES", 500)
    resp = upload(client, csrf, "meta_en.csv")
    assert resp.status_code == 413 and "larger than" in resp.text
    assert comparison(client)["imports"] == []
