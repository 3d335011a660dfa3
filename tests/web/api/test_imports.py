"""The imports API over HTTP: upload every fixture export, compare, idempotence, overlap
replacement, refusals naming row and column with nothing stored, the size cap, and every
route tried by the wrong tenant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Mount
from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.store.catalog import SqlCatalog
from backbeat.web.api import imports as imports_api
from backbeat.web.app import create_app
from tests.web.conftest import Tenant, World

FIXTURES = Path(__file__).parents[2] / "importers" / "fixtures"


def _api(app: Any) -> FastAPI:
    mounted = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/api")
    api = mounted.app
    assert isinstance(api, FastAPI)
    return api


@pytest.fixture
def client(settings: Settings, catalog: SqlCatalog) -> Iterator[TestClient]:
    app = create_app(settings, catalog=catalog)
    api = _api(app)
    if not any(getattr(r, "path", "") == "/v1/imports" for r in api.routes):
        api.include_router(imports_api.router, prefix="/v1")  # until the lead registers it
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def upload(
    client: TestClient,
    who: Tenant,
    name: str,
    *,
    data: bytes | None = None,
    **fields: Any,
) -> Any:
    body = data if data is not None else (FIXTURES / name).read_bytes()
    form = {k: str(v) for k, v in fields.items()}
    return client.post(
        "/api/v1/imports",
        files={"file": (name, body, "text/csv")},
        data=form,
        headers=who.headers,
    )


def compare(client: TestClient, who: Tenant, query: str = "") -> dict[str, Any]:
    resp = client.get(f"/api/v1/compare{query}", headers=who.headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def line(body: dict[str, Any], platform: str, campaign: str | None = None) -> dict[str, Any]:
    lines = body["platforms"] if campaign is None else body["campaigns"]
    found: dict[str, Any] = next(
        x for x in lines if x["platform"] == platform and x["campaign"] == campaign
    )
    return found


def prices(entry: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(c["currency"], c["spend"], c["cpm"], c["cpc"]) for c in entry["spend"]]


def test_every_fixture_round_trips_to_hand_computed_figures(
    client: TestClient, world: World
) -> None:
    a = world.adv_a
    # the two Google exports come from different accounts, so neither replaces the other
    exports: list[tuple[str, dict[str, Any]]] = [
        ("meta_en.csv", {}),
        ("tiktok.csv", {}),
        ("spotify.csv", {}),
        ("google_ads.csv", {"account": "search-display"}),
        ("youtube.csv", {"account": "youtube"}),
    ]
    for name, extra in exports:
        resp = upload(client, a, name, **extra)
        assert resp.status_code == 201, resp.text
        assert resp.json()["already_imported"] is False
    body = compare(client, a)
    assert [p["platform"] for p in body["platforms"]] == ["google_ads", "meta", "spotify", "tiktok"]

    meta = line(body, "meta")
    assert (meta["impressions"], meta["clicks"], meta["clicks_all"]) == (49614, 660, 1288)
    assert meta["ctr"]["percent"] == "1.3303"
    assert prices(meta) == [("USD", "212.9", "4.2911", "0.3226")]
    assert meta["ctr_benchmark"]["basis"] == "all clicks"  # Facebook's figure is CTR (all)
    assert meta["ctr_benchmark"]["outcome"] == "above"

    tiktok = line(body, "tiktok")
    assert (tiktok["impressions"], tiktok["clicks"], tiktok["ctr"]["percent"]) == (
        117007,
        776,
        "0.6632",
    )
    assert prices(tiktok) == [("USD", "350.45", "2.9951", "0.4516")]
    assert tiktok["spend"][0]["cpm_benchmark"]["outcome"] == "below"  # the $10 TikTok CPM

    spotify = line(body, "spotify")
    assert (spotify["impressions"], spotify["clicks"], spotify["ctr"]["percent"]) == (
        66417,
        210,
        "0.3162",
    )
    assert prices(spotify) == [("GBP", "1011.62", "15.2313", "4.8172")]
    assert spotify["spend"][0]["cpm_benchmark"]["outcome"] == "not_comparable"  # not USD

    google = line(body, "google_ads")
    assert (google["impressions"], google["clicks"]) == (141697 + 210415, 897 + 911)
    assert google["ctr"]["percent"] == "0.5135"
    # two currencies: reported side by side, never added up
    assert prices(google) == [
        ("EUR", "2074.71", "9.8601", "2.2774"),
        ("USD", "508.06", "3.5855", "0.5664"),
    ]
    assert google["kind"] == "mixed"
    assert line(body, "google_ads", "Spring Single – Display")["kind"] == "display"
    assert line(body, "google_ads", "Lyric Video – In-stream")["kind"] == "video"
    low, high = float(meta["ctr"]["low"]), float(meta["ctr"]["high"])
    assert low < 1.3303 < high
    assert any("link clicks" in note.lower() for note in body["notes"])
    assert all(p["reach"]["value"] is None for p in body["platforms"])  # daily rows


def test_reimporting_the_same_file_changes_nothing(client: TestClient, world: World) -> None:
    a = world.adv_a
    first = upload(client, a, "meta_en.csv")
    before = compare(client, a)
    again = upload(client, a, "meta_en.csv")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["already_imported"] is True
    assert again.json()["import_id"] is None
    assert compare(client, a) == before
    assert client.get("/api/v1/imports", headers=a.headers).json()["total"] == 1


def test_an_overlapping_import_replaces_the_earlier_rows(client: TestClient, world: World) -> None:
    a = world.adv_a
    first = upload(client, a, "meta_en.csv").json()
    lines = (FIXTURES / "meta_en.csv").read_text(encoding="utf-8").splitlines()
    header, march_2 = lines[0], [x for x in lines[1:] if x.startswith("2024-03-02")]
    corrected = [
        ",".join(
            "2000" if i == 5 else "20" if i == 9 else c
            for i, c in enumerate(r.split(","))
            # impressions -> 2000, link clicks -> 20; the rest as exported
        )
        for r in march_2
    ]
    data = ("\n".join([header, *corrected]) + "\n").encode()
    second = upload(client, a, "meta_march_2.csv", data=data)
    assert second.status_code == 201, second.text
    assert second.json()["rows_replaced"] == 3
    meta = line(compare(client, a), "meta")
    assert meta["impressions"] == 12450 + 8932 + 3120 + 3 * 2000
    assert meta["clicks"] == 143 + 97 + 88 + 3 * 20
    old = client.get(f"/api/v1/imports/{first['import_id']}", headers=a.headers).json()
    assert (old["status"], old["rows_replaced"], old["rows_stored"]) == ("partly_replaced", 3, 3)


def _meta(rows: list[str]) -> bytes:
    header = (
        "Reporting starts,Reporting ends,Campaign name,Impressions,Amount spent (USD),Link clicks\n"
    )
    return (header + "".join(r + "\n" for r in rows)).encode()


@pytest.mark.parametrize(
    ("name", "data", "fields", "where"),
    [
        (
            "negative.csv",
            _meta(["2024-03-01,2024-03-01,A,100,1.00,5", "2024-03-02,2024-03-02,A,-7,1.00,5"]),
            {},
            (3, "Impressions"),
        ),
        (
            "clicks.csv",
            _meta(["2024-03-01,2024-03-01,A,100,1.00,5", "2024-03-02,2024-03-02,A,10,1.00,11"]),
            {},
            (3, "Link clicks"),
        ),
        (
            "ragged.csv",
            _meta(["2024-03-01,2024-03-01,A,100,1.00,5", "2024-03-02,2024-03-02,A"]),
            {},
            (3, None),
        ),
        ("tiktok.csv", None, {"platform": "meta"}, (1, None)),
    ],
)
def test_bad_files_are_422_naming_row_and_column_and_store_nothing(
    client: TestClient,
    world: World,
    name: str,
    data: bytes | None,
    fields: dict[str, str],
    where: tuple[int, str | None],
) -> None:
    a = world.adv_a
    resp = upload(client, a, name, data=data, **fields)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "import_failed"
    assert [(p["row"], p["column"]) for p in error["problems"]][:1] == [where]
    assert f"row {where[0]}" in error["message"]
    assert client.get("/api/v1/imports", headers=a.headers).json()["total"] == 0
    assert compare(client, a)["platforms"] == []


def test_wrong_platform_says_what_the_file_looks_like(client: TestClient, world: World) -> None:
    resp = upload(client, world.adv_a, "tiktok.csv", platform="meta")
    assert "it looks like a TikTok Ads Manager export" in resp.json()["error"]["message"]


def test_form_mistakes_are_field_errors(client: TestClient, world: World) -> None:
    a = world.adv_a
    unknown = upload(client, a, "meta_en.csv", colour="red")
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"] == [{"field": "colour", "reason": "unknown field"}]
    no_file = client.post("/api/v1/imports", data={"platform": "meta"}, headers=a.headers)
    assert no_file.status_code == 422
    assert no_file.json()["error"]["fields"][0]["field"] == "file"
    not_multipart = client.post("/api/v1/imports", json={"file": "x"}, headers=a.headers)
    assert not_multipart.status_code == 422
    half_period = upload(client, a, "meta_en.csv", period_start="2024-03-01")
    assert half_period.json()["error"]["fields"][0]["field"] == "period_end"
    bad_platform = upload(client, a, "meta_en.csv", platform="myspace")
    assert bad_platform.json()["error"]["fields"][0]["field"] == "platform"
    assert client.get("/api/v1/imports", headers=a.headers).json()["total"] == 0


def test_import_options_reach_the_importer(client: TestClient, world: World) -> None:
    a = world.adv_a
    mapping = (FIXTURES / "generic_snap.toml").read_bytes()
    resp = client.post(
        "/api/v1/imports",
        files={
            "file": ("snap.csv", (FIXTURES / "generic_snap.csv").read_bytes(), "text/csv"),
            "mapping": ("snap.toml", mapping, "application/toml"),
        },
        data={"account": "label-x"},
        headers=a.headers,
    )
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert (report["platform"], report["accounts"], report["source"]) == (
        "snapchat",
        ["label-x"],
        "snap.csv",
    )
    assert report["totals"]["spend"] == {"EUR": "277.43"}
    snap = line(compare(client, a), "snapchat")
    assert snap["ctr_benchmark"]["outcome"] == "no_benchmark"


def test_uploads_over_the_cap_are_refused_while_streaming(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports_api, "MAX_IMPORT_BYTES", 200)
    monkeypatch.setattr(imports_api, "_FORM_SLACK", 300)
    a = world.adv_a
    declared = upload(client, a, "meta_en.csv")  # Content-Length says it is too big
    assert declared.status_code == 413
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="m.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + (FIXTURES / "meta_en.csv").read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: only the running count can stop it
        for i in range(0, len(body), 100):
            yield body[i : i + 100]

    streamed = client.post(
        "/api/v1/imports",
        content=chunks(),
        headers={**a.headers, "content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "payload_too_large"
    assert client.get("/api/v1/imports", headers=a.headers).json()["total"] == 0


def test_list_show_and_delete(client: TestClient, world: World) -> None:
    a = world.adv_a
    made = upload(client, a, "tiktok.csv").json()
    listing = client.get("/api/v1/imports", headers=a.headers).json()
    assert listing["total"] == 1
    item = listing["items"][0]
    assert (item["id"], item["platform"], item["rows"], item["status"]) == (
        made["import_id"],
        "tiktok",
        3,
        "imported",
    )
    shown = client.get(f"/api/v1/imports/{made['import_id']}", headers=a.headers).json()
    assert (shown["start"], shown["end"], shown["currencies"]) == (
        "2024-03-09",
        "2024-03-14",
        ["USD"],
    )
    gone = client.delete(f"/api/v1/imports/{made['import_id']}", headers=a.headers)
    assert gone.status_code == 204
    assert client.get(f"/api/v1/imports/{made['import_id']}", headers=a.headers).status_code == 404
    assert compare(client, a)["platforms"] == []
    assert upload(client, a, "tiktok.csv").status_code == 201  # importable again


def test_compare_filters_and_reach_for_exactly_the_period(client: TestClient, world: World) -> None:
    a = world.adv_a
    assert upload(client, a, "meta_de.csv").status_code == 201
    assert upload(client, a, "tiktok.csv").status_code == 201
    body = compare(client, a, "?platform=facebook&start=2024-03-04&end=2024-03-10")
    assert [p["platform"] for p in body["platforms"]] == ["meta"]
    concert = line(body, "meta", "Konzert Berlin – Tickets")
    assert (concert["reach"]["value"], concert["reach"]["frequency"]) == (2210, "2.96")
    album = line(body, "meta", "Album „Nachtfahrt“ – Reichweite")
    assert album["reach"]["value"] is None  # two ad sets: their reach does not add up
    assert "does not add up" in album["reach"]["note"]
    wider = compare(client, a, "?platform=meta&start=2024-03-01&end=2024-03-31")
    assert line(wider, "meta", "Konzert Berlin – Tickets")["reach"]["value"] is None
    narrower = compare(client, a, "?platform=meta&start=2024-03-05&end=2024-03-31")
    assert (narrower["platforms"], narrower["rows_left_out"]) == ([], 3)
    one = compare(client, a, "?campaign=Konzert%20Berlin%20%E2%80%93%20Tickets")
    assert [c["campaign"] for c in one["campaigns"]] == ["Konzert Berlin – Tickets"]
    tiktok = compare(client, a, "?platform=tiktok&start=2024-03-10&end=2024-03-10")
    assert line(tiktok, "tiktok")["impressions"] == 43875
    bad = client.get("/api/v1/compare?start=2024-03-10&end=2024-03-01", headers=a.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "end"


def test_admins_import_for_a_named_advertiser(client: TestClient, world: World) -> None:
    admin, a = world.admin, world.adv_a
    unnamed = upload(client, admin, "tiktok.csv")
    assert unnamed.status_code == 422
    assert unnamed.json()["error"]["fields"][0]["field"] == "advertiser_id"
    missing = upload(client, admin, "tiktok.csv", advertiser_id=999)
    assert missing.status_code == 404
    named = upload(client, admin, "tiktok.csv", advertiser_id=a.advertiser_id)
    assert named.status_code == 201
    assert client.get("/api/v1/imports", headers=a.headers).json()["total"] == 1
    assert client.get("/api/v1/imports", headers=admin.headers).json()["total"] == 1
    assert client.get("/api/v1/compare", headers=admin.headers).status_code == 422
    body = compare(client, admin, f"?advertiser_id={a.advertiser_id}")
    assert line(body, "tiktok")["impressions"] == 117007


def test_every_imports_route_refuses_the_wrong_tenant(client: TestClient, world: World) -> None:
    a, b, p = world.adv_a, world.adv_b, world.pub_p
    made = upload(client, a, "meta_en.csv").json()
    ident, a_id = made["import_id"], a.advertiser_id
    attempts: list[tuple[str, str, Tenant, int]] = [
        ("GET", f"/imports/{ident}", b, 404),
        ("DELETE", f"/imports/{ident}", b, 404),
        ("GET", f"/imports?advertiser_id={a_id}", b, 404),
        ("GET", f"/compare?advertiser_id={a_id}", b, 404),
        ("GET", "/imports", p, 403),
        ("GET", f"/imports/{ident}", p, 403),
        ("DELETE", f"/imports/{ident}", p, 403),
        ("GET", "/compare", p, 403),
    ]
    for method, path, who, status in attempts:
        resp = client.request(method, "/api/v1" + path, headers=who.headers)
        assert resp.status_code == status, (method, path, resp.text)
    foreign = upload(client, b, "tiktok.csv", advertiser_id=a_id)
    assert foreign.status_code == 404
    assert upload(client, p, "tiktok.csv").status_code == 403
    assert client.get("/api/v1/imports", headers=b.headers).json()["total"] == 0
    assert compare(client, b)["platforms"] == []  # b sees none of a's figures
    # nothing of a's changed
    assert client.get("/api/v1/imports", headers=a.headers).json()["total"] == 1
    assert line(compare(client, a), "meta")["impressions"] == 49614
    assert client.get("/api/v1/imports", headers={}).status_code == 401


def test_warnings_come_back_with_row_and_column(client: TestClient, world: World) -> None:
    data = (
        b"Reporting starts,Reporting ends,Campaign name,Impressions,Amount spent (USD),"
        b"Link clicks,CTR (link click-through rate),Ad ID\n"
        b"2024-03-01,2024-03-01,A,1000,5.00,10,1.00,111\n"
        b"2024-03-02,2024-03-02,A,1000,5.00,10,3.00,222\n"
    )
    resp = upload(client, world.adv_a, "warn.csv", data=data)
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert [(w["row"], w["column"]) for w in report["warnings"]] == [
        (3, "CTR (link click-through rate)")
    ]
    assert report["ignored_columns"] == ["Ad ID"]
    assert report["rows_imported"] == 2  # a warning keeps the row
